build2/obj/tests/unit/test_util.o: tests/unit/test_util.c common/util.h
common/util.h:
