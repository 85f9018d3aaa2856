build2/obj/common/name.o: common/name.c common/name.h common/util.h
common/name.h:
common/util.h:
