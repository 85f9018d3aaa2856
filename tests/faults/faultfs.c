/*
 * faultfs.c — an LD_PRELOAD shim for the storage fault tests: while the
 * file named by WHOISD_FAULT_FLAG exists, every write(2), pwrite(2) and
 * writev(2) to a file whose path contains WHOISD_FAULT_MATCH fails.  The
 * flag file holds the errno to fail with: "ENOSPC" (a full disk) or
 * anything else for EIO.  Other files, the log included, are untouched.
 */
#include <sys/types.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t	write(int, const void *, size_t);
ssize_t	pwrite(int, const void *, size_t, off_t);
ssize_t	pwrite64(int, const void *, size_t, off64_t);
ssize_t	writev(int, const struct iovec *, int);

/* The errno to fail a write to fd with, or 0 to let it through. */
static int
faultfs_errno(int fd)
{
	const char	*flag = getenv("WHOISD_FAULT_FLAG");
	const char	*match = getenv("WHOISD_FAULT_MATCH");
	char		 link[64], path[4096], what[32];
	ssize_t		 n;
	int		 ffd, e;

	if (flag == NULL || match == NULL || *match == '\0' || fd <= 2)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0)
		return 0;
	path[n] = '\0';
	if (strstr(path, match) == NULL)
		return 0;
	if ((ffd = open(flag, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	e = EIO;
	n = read(ffd, what, sizeof(what) - 1);
	if (n > 0) {
		what[n] = '\0';
		if (strncmp(what, "ENOSPC", 6) == 0)
			e = ENOSPC;
	}
	close(ffd);
	return e;
}

/* Fail the call if writes to fd are to fail now. */
#define FAULTFS_CHECK(fd) do {					\
	int	e_ = faultfs_errno(fd);				\
	if (e_ != 0) {						\
		errno = e_;					\
		return -1;					\
	}							\
} while (0)

/* The C library's own function of that name. */
static void *
faultfs_next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	ssize_t	(*next)(int, const void *, size_t) = faultfs_next("write");

	FAULTFS_CHECK(fd);
	return next(fd, buf, len);
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t	(*next)(int, const void *, size_t, off_t) =
	    faultfs_next("pwrite");

	FAULTFS_CHECK(fd);
	return next(fd, buf, len, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	ssize_t	(*next)(int, const void *, size_t, off64_t) =
	    faultfs_next("pwrite64");

	FAULTFS_CHECK(fd);
	return next(fd, buf, len, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	ssize_t	(*next)(int, const struct iovec *, int) =
	    faultfs_next("writev");

	FAULTFS_CHECK(fd);
	return next(fd, iov, n);
}
