build2/obj/proto/auth.o: proto/auth.c common/log.h common/pool.h \
 common/config.h common/net.h common/util.h proto/auth.h proto/msg.h
common/log.h:
common/pool.h:
common/config.h:
common/net.h:
common/util.h:
proto/auth.h:
proto/msg.h:
