build2/obj/proto/msg_ctl.o: proto/msg_ctl.c common/log.h common/util.h \
 proto/msg.h proto/msg_priv.h
common/log.h:
common/util.h:
proto/msg.h:
proto/msg_priv.h:
