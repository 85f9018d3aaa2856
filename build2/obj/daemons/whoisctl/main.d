build2/obj/daemons/whoisctl/main.o: daemons/whoisctl/main.c common/log.h \
 common/net.h common/config.h common/util.h proto/auth.h proto/msg.h \
 proto/client.h proto/frame.h
common/log.h:
common/net.h:
common/config.h:
common/util.h:
proto/auth.h:
proto/msg.h:
proto/client.h:
proto/frame.h:
