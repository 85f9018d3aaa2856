/*
 * unit_util.c — helpers shared by the unit tests (see unit_util.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "common/suffix.h"
#include "daemons/query/registries.h"
#include "tests/unit/unit_util.h"

struct registries	*unit_regs;
struct suffixes		*unit_sfx;

const char *
unit_srcdir(void)
{
	const char	*d = getenv("WHOISD_SRCDIR");

	return d != NULL ? d : ".";
}

int
unit_registries_setup(void **state)
{
	char	 path[600], err[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/etc/registries.conf", unit_srcdir());
	if ((unit_regs = registries_load(path, err, sizeof(err))) == NULL ||
	    (unit_sfx = suffix_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

int
unit_registries_teardown(void **state)
{
	(void)state;
	registries_free(unit_regs);
	suffix_free(unit_sfx);
	unit_regs = NULL;
	unit_sfx = NULL;
	return 0;
}

const struct registry *
unit_reg(const char *name)
{
	const struct registry	*rg = registries_find(unit_regs, name);

	assert_non_null(rg);
	return rg;
}
