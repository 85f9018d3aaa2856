build2/obj/common/linger.o: common/linger.c common/linger.h common/util.h
common/linger.h:
common/util.h:
