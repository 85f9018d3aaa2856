build2/obj/daemons/whoisd/whois.o: daemons/whoisd/whois.c common/linger.h \
 common/log.h common/pool.h common/config.h common/net.h common/util.h \
 daemons/whoisd/whoisd.h proto/msg.h
common/linger.h:
common/log.h:
common/pool.h:
common/config.h:
common/net.h:
common/util.h:
daemons/whoisd/whoisd.h:
proto/msg.h:
