build2/obj/daemons/cache/reply.o: daemons/cache/reply.c common/log.h \
 common/util.h daemons/cache/cache.h common/pool.h common/config.h \
 common/net.h proto/msg.h daemons/cache/cache_db.h proto/link_server.h \
 proto/auth.h proto/link.h proto/frame.h
common/log.h:
common/util.h:
daemons/cache/cache.h:
common/pool.h:
common/config.h:
common/net.h:
proto/msg.h:
daemons/cache/cache_db.h:
proto/link_server.h:
proto/auth.h:
proto/link.h:
proto/frame.h:
