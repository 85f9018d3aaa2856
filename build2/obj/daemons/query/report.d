build2/obj/daemons/query/report.o: daemons/query/report.c common/log.h \
 common/pool.h common/config.h common/net.h common/spool.h common/util.h \
 daemons/query/query.h daemons/query/registries.h common/name.h \
 proto/client.h proto/frame.h proto/msg.h
common/log.h:
common/pool.h:
common/config.h:
common/net.h:
common/spool.h:
common/util.h:
daemons/query/query.h:
daemons/query/registries.h:
common/name.h:
proto/client.h:
proto/frame.h:
proto/msg.h:
