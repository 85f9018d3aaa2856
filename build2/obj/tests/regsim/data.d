build2/obj/tests/regsim/data.o: tests/regsim/data.c common/util.h \
 tests/regsim/regsim.h
common/util.h:
tests/regsim/regsim.h:
