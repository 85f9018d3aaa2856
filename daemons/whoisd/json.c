/*
 * json.c — output helpers for answer.c and the HTTP API: JSON strings
 * (registry text can hold anything; control bytes become \u00XX and
 * invalid UTF-8 becomes U+FFFD, so the output is always valid JSON), and
 * plain strings and numbers without printf (every answer is built from a
 * dozen of them, and printf's parsing of its format would be paid on each).
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/util.h"
#include "daemons/whoisd/whoisd.h"

static void
json_strn(struct evbuffer *out, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, start = 0, l;
	char			 esc[8];

	evbuffer_add(out, "\"", 1);
	while (i < n) {
		unsigned char c = p[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80 && (l = utf8_seqlen(p + i, n - i)) > 0) {
			i += l;
			continue;
		}
		evbuffer_add(out, s + start, i - start);
		switch (c) {
		case '"':  evbuffer_add(out, "\\\"", 2); break;
		case '\\': evbuffer_add(out, "\\\\", 2); break;
		case '\n': evbuffer_add(out, "\\n", 2); break;
		case '\r': evbuffer_add(out, "\\r", 2); break;
		case '\t': evbuffer_add(out, "\\t", 2); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				evbuffer_add(out, esc, 6);
			} else
				evbuffer_add(out, "\\ufffd", 6);
		}
		i++;
		start = i;
	}
	evbuffer_add(out, s + start, i - start);
	evbuffer_add(out, "\"", 1);
}

void
json_str(struct evbuffer *out, const char *s)
{
	json_strn(out, s, strlen(s));
}

void
out_str(struct evbuffer *out, const char *s)
{
	evbuffer_add(out, s, strlen(s));
}

void
out_u64(struct evbuffer *out, uint64_t v)
{
	char	buf[24];

	evbuffer_add(out, buf, fmt_u64(v, buf));
}
