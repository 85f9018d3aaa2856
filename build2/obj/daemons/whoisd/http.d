build2/obj/daemons/whoisd/http.o: daemons/whoisd/http.c common/linger.h \
 common/log.h common/pool.h common/config.h common/net.h common/util.h \
 daemons/whoisd/whoisd.h proto/msg.h proto/client.h proto/frame.h
common/linger.h:
common/log.h:
common/pool.h:
common/config.h:
common/net.h:
common/util.h:
daemons/whoisd/whoisd.h:
proto/msg.h:
proto/client.h:
proto/frame.h:
