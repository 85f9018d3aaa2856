build2/obj/tests/unit/test_classify.o: tests/unit/test_classify.c \
 daemons/query/registries.h common/name.h daemons/query/classify.h \
 proto/msg.h tests/unit/unit_util.h
daemons/query/registries.h:
common/name.h:
daemons/query/classify.h:
proto/msg.h:
tests/unit/unit_util.h:
