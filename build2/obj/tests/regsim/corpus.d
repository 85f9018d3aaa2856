build2/obj/tests/regsim/corpus.o: tests/regsim/corpus.c common/log.h \
 common/util.h tests/regsim/regsim.h
common/log.h:
common/util.h:
tests/regsim/regsim.h:
