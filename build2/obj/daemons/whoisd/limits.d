build2/obj/daemons/whoisd/limits.o: daemons/whoisd/limits.c \
 common/linger.h common/log.h common/net.h common/config.h common/pool.h \
 common/util.h daemons/whoisd/whoisd.h proto/msg.h
common/linger.h:
common/log.h:
common/net.h:
common/config.h:
common/pool.h:
common/util.h:
daemons/whoisd/whoisd.h:
proto/msg.h:
