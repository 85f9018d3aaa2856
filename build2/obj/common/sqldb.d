build2/obj/common/sqldb.o: common/sqldb.c common/log.h common/sqldb.h
common/log.h:
common/sqldb.h:
