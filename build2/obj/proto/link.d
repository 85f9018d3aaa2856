build2/obj/proto/link.o: proto/link.c common/log.h common/util.h \
 proto/auth.h proto/msg.h proto/link.h proto/frame.h
common/log.h:
common/util.h:
proto/auth.h:
proto/msg.h:
proto/link.h:
proto/frame.h:
