/*
 * coverage.h — `whoisctl registries --coverage`: how many TLDs of the
 * root zone have a verified available rule, a route without one, or no
 * public channel, counted from the files alone (no daemon asked).
 */
#ifndef WHOISD_COVERAGE_H
#define WHOISD_COVERAGE_H

/* argv[0] is "registries"; 0, 1 on a file error, 2 on a usage error. */
int	 cmd_registries(int argc, char **argv);

#endif
