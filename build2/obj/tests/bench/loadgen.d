build2/obj/tests/bench/loadgen.o: tests/bench/loadgen.c common/util.h
common/util.h:
