build2/obj/daemons/whoisd/json.o: daemons/whoisd/json.c common/util.h \
 daemons/whoisd/whoisd.h common/config.h common/pool.h common/net.h \
 proto/msg.h
common/util.h:
daemons/whoisd/whoisd.h:
common/config.h:
common/pool.h:
common/net.h:
proto/msg.h:
