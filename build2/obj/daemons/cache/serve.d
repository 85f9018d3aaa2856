build2/obj/daemons/cache/serve.o: daemons/cache/serve.c common/log.h \
 common/name.h common/pool.h common/config.h common/net.h common/util.h \
 daemons/cache/cache.h proto/msg.h daemons/cache/cache_db.h \
 proto/link_server.h proto/auth.h proto/link.h proto/frame.h
common/log.h:
common/name.h:
common/pool.h:
common/config.h:
common/net.h:
common/util.h:
daemons/cache/cache.h:
proto/msg.h:
daemons/cache/cache_db.h:
proto/link_server.h:
proto/auth.h:
proto/link.h:
proto/frame.h:
