build2/obj/tests/regsim/server.o: tests/regsim/server.c common/log.h \
 common/util.h tests/regsim/regsim.h
common/log.h:
common/util.h:
tests/regsim/regsim.h:
