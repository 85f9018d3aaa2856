build2/obj/tests/bench/cache_fill.o: tests/bench/cache_fill.c \
 common/sqldb.h common/log.h common/util.h daemons/cache/cache_db.h \
 proto/msg.h daemons/cache/cache_db_int.h tests/bench/cache_fill.h
common/sqldb.h:
common/log.h:
common/util.h:
daemons/cache/cache_db.h:
proto/msg.h:
daemons/cache/cache_db_int.h:
tests/bench/cache_fill.h:
