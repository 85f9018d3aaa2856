/*
 * query_line.h — the whois port's query line (RFC 3912) in what a
 * connection has read, apart from the connection (whois.c) so unit tests
 * and fuzzing call it on plain bytes.
 */
#ifndef WHOISD_QUERY_LINE_H
#define WHOISD_QUERY_LINE_H

#include <stddef.h>

enum query_line {
	QL_MORE,	/* part of a line: wait for the rest */
	QL_HUNGUP,	/* EOF before any byte: close, nothing to answer */
	QL_LINE,	/* a query line: buf[0..*linelen) */
	QL_TOO_LONG,	/* over max without its end (bar its CR): refused */
	QL_BINARY	/* a control byte or DEL in the line: refused */
};

/*
 * Look at buf[0..len), everything the client sent so far; `eof`: it will
 * send nothing more (a line without its end is taken as it is).  The
 * line is what precedes the first LF, less one CR before it.  *extra is
 * set to 1 when bytes follow that LF (a close must linger) and left
 * alone otherwise.
 */
enum query_line	 query_line(const char *buf, size_t len, int eof, size_t max,
		    size_t *linelen, int *extra);

#endif
