/*
 * fuzz.h — what the libFuzzer targets (tests/fuzz/fuzz_*.c) share.
 */
#ifndef WHOISD_FUZZ_H
#define WHOISD_FUZZ_H

#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * A file in memory, for parsers that take a path: no disk I/O per input.
 * ff_path is "/proc/self/fd/N", which open(), openat() and fopen() take.
 */
struct fuzz_file {
	int	ff_fd;
	char	ff_path[64];
};

static inline void
fuzz_file_open(struct fuzz_file *ff, const char *name)
{
	if ((ff->ff_fd = memfd_create(name, 0)) == -1)
		abort();
	snprintf(ff->ff_path, sizeof(ff->ff_path), "/proc/self/fd/%d",
	    ff->ff_fd);
}

/* The file's bytes become exactly data. */
static inline void
fuzz_file_set(struct fuzz_file *ff, const void *data, size_t len)
{
	if (ftruncate(ff->ff_fd, 0) == -1 ||
	    pwrite(ff->ff_fd, data, len, 0) != (ssize_t)len)
		abort();
}

#endif
