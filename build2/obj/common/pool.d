build2/obj/common/pool.o: common/pool.c common/log.h common/net.h \
 common/config.h common/pool.h common/pool_priv.h common/sd.h \
 common/util.h
common/log.h:
common/net.h:
common/config.h:
common/pool.h:
common/pool_priv.h:
common/sd.h:
common/util.h:
