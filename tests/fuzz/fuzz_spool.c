/*
 * fuzz_spool.c — libFuzzer target for reading a spooled error event back:
 * spool_read_file() (common/spool.c, what the sweep hands to the send
 * function) and then what whoisd-query's sender does with the body
 * (msg_unpack_copy, an `error` message, msg_read_error, msg_pack_error).
 * A spool file is on local disk, but it outlives the process that wrote
 * it: a crash mid-write, a disk error or an older version's file.
 *
 * Input: byte 0 picks max_body (bit 0: 64 bytes, else the 1 MiB default);
 * the rest is the file.  Besides memory safety it checks that the reader
 * gives back exactly the file's bytes, or nothing for an empty or
 * oversized file, and that an event it accepts is written again, reads
 * back as the same event and is then written to the same bytes: a resent
 * event is the event that was spooled.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/spool.h"
#include "proto/msg.h"
#include "tests/fuzz/fuzz.h"

#define FZ_MAX_BODY	(1024 * 1024)	/* spool.h: so_max_body's default */

static struct fuzz_file	fz_file;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_open(&fz_file, "fuzz-spool");
	return 0;
}

/* The query daemon's reading of a spooled body; 0 with *b filled, or -1. */
static int
resend(const void *body, size_t len, struct errevent *ev, struct msgb *b)
{
	struct msg	*m;
	char		 err[256];
	int		 r;

	if ((m = msg_unpack_copy(body, len, err, sizeof(err))) == NULL)
		return -1;
	r = msg_type(m) == MSG_ERROR &&
	    msg_read_error(m, ev, err, sizeof(err)) == 0 ? 0 : -1;
	msg_free(m);
	if (r == -1)
		return -1;
	if (ev->ev_eid[0] == '\0' || msg_pack_error(b, 0, PROTO_VERSION,
	    ev) == -1)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errevent	 ev1, ev2;
	struct msgb	 b1, b2;
	size_t		 max, len, flen;
	void		*body;

	if (size < 1)
		return 0;
	max = data[0] & 1 ? 64 : FZ_MAX_BODY;
	flen = size - 1;
	fuzz_file_set(&fz_file, data + 1, flen);
	len = 0;
	/* An absolute name: the dirfd is not used. */
	body = spool_read_file(AT_FDCWD, fz_file.ff_path, max, &len);
	if (body == NULL) {
		if (flen > 0 && flen <= max)
			abort();
		return 0;
	}
	if (flen == 0 || flen > max || len != flen ||
	    memcmp(body, data + 1, len) != 0)
		abort();
	msgb_init(&b1);
	msgb_init(&b2);
	if (resend(body, len, &ev1, &b1) == 0) {
		if (resend(msgb_data(&b1), msgb_len(&b1), &ev2, &b2) != 0 ||
		    memcmp(&ev1, &ev2, sizeof(ev1)) != 0 ||
		    msgb_len(&b1) != msgb_len(&b2) ||
		    memcmp(msgb_data(&b1), msgb_data(&b2), msgb_len(&b1)) != 0)
			abort();
	}
	msgb_free(&b1);
	msgb_free(&b2);
	free(body);
	return 0;
}
