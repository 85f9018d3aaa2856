build2/obj/tests/unit/test_msg.o: tests/unit/test_msg.c proto/msg.h \
 proto/msg_priv.h proto/frame.h
proto/msg.h:
proto/msg_priv.h:
proto/frame.h:
