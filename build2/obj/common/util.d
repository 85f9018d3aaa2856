build2/obj/common/util.o: common/util.c common/log.h common/util.h
common/log.h:
common/util.h:
