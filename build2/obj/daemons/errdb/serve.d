build2/obj/daemons/errdb/serve.o: daemons/errdb/serve.c common/log.h \
 common/pool.h common/config.h common/net.h common/util.h \
 daemons/errdb/errdb.h daemons/errdb/errdb_db.h proto/link_server.h \
 proto/auth.h proto/msg.h proto/link.h proto/frame.h
common/log.h:
common/pool.h:
common/config.h:
common/net.h:
common/util.h:
daemons/errdb/errdb.h:
daemons/errdb/errdb_db.h:
proto/link_server.h:
proto/auth.h:
proto/msg.h:
proto/link.h:
proto/frame.h:
