build2/obj/proto/client.o: proto/client.c common/log.h common/util.h \
 proto/auth.h proto/msg.h proto/client.h proto/frame.h
common/log.h:
common/util.h:
proto/auth.h:
proto/msg.h:
proto/client.h:
proto/frame.h:
