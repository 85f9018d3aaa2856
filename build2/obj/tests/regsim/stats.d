build2/obj/tests/regsim/stats.o: tests/regsim/stats.c \
 tests/regsim/regsim.h
tests/regsim/regsim.h:
