build2/obj/tests/echod/echod.o: tests/echod/echod.c common/config.h \
 common/linger.h common/log.h common/pool.h common/net.h common/util.h
common/config.h:
common/linger.h:
common/log.h:
common/pool.h:
common/net.h:
common/util.h:
