build2/obj/daemons/query/main.o: daemons/query/main.c common/log.h \
 common/pool.h common/config.h common/net.h common/spool.h common/util.h \
 daemons/query/query.h daemons/query/registries.h common/name.h \
 proto/auth.h proto/msg.h proto/client.h proto/frame.h
common/log.h:
common/pool.h:
common/config.h:
common/net.h:
common/spool.h:
common/util.h:
daemons/query/query.h:
daemons/query/registries.h:
common/name.h:
proto/auth.h:
proto/msg.h:
proto/client.h:
proto/frame.h:
