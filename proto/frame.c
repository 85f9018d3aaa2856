/*
 * frame.c — length/flags/zlib framing over libevent evbuffers.
 *
 * zlib for the wire (the cache's store deflates texts at rest on its own).
 * Limits are checked before any allocation: a header announcing 4 GB is refused from its five bytes, and
 * an inflating body is refused as soon as its output passes max_frame.
 */
#include <sys/uio.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "proto/frame.h"

/* evbuffer_peek() vectors per inflate pass; more are peeked as needed. */
#define FRAME_PEEK_VEC	16
/* First guess for an inflated body, as a multiple of its deflated size. */
#define FRAME_INFLATE_GUESS	4

size_t
frame_max(const struct frame_limits *fl)
{
	if (fl == NULL || fl->fl_max_frame == 0)
		return FRAME_MAX_DEFAULT;
	return fl->fl_max_frame;
}

size_t
frame_compress_min(const struct frame_limits *fl)
{
	if (fl == NULL || fl->fl_compress_min == 0)
		return FRAME_COMPRESS_MIN_DEFAULT;
	return fl->fl_compress_min;
}

size_t
frame_compress_min_conf(long conf)
{
	return conf <= 0 ? SIZE_MAX : (size_t)conf;
}

void
frame_free(struct frame *fr)
{
	free(fr->fr_body);
	fr->fr_body = NULL;
	fr->fr_len = 0;
}

/*
 * Inflate `clen` bytes starting at the front of `in` into a new buffer of
 * at most `max` bytes.  The input is walked in place with evbuffer_peek(),
 * so a deflated frame is never copied whole.
 */
static int
frame_inflate(struct evbuffer *in, size_t clen, size_t max, struct frame *out,
    char *err, size_t errlen)
{
	struct evbuffer_ptr	 pos;
	struct iovec		 vec[FRAME_PEEK_VEC];
	z_stream		 zs;
	uint8_t			*buf = NULL, *nbuf;
	size_t			 cap, done = 0, fed = 0, chunk;
	int			 nvec, i, zr, ended = 0;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK) {
		snprintf(err, errlen, "inflateInit failed");
		return -1;
	}
	/* Grow as needed, but never past max + 1: one byte over is enough
	 * to know the body is too large. */
	cap = clen > (max + 1) / FRAME_INFLATE_GUESS ? max + 1 :
	    clen * FRAME_INFLATE_GUESS;
	if (cap < 256)
		cap = max + 1 < 256 ? max + 1 : 256;
	if ((buf = malloc(cap)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	evbuffer_ptr_set(in, &pos, 0, EVBUFFER_PTR_SET);
	while (fed < clen && !ended) {
		nvec = evbuffer_peek(in, clen - fed, &pos, vec, FRAME_PEEK_VEC);
		if (nvec > FRAME_PEEK_VEC)
			nvec = FRAME_PEEK_VEC;
		for (i = 0; i < nvec && fed < clen && !ended; i++) {
			chunk = vec[i].iov_len;
			if (chunk > clen - fed)
				chunk = clen - fed;
			/* zlib counts in uInt; evbuffer chunks are far smaller. */
			zs.next_in = vec[i].iov_base;
			zs.avail_in = (uInt)chunk;
			for (;;) {
				if (done == cap) {
					cap = cap * 2 > max + 1 ? max + 1 :
					    cap * 2;
					if ((nbuf = realloc(buf, cap)) == NULL) {
						snprintf(err, errlen,
						    "out of memory");
						goto fail;
					}
					buf = nbuf;
				}
				zs.next_out = buf + done;
				zs.avail_out = (uInt)(cap - done);
				zr = inflate(&zs, Z_NO_FLUSH);
				done = cap - zs.avail_out;
				if (done > max) {
					snprintf(err, errlen, "inflated body "
					    "exceeds max_frame %zu", max);
					goto fail;
				}
				if (zr == Z_STREAM_END) {
					ended = 1;
					break;
				}
				if (zr != Z_OK && zr != Z_BUF_ERROR) {
					snprintf(err, errlen, "inflate: %s",
					    zs.msg != NULL ? zs.msg :
					    "corrupt stream");
					goto fail;
				}
				/* Output room left over: this chunk is used up. */
				if (zs.avail_out != 0)
					break;
			}
			fed += chunk - zs.avail_in;
			if (ended && (zs.avail_in != 0 || fed != clen)) {
				snprintf(err, errlen, "trailing bytes after "
				    "deflate stream");
				goto fail;
			}
		}
		evbuffer_ptr_set(in, &pos, fed, EVBUFFER_PTR_SET);
		if (nvec <= 0)
			break;
	}
	if (!ended) {
		snprintf(err, errlen, "truncated deflate stream");
		goto fail;
	}
	if (done > max) {
		snprintf(err, errlen, "inflated body exceeds max_frame %zu", max);
		goto fail;
	}
	inflateEnd(&zs);
	out->fr_body = buf;
	out->fr_len = done;
	return 0;
fail:
	inflateEnd(&zs);
	free(buf);
	return -1;
}

int
frame_read(struct evbuffer *in, const struct frame_limits *fl,
    struct frame *out, char *err, size_t errlen)
{
	uint8_t		hdr[FRAME_HDRLEN];
	uint32_t	flen;
	size_t		blen, max = frame_max(fl);

	memset(out, 0, sizeof(*out));
	if (evbuffer_copyout(in, hdr, sizeof(hdr)) < (ev_ssize_t)sizeof(hdr))
		return 0;
	flen = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (flen == 0) {
		snprintf(err, errlen, "zero frame length");
		return -1;
	}
	if (hdr[4] & ~FRAME_F_MASK) {
		snprintf(err, errlen, "bad frame flags 0x%02x", hdr[4]);
		return -1;
	}
	blen = (size_t)flen - 1;
	if (blen > max) {
		snprintf(err, errlen, "frame of %zu bytes exceeds max_frame %zu",
		    blen, max);
		return -1;
	}
	if (evbuffer_get_length(in) < sizeof(hdr) + blen)
		return 0;
	evbuffer_drain(in, sizeof(hdr));
	out->fr_flags = hdr[4];
	out->fr_wire = sizeof(hdr) + blen;
	if (hdr[4] & FRAME_F_DEFLATE) {
		if (frame_inflate(in, blen, max, out, err, errlen) == -1) {
			evbuffer_drain(in, blen);
			return -1;
		}
		evbuffer_drain(in, blen);
		return 1;
	}
	if ((out->fr_body = malloc(blen == 0 ? 1 : blen)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (evbuffer_remove(in, out->fr_body, blen) != (int)blen) {
		frame_free(out);
		snprintf(err, errlen, "short evbuffer read");
		return -1;
	}
	out->fr_len = blen;
	return 1;
}

static void
frame_put_hdr(uint8_t *p, size_t blen, uint8_t flags)
{
	uint32_t	flen = (uint32_t)blen + 1;

	p[0] = flen >> 24;
	p[1] = flen >> 16;
	p[2] = flen >> 8;
	p[3] = flen;
	p[4] = flags;
}

int
frame_write(struct evbuffer *out, const void *body, size_t len,
    const struct frame_limits *fl)
{
	struct evbuffer_iovec	 v;
	uLongf			 clen;
	size_t			 room;
	uint8_t			*p;

	if (len > frame_max(fl) || len > UINT32_MAX - 1)
		return -1;
	room = FRAME_HDRLEN + len;
	if (len > frame_compress_min(fl))
		room = FRAME_HDRLEN + compressBound(len);
	/* One contiguous reservation: header and body go out together. */
	if (evbuffer_reserve_space(out, room, &v, 1) != 1 || v.iov_len < room)
		return -1;
	p = v.iov_base;
	if (len > frame_compress_min(fl)) {
		clen = compressBound(len);
		/*
		 * Level 1: on a link, deflating is worth it for its ratio on
		 * whois text, not for the last few percent, which cost
		 * several times the CPU.
		 */
		if (compress2(p + FRAME_HDRLEN, &clen, body, len,
		    Z_BEST_SPEED) == Z_OK &&
		    clen < len) {
			frame_put_hdr(p, clen, FRAME_F_DEFLATE);
			v.iov_len = FRAME_HDRLEN + clen;
			return evbuffer_commit_space(out, &v, 1);
		}
	}
	frame_put_hdr(p, len, 0);
	if (len > 0)
		memcpy(p + FRAME_HDRLEN, body, len);
	v.iov_len = FRAME_HDRLEN + len;
	return evbuffer_commit_space(out, &v, 1);
}
