build2/obj/daemons/whoisd/answer.o: daemons/whoisd/answer.c common/name.h \
 common/util.h daemons/whoisd/whoisd.h common/config.h common/pool.h \
 common/net.h proto/msg.h
common/name.h:
common/util.h:
daemons/whoisd/whoisd.h:
common/config.h:
common/pool.h:
common/net.h:
proto/msg.h:
