build2/obj/tests/unit/test_link_server.o: tests/unit/test_link_server.c \
 common/util.h proto/frame.h proto/link_server.h proto/auth.h proto/msg.h \
 proto/link.h
common/util.h:
proto/frame.h:
proto/link_server.h:
proto/auth.h:
proto/msg.h:
proto/link.h:
