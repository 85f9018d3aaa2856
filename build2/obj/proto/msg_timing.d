build2/obj/proto/msg_timing.o: proto/msg_timing.c proto/msg.h \
 proto/msg_priv.h
proto/msg.h:
proto/msg_priv.h:
