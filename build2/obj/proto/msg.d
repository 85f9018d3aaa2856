build2/obj/proto/msg.o: proto/msg.c common/util.h proto/msg.h \
 proto/msg_priv.h
common/util.h:
proto/msg.h:
proto/msg_priv.h:
