build2/obj/proto/link_server.o: proto/link_server.c common/log.h \
 common/pool.h common/config.h common/net.h common/util.h \
 proto/link_server.h proto/auth.h proto/msg.h proto/link.h proto/frame.h
common/log.h:
common/pool.h:
common/config.h:
common/net.h:
common/util.h:
proto/link_server.h:
proto/auth.h:
proto/msg.h:
proto/link.h:
proto/frame.h:
