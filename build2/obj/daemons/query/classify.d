build2/obj/daemons/query/classify.o: daemons/query/classify.c \
 daemons/query/registries.h common/name.h common/util.h \
 daemons/query/classify.h proto/msg.h
daemons/query/registries.h:
common/name.h:
common/util.h:
daemons/query/classify.h:
proto/msg.h:
