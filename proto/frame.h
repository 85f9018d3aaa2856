/*
 * frame.h — the frame every internal link carries:
 *
 *	uint32 length (big-endian, of what follows) | uint8 flags | body
 *
 * flags bit 0 (FRAME_F_DEFLATE): the body is zlib-deflated; every other
 * bit must be 0.  max_frame bounds both the length on the wire and the
 * inflated body; it is checked before anything is allocated and while
 * inflating, so neither a huge length nor a zip bomb costs memory.
 */
#ifndef WHOISD_PROTO_FRAME_H
#define WHOISD_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define FRAME_HDRLEN			5	/* length + flags */
#define FRAME_F_DEFLATE			0x01
#define FRAME_F_MASK			0x01	/* every other bit is an error */
/*
 * On loopback, deflating a typical 1-4 KB registry text costs more than
 * sending it; across hosts (a shared errdb), set compress_min lower.
 */
#define FRAME_COMPRESS_MIN_DEFAULT	8192
#define FRAME_MAX_DEFAULT		(16u * 1024 * 1024)

struct frame_limits {
	size_t	fl_max_frame;		/* 0: FRAME_MAX_DEFAULT */
	size_t	fl_compress_min;	/* bodies larger than this are deflated;
					 * 0: FRAME_COMPRESS_MIN_DEFAULT,
					 * SIZE_MAX: never deflate */
};

/* A received frame: the body, inflated if it came deflated. */
struct frame {
	uint8_t	*fr_body;	/* malloc'd; the caller owns it (free()) */
	size_t	 fr_len;	/* body length after inflating */
	uint8_t	 fr_flags;	/* flags as received */
	size_t	 fr_wire;	/* bytes the frame took on the wire */
};

/* NULL limits mean the defaults everywhere below. */
size_t	frame_max(const struct frame_limits *);
size_t	frame_compress_min(const struct frame_limits *);
/*
 * fl_compress_min from a daemon's `compress_min` key, where 0 means
 * never deflate (SIZE_MAX here), not the default as in frame_limits.
 */
size_t	frame_compress_min_conf(long);

/*
 * Take one frame off the front of `in`.  Returns 1 (a frame: *out is
 * filled and its bytes are drained), 0 (need more bytes; nothing is
 * drained) or -1 (a bad frame; err says why, the link must be closed).
 */
int	frame_read(struct evbuffer *in, const struct frame_limits *,
	    struct frame *out, char *err, size_t errlen);
/*
 * Append one frame holding `body` to `out`, deflated when the body is
 * larger than compress_min and deflating actually shrinks it.  Returns 0,
 * or -1 when the body is over max_frame or memory ran out.
 */
int	frame_write(struct evbuffer *out, const void *body, size_t len,
	    const struct frame_limits *);
void	frame_free(struct frame *);

#endif
