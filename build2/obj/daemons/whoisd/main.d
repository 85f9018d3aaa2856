build2/obj/daemons/whoisd/main.o: daemons/whoisd/main.c common/log.h \
 common/pool.h common/config.h common/net.h common/suffix.h common/name.h \
 common/regfile.h common/util.h daemons/whoisd/whoisd.h proto/msg.h \
 proto/auth.h proto/client.h proto/frame.h
common/log.h:
common/pool.h:
common/config.h:
common/net.h:
common/suffix.h:
common/name.h:
common/regfile.h:
common/util.h:
daemons/whoisd/whoisd.h:
proto/msg.h:
proto/auth.h:
proto/client.h:
proto/frame.h:
