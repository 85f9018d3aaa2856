build2/obj/tests/unit/test_config.o: tests/unit/test_config.c \
 common/config.h common/pool.h common/net.h
common/config.h:
common/pool.h:
common/net.h:
