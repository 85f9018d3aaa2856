build2/obj/tests/unit/test_frame.o: tests/unit/test_frame.c proto/frame.h
proto/frame.h:
