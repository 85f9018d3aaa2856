build2/obj/daemons/cache/wait.o: daemons/cache/wait.c common/log.h \
 common/pool.h common/config.h common/net.h common/util.h \
 daemons/cache/cache.h proto/msg.h daemons/cache/cache_db.h \
 proto/link_server.h proto/auth.h proto/link.h proto/frame.h
common/log.h:
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
