build2/obj/tests/unit/test_net.o: tests/unit/test_net.c common/net.h \
 common/config.h common/util.h
common/net.h:
common/config.h:
common/util.h:
