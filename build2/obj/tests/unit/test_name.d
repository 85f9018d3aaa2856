build2/obj/tests/unit/test_name.o: tests/unit/test_name.c common/name.h \
 daemons/query/registries.h
common/name.h:
daemons/query/registries.h:
