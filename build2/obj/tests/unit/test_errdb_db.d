build2/obj/tests/unit/test_errdb_db.o: tests/unit/test_errdb_db.c \
 daemons/errdb/errdb_db.h tests/unit/unit_util.h
daemons/errdb/errdb_db.h:
tests/unit/unit_util.h:
