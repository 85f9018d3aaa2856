build2/obj/daemons/whoisd/lookup.o: daemons/whoisd/lookup.c common/log.h \
 common/name.h common/suffix.h common/regfile.h common/util.h \
 daemons/whoisd/whoisd.h common/config.h common/pool.h common/net.h \
 proto/msg.h proto/client.h proto/frame.h
common/log.h:
common/name.h:
common/suffix.h:
common/regfile.h:
common/util.h:
daemons/whoisd/whoisd.h:
common/config.h:
common/pool.h:
common/net.h:
proto/msg.h:
proto/client.h:
proto/frame.h:
