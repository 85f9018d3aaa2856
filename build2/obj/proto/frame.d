build2/obj/proto/frame.o: proto/frame.c proto/frame.h
proto/frame.h:
