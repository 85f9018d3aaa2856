build2/obj/tests/regsim/strmap.o: tests/regsim/strmap.c common/util.h \
 tests/regsim/regsim.h
common/util.h:
tests/regsim/regsim.h:
