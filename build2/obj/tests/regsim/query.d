build2/obj/tests/regsim/query.o: tests/regsim/query.c \
 tests/regsim/regsim.h
tests/regsim/regsim.h:
