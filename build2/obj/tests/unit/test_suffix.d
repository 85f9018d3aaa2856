build2/obj/tests/unit/test_suffix.o: tests/unit/test_suffix.c \
 common/suffix.h common/name.h common/regfile.h \
 daemons/query/registries.h tests/unit/unit_util.h
common/suffix.h:
common/name.h:
common/regfile.h:
daemons/query/registries.h:
tests/unit/unit_util.h:
