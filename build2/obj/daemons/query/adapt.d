build2/obj/daemons/query/adapt.o: daemons/query/adapt.c common/log.h \
 common/util.h daemons/query/query.h common/config.h common/pool.h \
 common/net.h daemons/query/registries.h common/name.h proto/client.h \
 proto/frame.h proto/msg.h
common/log.h:
common/util.h:
daemons/query/query.h:
common/config.h:
common/pool.h:
common/net.h:
daemons/query/registries.h:
common/name.h:
proto/client.h:
proto/frame.h:
proto/msg.h:
