build2/obj/tests/unit/test_cache_db.o: tests/unit/test_cache_db.c \
 daemons/cache/cache_db.h proto/msg.h tests/bench/cache_fill.h \
 tests/unit/unit_util.h
daemons/cache/cache_db.h:
proto/msg.h:
tests/bench/cache_fill.h:
tests/unit/unit_util.h:
