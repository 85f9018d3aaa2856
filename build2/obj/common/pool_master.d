build2/obj/common/pool_master.o: common/pool_master.c common/log.h \
 common/net.h common/config.h common/pool.h common/pool_priv.h \
 common/sd.h common/util.h
common/log.h:
common/net.h:
common/config.h:
common/pool.h:
common/pool_priv.h:
common/sd.h:
common/util.h:
