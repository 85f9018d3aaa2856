/*
 * query_line.c — the whois port's query line on plain bytes: where it
 * ends, whether it is too long or not text.  What is answered, and when,
 * is whois.c's.
 */
#include <stddef.h>
#include <string.h>

#include "daemons/whoisd/query_line.h"

/* No control bytes: a line of them is no name, and would reach the logs
 * and the scoreboard. */
static int
ql_text(const char *line, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return 0;
	return 1;
}

enum query_line
query_line(const char *buf, size_t len, int eof, size_t max,
    size_t *linelen, int *extra)
{
	const char	*nl;
	size_t		 ll;

	if ((nl = memchr(buf, '\n', len)) != NULL) {
		ll = (size_t)(nl - buf);
		if (len > ll + 1)
			*extra = 1;
		if (ll > 0 && buf[ll - 1] == '\r')
			ll--;
		if (ll > max)
			return QL_TOO_LONG;
	} else if (len > max && !(len == max + 1 && !eof && buf[max] == '\r'))
		return QL_TOO_LONG;	/* (a CR may be half of the end of line) */
	else if (!eof)
		return QL_MORE;
	else if (len == 0)
		return QL_HUNGUP;
	else
		ll = len;
	if (!ql_text(buf, ll))
		return QL_BINARY;
	*linelen = ll;
	return QL_LINE;
}
