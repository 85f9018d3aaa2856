/*
 * suffix_speed.c — nanoseconds per name of the front's registrable-name
 * step (suffix_lookup() on the shipped registries file, with the Public
 * Suffix List when one is given), over a mix of names under listed, PSL
 * and unknown suffixes.  Usage: suffix-speed REGISTRIES [PSL [ROUNDS]]
 * (PSL "" measures the file alone, as before the list).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/pslist.h"
#include "common/suffix.h"

static const char *const names[] = {
	"example.com", "www.example.com", "example.co.uk", "www.shop.com.tr",
	"example.com.mx", "a.b.c.example.de", "xn--mnchen-3ya.de", "example.zz",
	"foo.info", "foo.app", "example.org", "example.net", "shop.co.jp",
	"example.xn--p1ai", "blog.example.blogspot.com", "example.io",
};

int
main(int argc, char **argv)
{
	struct suffixes		*sx;
	struct suffix_match	 m;
	struct timespec		 a, b;
	char			 err[512];
	size_t			 i, n = sizeof(names) / sizeof(names[0]);
	long			 r, rounds = 200000;
	volatile int		 sink = 0;
	double			 ns;

	if (argc < 2) {
		fprintf(stderr, "usage: suffix-speed REGISTRIES [PSL [ROUNDS]]\n");
		return 2;
	}
	if ((sx = suffix_load(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (argc > 2 && argv[2][0] != '\0' &&
	    pslist_load(argv[2], err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (argc > 3)
		rounds = atol(argv[3]);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++)
			sink += suffix_lookup(sx, names[i], &m);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 +
	    (double)(b.tv_nsec - a.tv_nsec)) / ((double)rounds * (double)n);
	printf("%.1f ns/name (%ld names)\n", ns, rounds * (long)n);
	suffix_free(sx);
	return sink == 42 ? 3 : 0;
}
