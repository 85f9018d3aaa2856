build2/obj/tests/unit/unit_util.o: tests/unit/unit_util.c common/suffix.h \
 common/name.h common/regfile.h daemons/query/registries.h \
 tests/unit/unit_util.h
common/suffix.h:
common/name.h:
common/regfile.h:
daemons/query/registries.h:
tests/unit/unit_util.h:
