build2/obj/proto/msg_answer.o: proto/msg_answer.c common/util.h \
 proto/msg.h proto/msg_priv.h
common/util.h:
proto/msg.h:
proto/msg_priv.h:
