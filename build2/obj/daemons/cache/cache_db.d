build2/obj/daemons/cache/cache_db.o: daemons/cache/cache_db.c \
 common/sqldb.h common/log.h daemons/cache/cache_db.h proto/msg.h \
 daemons/cache/cache_db_int.h build2/gen/schema/cache_sql.h
common/sqldb.h:
common/log.h:
daemons/cache/cache_db.h:
proto/msg.h:
daemons/cache/cache_db_int.h:
build2/gen/schema/cache_sql.h:
