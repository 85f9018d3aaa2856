build2/obj/common/spool.o: common/spool.c common/log.h common/spool.h \
 common/util.h
common/log.h:
common/spool.h:
common/util.h:
