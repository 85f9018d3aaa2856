build2/obj/common/net.o: common/net.c common/net.h common/config.h \
 common/util.h
common/net.h:
common/config.h:
common/util.h:
