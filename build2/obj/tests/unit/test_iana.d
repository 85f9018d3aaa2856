build2/obj/tests/unit/test_iana.o: tests/unit/test_iana.c \
 daemons/query/query.h common/config.h common/pool.h common/net.h \
 daemons/query/registries.h common/name.h
daemons/query/query.h:
common/config.h:
common/pool.h:
common/net.h:
daemons/query/registries.h:
common/name.h:
