/*
 * unit_util.h — what several unit tests share: the source tree, and the
 * shipped registries file loaded once for a group of tests.  Linked into
 * every unit test.
 */
#ifndef WHOISD_UNIT_UTIL_H
#define WHOISD_UNIT_UTIL_H

struct registries;
struct registry;
struct suffixes;

/* The top of the source tree: WHOISD_SRCDIR, or "." to run from it. */
const char	*unit_srcdir(void);

/*
 * cmocka group fixtures: load etc/registries.conf as whoisd-query does
 * (unit_regs) and as the front does (unit_sfx), and free both.  Setup
 * prints the error and returns -1 if either load fails.
 */
extern struct registries	*unit_regs;
extern struct suffixes		*unit_sfx;
int		 unit_registries_setup(void **state);
int		 unit_registries_teardown(void **state);

/* A registry block of unit_regs; the test fails if there is none. */
const struct registry *unit_reg(const char *name);

#endif
