build2/obj/common/pool_child.o: common/pool_child.c common/linger.h \
 common/log.h common/net.h common/config.h common/pool.h \
 common/pool_priv.h common/util.h
common/linger.h:
common/log.h:
common/net.h:
common/config.h:
common/pool.h:
common/pool_priv.h:
common/util.h:
