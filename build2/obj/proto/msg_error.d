build2/obj/proto/msg_error.o: proto/msg_error.c proto/msg.h \
 proto/msg_priv.h
proto/msg.h:
proto/msg_priv.h:
