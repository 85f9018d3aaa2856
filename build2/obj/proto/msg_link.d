build2/obj/proto/msg_link.o: proto/msg_link.c proto/auth.h proto/msg.h \
 proto/msg_priv.h
proto/auth.h:
proto/msg.h:
proto/msg_priv.h:
