build2/obj/tests/regsim/main.o: tests/regsim/main.c common/log.h \
 common/util.h tests/regsim/regsim.h
common/log.h:
common/util.h:
tests/regsim/regsim.h:
