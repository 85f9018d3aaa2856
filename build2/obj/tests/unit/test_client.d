build2/obj/tests/unit/test_client.o: tests/unit/test_client.c \
 common/util.h proto/client.h proto/frame.h proto/msg.h proto/link.h
common/util.h:
proto/client.h:
proto/frame.h:
proto/msg.h:
proto/link.h:
