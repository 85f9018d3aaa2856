build2/obj/daemons/cache/cache_timing.o: daemons/cache/cache_timing.c \
 common/sqldb.h common/log.h daemons/cache/cache_db.h proto/msg.h \
 daemons/cache/cache_db_int.h
common/sqldb.h:
common/log.h:
daemons/cache/cache_db.h:
proto/msg.h:
daemons/cache/cache_db_int.h:
