build2/obj/daemons/errdb/errdb_db.o: daemons/errdb/errdb_db.c \
 common/sqldb.h common/log.h daemons/errdb/errdb_db.h \
 build2/gen/schema/errdb_sql.h
common/sqldb.h:
common/log.h:
daemons/errdb/errdb_db.h:
build2/gen/schema/errdb_sql.h:
