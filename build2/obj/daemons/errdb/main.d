build2/obj/daemons/errdb/main.o: daemons/errdb/main.c common/log.h \
 common/pool.h common/config.h common/net.h common/util.h \
 daemons/errdb/errdb.h daemons/errdb/errdb_db.h proto/auth.h proto/msg.h
common/log.h:
common/pool.h:
common/config.h:
common/net.h:
common/util.h:
daemons/errdb/errdb.h:
daemons/errdb/errdb_db.h:
proto/auth.h:
proto/msg.h:
