build2/obj/common/sd.o: common/sd.c common/sd.h common/net.h \
 common/config.h
common/sd.h:
common/net.h:
common/config.h:
