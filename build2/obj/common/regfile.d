build2/obj/common/regfile.o: common/regfile.c common/regfile.h
common/regfile.h:
