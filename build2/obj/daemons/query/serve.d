build2/obj/daemons/query/serve.o: daemons/query/serve.c common/log.h \
 common/name.h common/pool.h common/config.h common/net.h common/spool.h \
 common/util.h daemons/query/classify.h proto/msg.h daemons/query/query.h \
 daemons/query/registries.h proto/link_server.h proto/auth.h proto/link.h \
 proto/frame.h
common/log.h:
common/name.h:
common/pool.h:
common/config.h:
common/net.h:
common/spool.h:
common/util.h:
daemons/query/classify.h:
proto/msg.h:
daemons/query/query.h:
daemons/query/registries.h:
proto/link_server.h:
proto/auth.h:
proto/link.h:
proto/frame.h:
