build2/obj/daemons/query/registries.o: daemons/query/registries.c \
 common/name.h common/regfile.h common/suffix.h \
 daemons/query/registries.h
common/name.h:
common/regfile.h:
common/suffix.h:
daemons/query/registries.h:
