build2/obj/daemons/query/session.o: daemons/query/session.c common/log.h \
 common/util.h daemons/query/classify.h proto/msg.h daemons/query/query.h \
 common/config.h common/pool.h common/net.h daemons/query/registries.h \
 common/name.h
common/log.h:
common/util.h:
daemons/query/classify.h:
proto/msg.h:
daemons/query/query.h:
common/config.h:
common/pool.h:
common/net.h:
daemons/query/registries.h:
common/name.h:
