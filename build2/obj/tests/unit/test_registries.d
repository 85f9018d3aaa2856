build2/obj/tests/unit/test_registries.o: tests/unit/test_registries.c \
 daemons/query/registries.h common/name.h tests/unit/unit_util.h
daemons/query/registries.h:
common/name.h:
tests/unit/unit_util.h:
