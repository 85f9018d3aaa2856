/*
 * limitd.c: the loopback limit for `make bench`.
 *
 * The least a whois one-shot server can do: one process per core, each
 * with its own SO_REUSEPORT listener and epoll loop; accept, read one
 * line, look the name up in an in-memory hash of ~200-byte answers, write
 * the answer, close; TCP_DEFER_ACCEPT and MSG_MORE as whoisd's whois port
 * uses them, so the reference has every trick the suite has.  No
 * logging, no config, no pool.  Every figure of
 * the real suite is reported as a ratio to this one, measured in the same
 * run on the same machine.
 *
 *   limitd --port=N [--procs=N] [--names=FILE]
 *
 * Prints `limitd: listening on 127.0.0.1:PORT` once every process listens
 * (port 0 picks a free one), and stops on TERM or INT.
 */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LD_ANSWER	224		/* bytes of one answer, padded */
#define LD_LINE		512
#define LD_MAXPROCS	64

struct ld_entry {
	char	*le_name;
	char	 le_answer[LD_ANSWER + 1];
	size_t	 le_len;
};

struct ld_conn {
	char	 lc_buf[LD_LINE];
	size_t	 lc_len;
};

static struct ld_entry	*ld_tab;
static size_t		 ld_cap;		/* power of two */
static struct ld_entry	 ld_unknown;

static uint32_t
ld_hash(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;

	while (len-- > 0) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

static void
ld_answer(struct ld_entry *e, const char *name, const char *status)
{
	int	n;

	n = snprintf(e->le_answer, sizeof(e->le_answer),
	    "domain: %s\nace: %s\nstatus: %s\nsource: cache\n"
	    "checked: 2026-11-22T01:00:00Z\nregistry: whois.verisign-grs.com\n"
	    "registry-latency-ms: 123\n", name, name, status);
	if (n < 0 || n >= LD_ANSWER)
		n = LD_ANSWER - 1;
	/* Pad with a comment line so every answer is LD_ANSWER bytes. */
	if (n < LD_ANSWER - 2) {
		e->le_answer[n++] = '%';
		while (n < LD_ANSWER - 1)
			e->le_answer[n++] = ' ';
	}
	e->le_answer[n++] = '\n';
	e->le_answer[n] = '\0';
	e->le_len = (size_t)n;
}

static void
ld_insert(const char *name)
{
	size_t	i;

	for (i = ld_hash(name, strlen(name)) & (ld_cap - 1);
	    ld_tab[i].le_name != NULL; i = (i + 1) & (ld_cap - 1))
		if (strcmp(ld_tab[i].le_name, name) == 0)
			return;
	ld_tab[i].le_name = strdup(name);
	ld_answer(&ld_tab[i], name, "registered");
}

static const struct ld_entry *
ld_lookup(const char *name, size_t len)
{
	size_t	i;

	for (i = ld_hash(name, len) & (ld_cap - 1);
	    ld_tab[i].le_name != NULL; i = (i + 1) & (ld_cap - 1))
		if (strncmp(ld_tab[i].le_name, name, len) == 0 &&
		    ld_tab[i].le_name[len] == '\0')
			return &ld_tab[i];
	return &ld_unknown;
}

static void
ld_load(const char *path)
{
	FILE	*f;
	char	 line[LD_LINE];
	size_t	 n = 0, len;

	if (path != NULL && (f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			n++;
		rewind(f);
	} else
		f = NULL;
	for (ld_cap = 1024; ld_cap < n * 2; ld_cap *= 2)
		;
	if ((ld_tab = calloc(ld_cap, sizeof(*ld_tab))) == NULL) {
		perror("limitd: calloc");
		exit(1);
	}
	ld_answer(&ld_unknown, "unknown", "invalid");
	ld_insert("example.com");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		len = strcspn(line, "\r\n");
		line[len] = '\0';
		if (len > 0)
			ld_insert(line);
	}
	fclose(f);
}

static int
ld_listener(int port)
{
	struct sockaddr_in	sin;
	int			fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* The same kernel help whoisd's whois port takes: accept() returns
	 * once the query line is in. */
	setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4096) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Serve what is readable on fd; 1 when the connection is finished. */
static int
ld_serve(int fd, struct ld_conn *c)
{
	const struct ld_entry	*e;
	char			*nl;
	ssize_t			 n;
	size_t			 len;

	for (;;) {
		n = read(fd, c->lc_buf + c->lc_len,
		    sizeof(c->lc_buf) - 1 - c->lc_len);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : 1;
		if (n == 0)
			return 1;
		c->lc_len += (size_t)n;
		if ((nl = memchr(c->lc_buf, '\n', c->lc_len)) != NULL ||
		    c->lc_len == sizeof(c->lc_buf) - 1)
			break;
	}
	len = nl != NULL ? (size_t)(nl - c->lc_buf) : c->lc_len;
	while (len > 0 && isspace((unsigned char)c->lc_buf[len - 1]))
		len--;
	e = ld_lookup(c->lc_buf, len);
	/* ~200 bytes always fit an empty socket buffer.  MSG_MORE, as
	 * whoisd does: the close() that follows puts its FIN on the same
	 * segment. */
	(void)send(fd, e->le_answer, e->le_len, MSG_MORE | MSG_NOSIGNAL);
	return 1;
}

static void
ld_child(int lfd)
{
	struct epoll_event	 ev, evs[256];
	struct ld_conn		*c;
	int			 ep, n, i, fd;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		_exit(1);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				while ((fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
					c = calloc(1, sizeof(*c));
					if (c == NULL) {
						close(fd);
						continue;
					}
					/* The line is often there already. */
					if (ld_serve(fd, c)) {
						close(fd);
						free(c);
						continue;
					}
					ev.events = EPOLLIN | EPOLLRDHUP;
					ev.data.u64 = (uint64_t)(uintptr_t)c |
					    ((uint64_t)fd << 48);
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			fd = (int)(evs[i].data.u64 >> 48);
			c = (struct ld_conn *)(uintptr_t)(evs[i].data.u64 &
			    ((1ULL << 48) - 1));
			if (ld_serve(fd, c)) {
				close(fd);	/* also leaves the epoll set */
				free(c);
			}
		}
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	sigset_t		 set;
	pid_t			 pids[LD_MAXPROCS];
	const char		*names = NULL;
	int			 port = 0, procs, i, fd, sig;

	procs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--port=", 7) == 0)
			port = atoi(argv[i] + 7);
		else if (strncmp(argv[i], "--procs=", 8) == 0)
			procs = atoi(argv[i] + 8);
		else if (strncmp(argv[i], "--names=", 8) == 0)
			names = argv[i] + 8;
		else {
			fprintf(stderr, "usage: limitd --port=N [--procs=N] "
			    "[--names=FILE]\n");
			return 2;
		}
	}
	if (procs < 1)
		procs = 1;
	if (procs > LD_MAXPROCS)
		procs = LD_MAXPROCS;
	ld_load(names);

	/* The first listener fixes the port; the others share it. */
	if ((fd = ld_listener(port)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == -1) {
		perror("limitd: listen");
		return 1;
	}
	port = ntohs(sin.sin_port);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (i = 0; i < procs; i++) {
		int lfd = i == 0 ? fd : ld_listener(port);

		if (lfd == -1) {
			perror("limitd: listen");
			return 1;
		}
		if ((pids[i] = fork()) == -1) {
			perror("limitd: fork");
			return 1;
		}
		if (pids[i] == 0) {
			sigprocmask(SIG_UNBLOCK, &set, NULL);
			ld_child(lfd);
			_exit(0);
		}
		close(lfd);
	}
	printf("limitd: listening on 127.0.0.1:%d (%d processes)\n", port,
	    procs);
	fflush(stdout);
	sigwait(&set, &sig);
	for (i = 0; i < procs; i++)
		kill(pids[i], SIGTERM);
	for (i = 0; i < procs; i++)
		waitpid(pids[i], NULL, 0);
	return 0;
}
