build2/obj/daemons/cache/cache_store.o: daemons/cache/cache_store.c \
 common/log.h common/sqldb.h daemons/cache/cache_db.h proto/msg.h \
 daemons/cache/cache_db_int.h
common/log.h:
common/sqldb.h:
daemons/cache/cache_db.h:
proto/msg.h:
daemons/cache/cache_db_int.h:
