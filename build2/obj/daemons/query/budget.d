build2/obj/daemons/query/budget.o: daemons/query/budget.c common/log.h \
 common/util.h daemons/query/query.h common/config.h common/pool.h \
 common/net.h daemons/query/registries.h common/name.h
common/log.h:
common/util.h:
daemons/query/query.h:
common/config.h:
common/pool.h:
common/net.h:
daemons/query/registries.h:
common/name.h:
