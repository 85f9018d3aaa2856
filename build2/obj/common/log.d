build2/obj/common/log.o: common/log.c common/log.h common/sd.h \
 common/net.h common/config.h
common/log.h:
common/sd.h:
common/net.h:
common/config.h:
