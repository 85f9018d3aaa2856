build2/obj/tests/regsim/ratelimit.o: tests/regsim/ratelimit.c \
 common/util.h tests/regsim/regsim.h
common/util.h:
tests/regsim/regsim.h:
