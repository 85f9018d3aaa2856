build2/obj/daemons/cache/main.o: daemons/cache/main.c common/log.h \
 common/pool.h common/config.h common/net.h common/util.h \
 daemons/cache/cache.h proto/msg.h daemons/cache/cache_db.h proto/auth.h
common/log.h:
common/pool.h:
common/config.h:
common/net.h:
common/util.h:
daemons/cache/cache.h:
proto/msg.h:
daemons/cache/cache_db.h:
proto/auth.h:
