build2/obj/daemons/query/iana_reply.o: daemons/query/iana_reply.c \
 common/name.h daemons/query/query.h common/config.h common/pool.h \
 common/net.h daemons/query/registries.h
common/name.h:
daemons/query/query.h:
common/config.h:
common/pool.h:
common/net.h:
daemons/query/registries.h:
