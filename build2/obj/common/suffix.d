build2/obj/common/suffix.o: common/suffix.c common/name.h \
 common/regfile.h common/suffix.h
common/name.h:
common/regfile.h:
common/suffix.h:
