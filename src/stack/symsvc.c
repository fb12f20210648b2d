/* symsvc.c - the sandboxed symbolizer helper and its client. See symsvc.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/procfs.h"
#include "base/util.h"
#include "image/debuginfod.h"
#include "image/image.h"
#include "stack/symsvc.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define NOBODY	    65534
#define CLIENTS_MAX 4096 /* symbolizers in the helper at once */

enum msg_type {
	/* leakmond -> helper */
	M_NEW = 1, /* payload struct new_req; reply M_ACK */
	M_FREE,	   /* no payload, no reply */
	M_RESET,   /* reply M_ACK */
	M_LOOKUP,  /* payload struct lookup_req; reply M_FRAMES */
	M_STATS,   /* reply M_STATS_REPLY */
	/* helper -> leakmond */
	M_ACK,
	M_FRAMES,
	M_STATS_REPLY, /* payload struct sym_stats */
	M_HELLO,       /* once at start: payload struct hello */
	/* the broker: helper -> leakmond, answered by leakmond at once */
	M_READ_MAPS,   /* reply M_MAPS (payload: the text) */
	M_OPEN_MAPPED, /* payload struct open_mapped_req + path; reply M_FD */
	M_OPEN_DEBUG,  /* payload struct open_debug_req + path; reply M_FD */
	M_FETCH_DEBUG, /* payload: a build-id; reply M_FD (debuginfod, when the user opted in) */
	M_MAPS,
	M_FD, /* err, a descriptor when err is 0, payload: one byte (is_mapping) */
};

struct msg_hdr {
	uint32_t type;
	uint32_t sid;
	int32_t err;
	uint32_t len; /* payload bytes that follow */
	uint32_t id;  /* of a request; its answer (and the broker's exchanges) carry the same */
	uint32_t pad;
};

/* The id the next send_msg() writes: a new request's, or that of the request answered. */
static uint32_t msg_id;

struct new_req {
	int32_t pid;
	uint8_t is_own_root;
	/* followed by LEAKMOND_DEBUGINFO_PATH as leakmond has it now */
};

struct lookup_req {
	uint64_t pc;
	uint8_t is_return_address;
};

struct hello {
	uint8_t is_sandboxed;
	uint8_t is_unprivileged;
};

struct open_mapped_req {
	uint64_t start, end, inode, dev;
	uint8_t is_deleted;
};

struct open_debug_req {
	uint8_t in_process_root;
};

/* A process symbolized by the helper, as leakmond knows it (to serve the broker). */
struct client {
	uint32_t sid;
	pid_t pid;
	int root_fd;	  /* /proc/PID/root, opened on first need */
	char *maps;	  /* the maps last handed to the helper */
	char *debug_path; /* LEAKMOND_DEBUGINFO_PATH when it was opened, or NULL */
	symsvc_deliver_fn deliver;
	void *owner;
};

/* A request sent and not answered yet (answers come in the order of the requests). */
struct pend {
	uint32_t id, sid;
	uint32_t type;
	bool is_return_address;
	uint64_t pc;
};

static struct {
	pid_t pid; /* the helper, 0: none */
	int pidfd; /* of the helper (kill it, never a recycled pid) */
	int fd;	   /* our end of the socket */
	int own_root_fd;
	uint32_t gen; /* bumped at each start */
	uint32_t next_sid;
	bool is_enabled;
	bool is_helper; /* this process is the helper */
	unsigned budget_ms;
	struct sym_service_stats st;
	struct client *clients;
	size_t n_clients;
	char *strings; /* the strings of the last M_FRAMES decoded */
	size_t strings_cap;
	struct pend *pend; /* a ring of SYMSVC_PENDING_MAX */
	size_t pend_head, n_pend;
	uint32_t next_id;
	uint64_t busy_since; /* when the helper began the oldest pending request */
	char *in;	     /* bytes received, not yet a whole message */
	size_t in_len, in_cap;
	bool is_async;
	void (*watch)(int old_fd, int new_fd, void *ctx);
	void *watch_ctx;
	uint64_t suspect_pc; /* the pc of the last request the helper failed on */
	pid_t suspect_pid;
	struct sym_stats last_stats; /* of the last M_STATS answered, for last_stats_sid */
	uint32_t last_stats_sid;
	char *exec_path; /* leakmond's own binary: the helper is executed afresh */
	uint64_t restart_times[SYMSVC_RESTARTS_MAX]; /* the last restarts (a ring) */
	unsigned restart_next;
	pid_t refused[16]; /* pids whose symbolizer killed the helper twice when opened */
	unsigned n_refused;
	pid_t suspect_new_pid;
	/* what leakmond still has to send, in order (never blocks on the helper) */
	struct outmsg {
		char *buf;
		size_t len, sent;
		int fd; /* goes with its first byte */
	} * out;
	size_t n_out, cap_out, out_bytes;
	bool fd_failed; /* the helper is being given up: nothing is sent */
} svc = {.pidfd = -1, .fd = -1, .own_root_fd = -1, .budget_ms = SYMSVC_BUDGET_MS};

/* ---- messages -------------------------------------------------------------------------------- */

/* Send a whole message, blocking (the helper's side: leakmond always reads). */
static int send_msg(int fd, uint32_t type, uint32_t sid, int32_t err, const void *p1, size_t l1,
		    const void *p2, size_t l2)
{
	struct msg_hdr h = {
	    .type = type, .sid = sid, .err = err, .len = (uint32_t) (l1 + l2), .id = msg_id};
	struct iovec iov[3] = {{&h, sizeof(h)}, {(void *) p1, l1}, {(void *) p2, l2}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 3};
	size_t total = sizeof(h) + l1 + l2, done = 0;

	if (l1 + l2 > SYMSVC_PAYLOAD_MAX)
		return -EMSGSIZE;
	while (done < total) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t) n;
		/* skip what was sent */
		while (n > 0 && mh.msg_iovlen > 0) {
			if ((size_t) n >= mh.msg_iov[0].iov_len) {
				n -= (ssize_t) mh.msg_iov[0].iov_len;
				mh.msg_iov++;
				mh.msg_iovlen--;
			} else {
				mh.msg_iov[0].iov_base = (char *) mh.msg_iov[0].iov_base + n;
				mh.msg_iov[0].iov_len -= (size_t) n;
				n = 0;
			}
		}
	}
	return 0;
}

/* Wait until fd is readable or the deadline (0: none) passes. */
static int wait_readable(int fd, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int timeout = -1, r;

		if (deadline) {
			uint64_t now = now_ns();

			if (now >= deadline)
				return -ETIMEDOUT;
			timeout = (int) ((deadline - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
		}
		r = poll(&p, 1, timeout);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* Read exactly len bytes (the first read may bring a descriptor into *ret_fd). */
static int read_full(int fd, void *buf, size_t len, uint64_t deadline, int *ret_fd)
{
	size_t done = 0;

	while (done < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * 4)];
			struct cmsghdr align;
		} u;
		struct iovec iov = {(char *) buf + done, len - done};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n;
		int r = wait_readable(fd, deadline);

		if (r < 0)
			return r;
		if (ret_fd) {
			mh.msg_control = u.buf;
			mh.msg_controllen = sizeof(u.buf);
		}
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		if (ret_fd) {
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
				size_t k;

				if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
					continue;
				k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (size_t i = 0; i < k; i++) {
					int got;

					memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
					if (*ret_fd < 0)
						*ret_fd = got;
					else
						(void) close(got); /* one per message at most */
				}
			}
		}
		done += (size_t) n;
	}
	return 0;
}

/* Receive one message: its header, its payload (malloc'd, NUL-terminated, in *ret_payload) and a
 * descriptor that came with it (*ret_fd, -1 if none). */
static int recv_msg(int fd, struct msg_hdr *h, char **ret_payload, int *ret_fd, uint64_t deadline)
{
	char *p;
	int r;

	*ret_payload = NULL;
	*ret_fd = -1;
	r = read_full(fd, h, sizeof(*h), deadline, ret_fd);
	if (r < 0)
		goto fail;
	if (h->len > SYMSVC_PAYLOAD_MAX) {
		r = -EMSGSIZE;
		goto fail;
	}
	p = malloc((size_t) h->len + 1);
	if (!p) {
		r = -ENOMEM;
		goto fail;
	}
	r = read_full(fd, p, h->len, deadline, NULL);
	if (r < 0) {
		free(p);
		goto fail;
	}
	p[h->len] = '\0';
	*ret_payload = p;
	return 0;
fail:
	if (*ret_fd >= 0)
		(void) close(*ret_fd);
	*ret_fd = -1;
	return r;
}

/* ---- the helper -------------------------------------------------------------------------------
 */

struct helper_sym {
	uint32_t sid;
	struct symbolizer *s;
};

static struct helper_sym *hsyms;
static size_t n_hsyms;
static int helper_fd = -1;

/* Requests leakmond sent while the helper waited for a broker answer: served afterwards. */
struct deferred {
	struct msg_hdr h;
	char *p;
};
static struct deferred *deferred;
static size_t n_deferred, deferred_head;

/* A broker call from the helper: send the request; its answer is the next message of a broker
 * answer type (requests that come before it wait their turn). */
static int broker_call(uint32_t type, uint32_t sid, const void *p1, size_t l1, const void *p2,
		       size_t l2, struct msg_hdr *rh, char **ret_payload, int *ret_fd)
{
	uint32_t id = msg_id;
	int r = send_msg(helper_fd, type, sid, 0, p1, l1, p2, l2);

	if (r < 0)
		_exit(0); /* leakmond is gone */
	for (;;) {
		struct deferred *d;

		r = recv_msg(helper_fd, rh, ret_payload, ret_fd, 0);
		if (r < 0)
			_exit(0);
		if (rh->type == M_MAPS || rh->type == M_FD) {
			msg_id = id;
			return 0;
		}
		if (*ret_fd >= 0)
			(void) close(*ret_fd);
		d = realloc(deferred, (deferred_head + n_deferred + 1) * sizeof(*d));
		if (!d)
			_exit(4);
		deferred = d;
		deferred[deferred_head + n_deferred++] = (struct deferred){*rh, *ret_payload};
	}
}

/* The next request: a deferred one first. */
static int helper_next(struct msg_hdr *h, char **ret_payload, int *ret_fd)
{
	if (n_deferred > 0) {
		*h = deferred[deferred_head].h;
		*ret_payload = deferred[deferred_head].p;
		*ret_fd = -1;
		deferred_head++;
		if (--n_deferred == 0)
			deferred_head = 0;
		return 0;
	}
	return recv_msg(helper_fd, h, ret_payload, ret_fd, 0);
}

static int broker_read_maps(void *ctx, char **ret_text)
{
	struct msg_hdr h;
	char *p;
	int fd;

	broker_call(M_READ_MAPS, (uint32_t) (uintptr_t) ctx, NULL, 0, NULL, 0, &h, &p, &fd);
	if (fd >= 0)
		(void) close(fd);
	if (h.type != M_MAPS || h.err < 0) {
		free(p);
		return h.type != M_MAPS ? -EPROTO : h.err;
	}
	*ret_text = p;
	return 0;
}

static int broker_fd_reply(struct msg_hdr *h, char *p, int fd, bool *ret_is_mapping)
{
	if (h->type != M_FD || h->err < 0 || fd < 0) {
		free(p);
		if (fd >= 0)
			(void) close(fd);
		return h->type != M_FD ? -EPROTO : h->err < 0 ? h->err : -EIO;
	}
	if (ret_is_mapping)
		*ret_is_mapping = h->len >= 1 && p[0];
	free(p);
	return fd;
}

static int broker_open_mapped(void *ctx, const struct image_ref *ref, bool *ret_is_mapping)
{
	struct open_mapped_req q = {.start = ref->start,
				    .end = ref->end,
				    .inode = ref->inode,
				    .dev = ref->dev,
				    .is_deleted = ref->is_deleted};
	struct msg_hdr h;
	char *p;
	int fd;

	broker_call(M_OPEN_MAPPED, (uint32_t) (uintptr_t) ctx, &q, sizeof(q), ref->path,
		    ref->path_len, &h, &p, &fd);
	return broker_fd_reply(&h, p, fd, ret_is_mapping);
}

static int broker_open_debug(void *ctx, bool in_process_root, const char *path, struct stat *ret_st)
{
	struct open_debug_req q = {.in_process_root = in_process_root};
	struct msg_hdr h;
	char *p;
	int fd;

	broker_call(M_OPEN_DEBUG, (uint32_t) (uintptr_t) ctx, &q, sizeof(q), path, strlen(path), &h,
		    &p, &fd);
	fd = broker_fd_reply(&h, p, fd, NULL);
	if (fd >= 0 && ret_st && fstat(fd, ret_st) < 0) {
		(void) close(fd);
		return -EIO;
	}
	return fd;
}

static int broker_fetch_debug(void *ctx, const unsigned char *id, size_t len)
{
	struct msg_hdr h;
	char *p;
	int fd;

	broker_call(M_FETCH_DEBUG, (uint32_t) (uintptr_t) ctx, id, len, NULL, 0, &h, &p, &fd);
	return broker_fd_reply(&h, p, fd, NULL);
}

static struct symbolizer *hsym_find(uint32_t sid, size_t *ret_i)
{
	for (size_t i = 0; i < n_hsyms; i++)
		if (hsyms[i].sid == sid) {
			if (ret_i)
				*ret_i = i;
			return hsyms[i].s;
		}
	return NULL;
}

/* Append one string (NULL: length UINT32_MAX) to buf. */
static size_t put_string(char *buf, size_t at, const char *str)
{
	uint32_t len = str ? (uint32_t) strnlen(str, SYM_STRING_MAX - 1) : UINT32_MAX;

	memcpy(buf + at, &len, sizeof(len));
	at += sizeof(len);
	if (str) {
		memcpy(buf + at, str, len);
		at += len;
	}
	return at;
}

static void helper_lookup(uint32_t sid, const char *p, size_t len)
{
	static char buf[20 + SYM_INLINE_MAX * (8 + 4 * (4 + SYM_STRING_MAX))];
	struct sym_frame frames[SYM_INLINE_MAX];
	struct symbolizer *s = hsym_find(sid, NULL);
	struct lookup_req q;
	size_t at = 20;
	int n;

	if (!s || len < sizeof(q)) {
		(void) send_msg(helper_fd, M_FRAMES, sid, -ENOENT, NULL, 0, NULL, 0);
		return;
	}
	memcpy(&q, p, sizeof(q));
	n = symbolizer_lookup(s, q.pc, q.is_return_address, frames, SYM_INLINE_MAX);
	if (n < 0) {
		(void) send_msg(helper_fd, M_FRAMES, sid, n, NULL, 0, NULL, 0);
		return;
	}
	{
		struct sym_stats st;

		symbolizer_get_stats(s, &st);
		memcpy(buf, &n, 4);
		memcpy(buf + 4, &st.cache_drops, 8);
		memcpy(buf + 12, &st.module_changes, 8);
	}
	for (int i = 0; i < n; i++) {
		uint8_t flags = (uint8_t) (frames[i].is_inlined | frames[i].is_module_deleted << 1);
		int32_t line = frames[i].line;

		buf[at++] = (char) flags;
		memcpy(buf + at, &line, 4);
		at += 4;
		at = put_string(buf, at, frames[i].module);
		at = put_string(buf, at, frames[i].build_id);
		at = put_string(buf, at, frames[i].function);
		at = put_string(buf, at, frames[i].file);
	}
	(void) send_msg(helper_fd, M_FRAMES, sid, 0, buf, at, NULL, 0);
}

static void helper_serve(int fault)
{
	for (;;) {
		struct msg_hdr h;
		char *p;
		int fd, r = helper_next(&h, &p, &fd);
		struct symbolizer *s;
		size_t at;

		if (r < 0)
			_exit(0);
		if (fd >= 0)
			(void) close(fd);
		msg_id = h.id; /* the answer, and the broker requests on the way, carry it */
		switch (h.type) {
		case M_NEW: {
			struct new_req q;
			struct sym_access a = {.ctx = (void *) (uintptr_t) h.sid,
					       .read_maps = broker_read_maps,
					       .open_mapped = broker_open_mapped,
					       .open_debug = broker_open_debug,
					       .fetch_debug = broker_fetch_debug};
			struct helper_sym *n;

			r = -EINVAL;
			if (h.len >= sizeof(q) && !hsym_find(h.sid, NULL) &&
			    n_hsyms < CLIENTS_MAX) {
				memcpy(&q, p, sizeof(q));
				a.is_own_root = q.is_own_root;
				if (h.len > sizeof(q))
					(void) setenv("LEAKMOND_DEBUGINFO_PATH", p + sizeof(q), 1);
				else
					(void) unsetenv("LEAKMOND_DEBUGINFO_PATH");
				r = -ENOMEM;
				n = realloc(hsyms, (n_hsyms + 1) * sizeof(*n));
				if (n) {
					hsyms = n;
					s = symbolizer_new_brokered(q.pid, &a);
					if (s) {
						hsyms[n_hsyms++] = (struct helper_sym){h.sid, s};
						r = 0;
					}
				}
			}
			(void) send_msg(helper_fd, M_ACK, h.sid, r, NULL, 0, NULL, 0);
			break;
		}
		case M_FREE:
			s = hsym_find(h.sid, &at);
			if (s) {
				symbolizer_free(s);
				hsyms[at] = hsyms[--n_hsyms];
			}
			break;
		case M_RESET:
			s = hsym_find(h.sid, NULL);
			if (s)
				symbolizer_reset(s);
			(void) send_msg(helper_fd, M_ACK, h.sid, s ? 0 : -ENOENT, NULL, 0, NULL, 0);
			break;
		case M_LOOKUP:
			if (fault == 1)
				for (;;)
					pause(); /* a request that never ends */
			if (fault == 2)
				__builtin_trap(); /* a helper that dies */
			helper_lookup(h.sid, p, h.len);
			break;
		case M_STATS: {
			struct sym_stats st = {0};

			s = hsym_find(h.sid, NULL);
			symbolizer_get_stats(s, &st);
			(void) send_msg(helper_fd, M_STATS_REPLY, h.sid, s ? 0 : -ENOENT, &st,
					sizeof(st), NULL, 0);
			break;
		}
		default:
			_exit(3); /* leakmond does not send anything else */
		}
		free(p);
	}
}

/* The system call filter: what symbolizing descriptors needs, and nothing that opens, executes,
 * traces or signals. Anything else fails with EPERM; the worst get the process killed. */
static int helper_filter(void)
{
	static const int allowed[] = {
	    SCMP_SYS(read),
	    SCMP_SYS(write),
	    SCMP_SYS(readv),
	    SCMP_SYS(writev),
	    SCMP_SYS(pread64),
	    SCMP_SYS(preadv),
	    SCMP_SYS(lseek),
	    SCMP_SYS(close),
	    SCMP_SYS(fstat),
	    SCMP_SYS(dup),
	    SCMP_SYS(mmap),
	    SCMP_SYS(munmap),
	    SCMP_SYS(mremap),
	    SCMP_SYS(mprotect),
	    SCMP_SYS(brk),
	    SCMP_SYS(madvise),
	    SCMP_SYS(futex),
	    SCMP_SYS(exit),
	    SCMP_SYS(exit_group),
	    SCMP_SYS(rt_sigreturn),
	    SCMP_SYS(rt_sigprocmask),
	    SCMP_SYS(sigaltstack),
	    SCMP_SYS(sendmsg),
	    SCMP_SYS(recvmsg),
	    SCMP_SYS(poll),
	    SCMP_SYS(ppoll),
	    SCMP_SYS(clock_gettime),
	    SCMP_SYS(clock_nanosleep),
	    SCMP_SYS(nanosleep),
	    SCMP_SYS(pause),
	    SCMP_SYS(getpid),
	    SCMP_SYS(gettid),
	    SCMP_SYS(getrandom),
	    SCMP_SYS(sched_yield),
	    SCMP_SYS(getrusage),
	    SCMP_SYS(sched_getaffinity),
	};
	static const int killed[] = {
	    SCMP_SYS(execve),
	    SCMP_SYS(execveat),
	    SCMP_SYS(ptrace),
	    SCMP_SYS(process_vm_readv),
	    SCMP_SYS(process_vm_writev),
	    SCMP_SYS(socket),
	    SCMP_SYS(connect),
	    SCMP_SYS(kill),
	    SCMP_SYS(tkill),
	    SCMP_SYS(pidfd_open),
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int r = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(allowed) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	for (size_t i = 0; i < ARRAY_SIZE(killed) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, killed[i], 0);
	/* libdw, libelf and the C library may try to open files by name: they fail cleanly */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat2), 0);
	/* stat of a descriptor only (glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH)), never
	 * of a path */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
				     SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(statx), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
	/* descriptor flags and duplicates only: no F_SETOWN/F_SETSIG (signals to others) */
	{
		static const int cmds[] = {F_GETFD, F_SETFD, F_GETFL, F_DUPFD, F_DUPFD_CLOEXEC};

		for (size_t i = 0; i < ARRAY_SIZE(cmds) && r == 0; i++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
					     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t) cmds[i]));
	}
	/* limits of itself only */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
				     SCMP_A0(SCMP_CMP_EQ, 0));
	/* raise() and abort() signal only the helper itself */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t) getpid()));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

/* Close every descriptor from first on (no descriptor of leakmond's may reach the helper: a
 * traced process's /proc/PID/mem, say). Dies when that cannot be done. */
static void close_from(int first)
{
	struct rlimit rl;

	if (syscall(SYS_close_range, (unsigned) first, ~0U, 0) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > (1U << 20))
		_exit(2);
	for (rlim_t fd = (rlim_t) first; fd < rl.rlim_cur; fd++)
		(void) close((int) fd);
}

/* Become the helper: nothing of leakmond's state but the socket is kept. Never returns. */
static _Noreturn void helper_main(int fd, pid_t parent, int fault)
{
	struct hello hi = {0};
	struct rlimit core = {0, 0};
	int null;

	svc.is_helper = true;
	(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	(void) prctl(PR_SET_NAME, "leakmond-sym");
	/* leakmond's handlers restore traced processes: not ours to run */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void) signal(sig, SIG_DFL);
	{
		sigset_t none;

		sigemptyset(&none);
		(void) sigprocmask(SIG_SETMASK, &none, NULL);
	}
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		(void) dup2(null, 0);
		(void) dup2(null, 1);
	}
	if (fd != 3 && dup2(fd, 3) < 0)
		_exit(2);
	helper_fd = 3;
	close_from(4);
	(void) setrlimit(RLIMIT_CORE, &core);
	if (geteuid() == 0) {
		gid_t g = NOBODY;

		if (setgroups(1, &g) == 0 && setresgid(NOBODY, NOBODY, NOBODY) == 0 &&
		    setresuid(NOBODY, NOBODY, NOBODY) == 0)
			hi.is_unprivileged = 1;
	}
	if (!hi.is_unprivileged) {
		/* still root (a unit forbids set*id): keep the uid, lose every capability */
		struct __user_cap_header_struct ch = {.version = _LINUX_CAPABILITY_VERSION_3};
		struct __user_cap_data_struct cd[2];

		memset(cd, 0, sizeof(cd));
		if (syscall(SYS_capset, &ch, cd) == 0)
			hi.is_unprivileged = 1;
	}
	/* a change of uid or capabilities cleared the death signal: set it again, and make sure
	 * leakmond did not die in between */
	(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	(void) prctl(PR_SET_DUMPABLE, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && helper_filter() == 0)
		hi.is_sandboxed = 1;
	if (send_msg(helper_fd, M_HELLO, 0, 0, &hi, sizeof(hi), NULL, 0) < 0)
		_exit(0);
	helper_serve(fault);
	_exit(0);
}

/* ---- leakmond's side ------------------------------------------------------------------------- */

static void out_clear(void);

/* Kill the helper and forget it: its socket, what was to be sent, the processes it symbolized
 * (their symbolizers open theirs again in the next one). */
static void helper_kill(void)
{
	if (svc.pid > 0) {
		int st;

		if (svc.pidfd >= 0)
			(void) syscall(SYS_pidfd_send_signal, svc.pidfd, SIGKILL, NULL, 0);
		else if (waitpid(svc.pid, &st, WNOHANG) == 0)
			(void) kill(svc.pid,
				    SIGKILL); /* our child, not reaped: not a recycled pid */
		/* bounded: SIGKILL cannot be refused; the session may have reaped it already */
		for (int i = 0; i < 200; i++) {
			pid_t r = waitpid(svc.pid, &st, WNOHANG);

			if (r != 0)
				break;
			usleep(5000);
		}
	}
	if (svc.fd >= 0) {
		if (svc.watch)
			svc.watch(svc.fd, -1, svc.watch_ctx);
		(void) close(svc.fd);
	}
	if (svc.pidfd >= 0)
		(void) close(svc.pidfd);
	svc.fd = svc.pidfd = -1;
	svc.pid = 0;
	svc.in_len = 0;
	svc.st.is_running = false;
	out_clear();
	for (size_t i = 0; i < svc.n_clients; i++) {
		struct client *c = &svc.clients[i];

		if (c->root_fd >= 0)
			(void) close(c->root_fd);
		free(c->maps);
		free(c->debug_path);
	}
	svc.n_clients = 0;
}

void symsvc_helper_exec_main(int argc, char **argv)
{
	/* argv: leakmond-sym SYMSVC_HELPER_ARG PARENT-PID FAULT, the socket on descriptor 3 */
	if (argc < 4)
		_exit(2);
	helper_main(3, (pid_t) atoi(argv[2]), atoi(argv[3]));
}

/* In the child of fork: become the helper, by executing leakmond again when it gave its path
 * (a fresh address space: nothing of leakmond's memory, no mapping of a target's), else here. */
static _Noreturn void helper_child(int fd, pid_t parent, int fault)
{
	char spid[16], sfault[16];
	char *argv[] = {"leakmond-sym", SYMSVC_HELPER_ARG, spid, sfault, NULL};

	if (!svc.exec_path)
		helper_main(fd, parent, fault);
	(void) prctl(PR_SET_PDEATHSIG, SIGKILL); /* kept across the exec */
	if (getppid() != parent)
		_exit(0);
	if (fd != 3 && dup2(fd, 3) < 0)
		_exit(2);
	close_from(4);
	snprintf(spid, sizeof(spid), "%d", (int) parent);
	snprintf(sfault, sizeof(sfault), "%d", fault);
	execv(svc.exec_path, argv);
	_exit(127);
}

static int helper_spawn(bool is_first)
{
	const char *f = getenv("LEAKMOND_SYMSVC_FAULT");
	int fault = 0, sv[2], r, got;
	pid_t parent = getpid(), pid;
	struct msg_hdr h;
	char *p;

	/* fault injection for the tests: only the first helper misbehaves */
	if (f && is_first)
		fault = strcmp(f, "hang") == 0 ? 1 : strcmp(f, "crash") == 0 ? 2 : 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		(void) close(sv[0]);
		(void) close(sv[1]);
		return r;
	}
	if (pid == 0) {
		(void) close(sv[0]);
		helper_child(sv[1], parent, fault);
	}
	(void) close(sv[1]);
	svc.pid = pid;
	svc.fd = sv[0];
	svc.pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
	svc.gen++;
	r = recv_msg(svc.fd, &h, &p, &got, now_ns() + (uint64_t) svc.budget_ms * NSEC_PER_MSEC);
	if (got >= 0)
		(void) close(got);
	if (r == 0 && (h.type != M_HELLO || h.len < sizeof(struct hello)))
		r = -EPROTO;
	if (r < 0) {
		free(p);
		helper_kill();
		return r;
	}
	/* leakmond never waits on the helper: what it cannot send now is queued */
	if (fcntl(svc.fd, F_SETFL, fcntl(svc.fd, F_GETFL) | O_NONBLOCK) < 0) {
		free(p);
		helper_kill();
		return -errno;
	}
	svc.st.is_sandboxed = ((struct hello *) p)->is_sandboxed;
	svc.st.is_unprivileged = ((struct hello *) p)->is_unprivileged;
	svc.st.is_running = true;
	free(p);
	if (svc.watch)
		svc.watch(-1, svc.fd, svc.watch_ctx);
	return 0;
}

int symsvc_start_exec(const char *self)
{
	free(svc.exec_path);
	svc.exec_path = self ? strdup(self) : NULL;
	if (self && !svc.exec_path)
		return -ENOMEM;
	return symsvc_start();
}

int symsvc_start(void)
{
	const char *budget = getenv("LEAKMOND_SYMSVC_BUDGET_MS");
	int r;

	if (svc.is_enabled)
		return 0;
	if (budget && atoi(budget) > 0)
		svc.budget_ms = (unsigned) atoi(budget);
	svc.own_root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (svc.own_root_fd < 0)
		return -errno;
	r = helper_spawn(true);
	if (r < 0) {
		(void) close(svc.own_root_fd);
		svc.own_root_fd = -1;
		return r;
	}
	svc.is_enabled = true;
	if (!svc.st.is_sandboxed)
		log_warning("symbolizer helper (pid %d): its system call filter could not be "
			    "installed; it runs unfiltered",
			    (int) svc.pid);
	else
		log_debug("symbolizer helper (pid %d): filtered%s", (int) svc.pid,
			  svc.st.is_unprivileged ? ", without capabilities" : "");
	return 0;
}

void symsvc_stop(void)
{
	if (svc.fd >= 0)
		(void) shutdown(svc.fd, SHUT_RDWR); /* the helper reads the end and exits */
	helper_kill();
	for (size_t i = 0; i < svc.n_clients; i++) {
		if (svc.clients[i].root_fd >= 0)
			(void) close(svc.clients[i].root_fd);
		free(svc.clients[i].debug_path);
	}
	free(svc.clients);
	svc.clients = NULL;
	svc.n_clients = 0;
	free(svc.strings);
	svc.strings = NULL;
	svc.strings_cap = 0;
	if (svc.own_root_fd >= 0)
		(void) close(svc.own_root_fd);
	svc.own_root_fd = -1;
	svc.is_enabled = false;
	svc.st = (struct sym_service_stats){0};
	svc.budget_ms = SYMSVC_BUDGET_MS;
}

bool symsvc_is_running(void)
{
	return svc.is_enabled && !svc.is_helper;
}

void symsvc_get_stats(struct sym_service_stats *ret)
{
	*ret = svc.st;
	ret->is_running = svc.is_enabled;
}

pid_t symsvc_pid(void)
{
	return svc.pid;
}

void symsvc_set_budget_ms(unsigned ms)
{
	svc.budget_ms = ms ? ms : SYMSVC_BUDGET_MS;
}

uint32_t symsvc_generation(void)
{
	return svc.pid > 0 ? svc.gen : 0;
}

/* Bring the helper up when it is down (bounded number of restarts). */
static int ensure_running(void)
{
	int r;

	if (!svc.is_enabled)
		return -ENOTCONN;
	if (svc.pid > 0)
		return 0;
	/* at most SYMSVC_RESTARTS_MAX restarts in SYMSVC_RESTARTS_WINDOW_S: a helper that keeps
	 * dying is not started again at once (symbols read unknown meanwhile) */
	{
		uint64_t oldest = svc.restart_times[svc.restart_next];

		if (oldest && now_ns() - oldest < SYMSVC_RESTARTS_WINDOW_S * NSEC_PER_SEC)
			return -ENOTCONN;
		svc.restart_times[svc.restart_next] = now_ns();
		svc.restart_next = (svc.restart_next + 1) % SYMSVC_RESTARTS_MAX;
	}
	svc.st.restarts++;
	r = helper_spawn(false);
	return r;
}

static struct client *client_find(uint32_t sid)
{
	for (size_t i = 0; i < svc.n_clients; i++)
		if (svc.clients[i].sid == sid)
			return &svc.clients[i];
	return NULL;
}

/* Whether path (absolute) has a "." or ".." component or an empty one. */
static bool has_dot_component(const char *path)
{
	for (const char *c = path; *c;) {
		size_t len;

		while (*c == '/')
			c++;
		len = strcspn(c, "/");
		if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return true;
		c += len;
	}
	return false;
}

/* Whether path lies under dir (a directory path without a trailing slash). */
static bool is_under(const char *path, const char *dir, size_t dir_len)
{
	return strncmp(path, dir, dir_len) == 0 && path[dir_len] == '/';
}

/* The debug files the helper may have: in our root, only under /usr/lib/debug and the
 * LEAKMOND_DEBUGINFO_PATH directories; in the process's root, also under its /usr/lib/debug, and
 * beside (or in .debug/ beside) a file the process has mapped executable. */
static bool debug_path_allowed(const struct client *c, bool in_process_root, const char *path)
{
	const char *env = c->debug_path;
	const char *slash = strrchr(path, '/'), *cursor;
	size_t dir_len;
	struct proc_map m;

	if (path[0] != '/' || has_dot_component(path) || !slash)
		return false;
	if (is_under(path, "/usr/lib/debug", strlen("/usr/lib/debug")))
		return true;
	for (const char *p = env; !in_process_root && p && *p;) {
		size_t len = strcspn(p, ":");

		if (p[0] == '/' && len > 1 && is_under(path, p, len))
			return true;
		p += len + (p[len] == ':');
	}
	if (!in_process_root || !c->maps)
		return false;
	dir_len = (size_t) (slash - path);
	if (dir_len >= 7 && strncmp(slash - 7, "/.debug", 7) == 0)
		dir_len -= 7;
	cursor = c->maps;
	while (procfs_maps_next_valid(&cursor, &m) > 0) {
		const char *ms;

		if (!m.path || m.path[0] != '/' || m.perms[2] != 'x')
			continue;
		ms = memrchr(m.path, '/', m.path_len);
		if (ms && (size_t) (ms - m.path) == dir_len && memcmp(m.path, path, dir_len) == 0)
			return true;
	}
	return false;
}

/* Whether the maps last read for c have the mapping the helper asks to open. */
static bool mapping_allowed(const struct client *c, const struct open_mapped_req *q,
			    const char *path, size_t path_len)
{
	const char *cursor = c->maps;
	struct proc_map m;

	if (!cursor)
		return false;
	while (procfs_maps_next_valid(&cursor, &m) > 0) {
		if (m.start == q->start && m.end == q->end && m.inode == q->inode &&
		    makedev(m.dev_major, m.dev_minor) == q->dev && m.perms[2] == 'x' && m.path &&
		    (m.path_len == path_len ||
		     (m.path_len == path_len + 10 &&
		      memcmp(m.path + path_len, " (deleted)", 10) == 0)) &&
		    memcmp(m.path, path, path_len) == 0)
			return true;
	}
	return false;
}

static int client_root(struct client *c)
{
	char name[64];

	if (c->root_fd < 0) {
		snprintf(name, sizeof(name), "/proc/%d/root", (int) c->pid);
		c->root_fd = open(name, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (c->root_fd < 0)
			return -errno;
	}
	return c->root_fd;
}

/* ---- leakmond's output: queued, sent as the helper takes it -------------------------------- */

static void helper_failed(int r);

/* Send what is queued, as far as the socket takes it now. */
static void flush_out(void)
{
	while (svc.fd >= 0 && svc.n_out > 0) {
		struct outmsg *o = &svc.out[0];
		struct iovec iov = {o->buf + o->sent, o->len - o->sent};
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n;

		if (o->sent == 0 && o->fd >= 0) {
			struct cmsghdr *c;

			memset(&u, 0, sizeof(u));
			mh.msg_control = u.buf;
			mh.msg_controllen = sizeof(u.buf);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &o->fd, sizeof(int));
		}
		n = sendmsg(svc.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* the helper is busy: the rest goes later (a read or a tick) */
		if (n < 0) {
			helper_failed(-EPIPE);
			return;
		}
		o->sent += (size_t) n;
		svc.out_bytes -= (size_t) n;
		if (o->fd >= 0) {
			(void) close(o->fd);
			o->fd = -1;
		}
		if (o->sent < o->len)
			continue;
		free(o->buf);
		memmove(svc.out, svc.out + 1, (svc.n_out - 1) * sizeof(*svc.out));
		svc.n_out--;
	}
}

/* Queue a message to the helper (fd, when not -1, is duplicated) and send what can be sent. */
static int out_msg(uint32_t type, uint32_t sid, int32_t err, const void *p1, size_t l1,
		   const void *p2, size_t l2, int pass_fd)
{
	struct msg_hdr h = {
	    .type = type, .sid = sid, .err = err, .len = (uint32_t) (l1 + l2), .id = msg_id};
	struct outmsg o = {.len = sizeof(h) + l1 + l2, .fd = -1};

	if (svc.fd < 0 || svc.fd_failed)
		return -ESTALE;
	if (l1 + l2 > SYMSVC_PAYLOAD_MAX ||
	    svc.out_bytes + o.len > 2 * (size_t) SYMSVC_PAYLOAD_MAX) {
		helper_failed(-EPROTO); /* the helper does not read what it asked for */
		return -ESTALE;
	}
	if (svc.n_out == svc.cap_out) {
		size_t cap = svc.cap_out ? svc.cap_out * 2 : 64;
		struct outmsg *n = realloc(svc.out, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		svc.out = n;
		svc.cap_out = cap;
	}
	o.buf = malloc(o.len);
	if (!o.buf)
		return -ENOMEM;
	if (pass_fd >= 0 && (o.fd = fcntl(pass_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		free(o.buf);
		return -errno;
	}
	memcpy(o.buf, &h, sizeof(h));
	if (l1)
		memcpy(o.buf + sizeof(h), p1, l1);
	if (l2)
		memcpy(o.buf + sizeof(h) + l1, p2, l2);
	svc.out[svc.n_out++] = o;
	svc.out_bytes += o.len;
	flush_out();
	return 0;
}

/* Drop what was not sent (the helper is gone). */
static void out_clear(void)
{
	for (size_t i = 0; i < svc.n_out; i++) {
		free(svc.out[i].buf);
		if (svc.out[i].fd >= 0)
			(void) close(svc.out[i].fd);
	}
	svc.n_out = 0;
	svc.out_bytes = 0;
}

/* ---- debuginfod downloads, off the loop ------------------------------------------------------ */

static struct {
	int pipe[2]; /* the thread writes the descriptor it got (or -errno) */
	unsigned char id[64];
	size_t len;
	uint32_t sid, msg_id, gen; /* the broker request it answers */
	bool is_busy;
} fetch = {.pipe = {-1, -1}};

static void *fetch_thread(void *arg)
{
	int fd = debuginfod_find_debuginfo(fetch.id, fetch.len);

	(void) arg;
	while (write(fetch.pipe[1], &fd, sizeof(fd)) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Start the download the broker request h asks for (one at a time: the helper waits for it). */
static int fetch_start(const struct msg_hdr *h, const unsigned char *id)
{
	pthread_t th;
	sigset_t all, old;
	int r;

	if (fetch.is_busy)
		return -EBUSY;
	if (fetch.pipe[0] < 0) {
		if (pipe2(fetch.pipe, O_CLOEXEC | O_NONBLOCK) < 0)
			return -errno;
		if (svc.watch)
			svc.watch(-1, fetch.pipe[0], svc.watch_ctx);
	}
	memcpy(fetch.id, id, h->len);
	fetch.len = h->len;
	fetch.sid = h->sid;
	fetch.msg_id = h->id;
	fetch.gen = svc.gen;
	/* the thread takes no signal: leakmond reads its own from a signalfd */
	sigfillset(&all);
	(void) pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&th, NULL, fetch_thread, NULL);
	(void) pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	(void) pthread_detach(th);
	fetch.is_busy = true;
	return 0;
}

/* The download is done: answer the helper that asked (if it is still the same one). */
static void fetch_finish(void)
{
	int fd;
	uint8_t m = 0;

	if (!fetch.is_busy || read(fetch.pipe[0], &fd, sizeof(fd)) != sizeof(fd))
		return;
	fetch.is_busy = false;
	if (svc.fd >= 0 && fetch.gen == svc.gen) {
		msg_id = fetch.msg_id;
		if (out_msg(M_FD, fetch.sid, fd >= 0 ? 0 : fd, &m, 1, NULL, 0, fd) < 0)
			helper_failed(-EPIPE);
		svc.busy_since = now_ns(); /* the helper's own time runs again */
	}
	if (fd >= 0)
		(void) close(fd);
}

/* Whether the helper may have the file open on fd: one the traced process could read itself
 * (readable by all, or owned by its user), and for a debug file an ELF file. So a compromised
 * helper gets nothing through leakmond's privileges that the process (whose files these are)
 * could not read. */
static bool file_allowed(const struct client *c, int fd, bool is_debug)
{
	char name[64];
	struct stat st, proc;
	unsigned char magic[4];

	snprintf(name, sizeof(name), "/proc/%d", (int) c->pid);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || stat(name, &proc) < 0)
		return false;
	if (!(st.st_mode & S_IROTH) && st.st_uid != proc.st_uid)
		return false;
	return !is_debug || (pread(fd, magic, sizeof(magic), 0) == (ssize_t) sizeof(magic) &&
			     memcmp(magic, "\177ELF", 4) == 0);
}

/* Answer one broker request of the helper. */
static int serve_broker(const struct msg_hdr *h, const char *p)
{
	struct client *c = client_find(h->sid);
	char name[64];
	int fd = -1, r = -ENOENT;
	bool is_mapping = false;

	switch (h->type) {
	case M_READ_MAPS: {
		_cleanup_close_ int dfd = -1;
		char *text = NULL;
		ssize_t n = -ENOENT;

		if (c) {
			snprintf(name, sizeof(name), "/proc/%d", (int) c->pid);
			dfd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			n = dfd < 0 ? -errno : procfs_read_at(dfd, "maps", &text);
		}
		if (n < 0)
			return out_msg(M_MAPS, h->sid, (int32_t) n, NULL, 0, NULL, 0, -1);
		free(c->maps);
		c->maps = text;
		return out_msg(M_MAPS, h->sid, 0, text, strlen(text), NULL, 0, -1);
	}
	case M_OPEN_MAPPED: {
		struct open_mapped_req q;
		const char *path = p + sizeof(q);
		size_t path_len = h->len > sizeof(q) ? h->len - sizeof(q) : 0;

		if (!c || h->len <= sizeof(q) || path_len >= IMAGE_PATH_MAX) {
			r = -EINVAL;
			break;
		}
		memcpy(&q, p, sizeof(q));
		if (!mapping_allowed(c, &q, path, path_len)) {
			r = -EPERM;
			break;
		}
		struct image_ref ref = {.pid = c->pid,
					.path = path,
					.path_len = path_len,
					.start = q.start,
					.end = q.end,
					.inode = q.inode,
					.dev = (dev_t) q.dev,
					.is_deleted = q.is_deleted};

		r = fd = image_open_mapped(&ref, &is_mapping);
		if (fd >= 0 && !file_allowed(c, fd, false)) {
			(void) close(fd);
			r = fd = -EACCES;
		}
		break;
	}
	case M_OPEN_DEBUG: {
		struct open_debug_req q;
		const char *path = p + sizeof(q);
		int root;

		if (!c || h->len <= sizeof(q) || h->len - sizeof(q) >= IMAGE_PATH_MAX ||
		    strlen(path) != h->len - sizeof(q)) {
			r = -EINVAL;
			break;
		}
		memcpy(&q, p, sizeof(q));
		if (!debug_path_allowed(c, q.in_process_root, path)) {
			r = -EPERM;
			break;
		}
		root = q.in_process_root ? client_root(c) : svc.own_root_fd;
		r = root < 0 ? root : (fd = image_open_in_root(root, path, strlen(path), NULL));
		if (fd >= 0 && !file_allowed(c, fd, true)) {
			(void) close(fd);
			r = fd = -EACCES;
		}
		break;
	}
	case M_FETCH_DEBUG:
		/* the download is leakmond's (the helper has no network), bounded by the
		 * DEBUGINFOD_* limits, in a thread: answered when it is done, the loop goes on;
		 * the helper checks the build-id of what it gets */
		if (!c || h->len == 0 || h->len > sizeof(fetch.id)) {
			r = -EINVAL;
			break;
		}
		if (!debuginfod_is_active()) {
			r = -ENOSYS;
			break;
		}
		r = fetch_start(h, (const unsigned char *) p);
		if (r == 0)
			return 0; /* answered by fetch_finish() */
		break;
	default:
		return -EPROTO;
	}
	{
		uint8_t m = is_mapping;

		r = out_msg(M_FD, h->sid, fd >= 0 ? 0 : r, &m, 1, NULL, 0, fd);
	}
	if (fd >= 0)
		(void) close(fd);
	return r;
}

/* ---- requests ------------------------------------------------------------------------------- */

static struct pend *pend_at(size_t k)
{
	return &svc.pend[(svc.pend_head + k) % SYMSVC_PENDING_MAX];
}

/* The helper failed (r): kill it; the request it was on is asked again later, or given up when
 * the helper failed on the same pc the time before; the others are simply dropped (asked again). */
static void helper_failed(int r)
{
	bool is_poisoned = false;
	size_t n = svc.n_pend;

	if (svc.fd < 0)
		return;
	if (r == -ETIMEDOUT)
		svc.st.timeouts++;
	log_warning("symbolizer helper (pid %d) %s: killed; the next request starts another",
		    (int) svc.pid,
		    r == -ETIMEDOUT ? "overran its time budget"
		    : r == -EPIPE   ? "died"
				    : "broke the protocol");
	if (n > 0 && pend_at(0)->type == M_LOOKUP) {
		struct client *c = client_find(pend_at(0)->sid);
		pid_t pid = c ? c->pid : 0;

		is_poisoned = svc.suspect_pc == pend_at(0)->pc && svc.suspect_pid == pid;
		svc.suspect_pc = pend_at(0)->pc;
		svc.suspect_pid = pid;
	} else if (n > 0 && pend_at(0)->type == M_NEW) {
		/* reading this process's modules killed it: twice, and the process is refused */
		struct client *c = client_find(pend_at(0)->sid);

		if (c && c->pid == svc.suspect_new_pid && svc.n_refused < ARRAY_SIZE(svc.refused))
			svc.refused[svc.n_refused++] = c->pid;
		svc.suspect_new_pid = c ? c->pid : 0;
	}
	svc.n_pend = 0;
	svc.fd_failed = true; /* no sending from the callbacks below */
	for (size_t k = 0; k < n; k++) {
		struct pend *q = pend_at(k);
		struct client *c = q->type == M_LOOKUP ? client_find(q->sid) : NULL;

		if (c && c->deliver)
			c->deliver(c->owner, q->pc, q->is_return_address, NULL,
				   k == 0 && is_poisoned ? r : -EAGAIN, NULL);
	}
	svc.fd_failed = false;
	helper_kill();
}

/* Take one string of an M_FRAMES payload into svc.strings at *k. */
static int take_string(const char *p, size_t len, size_t *at, size_t *k, const char **ret)
{
	uint32_t n;

	if (len - *at < sizeof(n))
		return -EPROTO;
	memcpy(&n, p + *at, sizeof(n));
	*at += sizeof(n);
	if (n == UINT32_MAX) {
		*ret = NULL;
		return 0;
	}
	if (n >= SYM_STRING_MAX || len - *at < n)
		return -EPROTO;
	memcpy(svc.strings + *k, p + *at, n);
	svc.strings[*k + n] = '\0';
	*ret = svc.strings + *k;
	*k += n + 1;
	*at += n;
	return 0;
}

/* Decode an M_FRAMES payload (the helper is not trusted: every length is checked). */
static int decode_frames(const char *p, size_t len, uint64_t pc, struct sym_frame *frames,
			 uint64_t drops[2])
{
	size_t at = 20, k = 0;
	int32_t n;
	int r = 0;

	if (len < 20)
		return -EPROTO;
	memcpy(&n, p, 4);
	memcpy(&drops[0], p + 4, 8);
	memcpy(&drops[1], p + 12, 8);
	if (n < 1 || n > SYM_INLINE_MAX)
		return -EPROTO;
	if (svc.strings_cap < len + 4 * (size_t) n) {
		char *ns = realloc(svc.strings, len + 4 * (size_t) n);

		if (!ns)
			return -ENOMEM;
		svc.strings = ns;
		svc.strings_cap = len + 4 * (size_t) n;
	}
	for (int32_t i = 0; i < n; i++) {
		struct sym_frame f = {.pc = pc};
		uint8_t flags;
		int32_t line;

		if (len - at < 5)
			return -EPROTO;
		flags = (uint8_t) p[at];
		memcpy(&line, p + at + 1, 4);
		at += 5;
		f.is_inlined = flags & 1;
		f.is_module_deleted = flags & 2;
		f.line = line > 0 ? line : 0;
		if ((r = take_string(p, len, &at, &k, &f.module)) < 0 ||
		    (r = take_string(p, len, &at, &k, &f.build_id)) < 0 ||
		    (r = take_string(p, len, &at, &k, &f.function)) < 0 ||
		    (r = take_string(p, len, &at, &k, &f.file)) < 0)
			return r;
		frames[i] = f;
	}
	return n;
}

/* One whole message from the helper. */
static void handle_msg(const struct msg_hdr *h, const char *p)
{
	struct pend q;
	struct client *c;

	if (h->type >= M_READ_MAPS && h->type <= M_FETCH_DEBUG) {
		/* the budget is the helper's own time: ours (a debuginfod download) is bounded
		 * by its own limits */
		uint64_t t0 = now_ns();
		int r;

		msg_id = h->id;
		r = serve_broker(h, p);
		svc.busy_since += now_ns() - t0;
		if (r < 0)
			helper_failed(r == -EPROTO ? r : -EPIPE);
		return;
	}
	if (svc.n_pend == 0 || pend_at(0)->id != h->id ||
	    (h->type != M_ACK && h->type != M_FRAMES && h->type != M_STATS_REPLY)) {
		helper_failed(-EPROTO);
		return;
	}
	q = *pend_at(0);
	svc.pend_head = (svc.pend_head + 1) % SYMSVC_PENDING_MAX;
	svc.n_pend--;
	svc.busy_since = now_ns();
	c = client_find(q.sid);
	if (h->type == M_FRAMES && q.type == M_LOOKUP) {
		struct sym_frame frames[SYM_INLINE_MAX];
		uint64_t drops[2];
		int n = h->err < 0 ? h->err : decode_frames(p, h->len, q.pc, frames, drops);

		if (n == -EPROTO) {
			if (c && c->deliver) /* asked again later */
				c->deliver(c->owner, q.pc, q.is_return_address, NULL, -EAGAIN,
					   NULL);
			helper_failed(-EPROTO);
			return;
		}
		if (c && c->deliver)
			c->deliver(c->owner, q.pc, q.is_return_address, n > 0 ? frames : NULL,
				   n > 0 ? n : -ENOENT, drops);
	} else if (h->type == M_STATS_REPLY && q.type == M_STATS) {
		if (h->err == 0 && h->len >= sizeof(struct sym_stats)) {
			memcpy(&svc.last_stats, p, sizeof(svc.last_stats));
			svc.last_stats_sid = q.sid;
		}
	} else if (h->type == M_ACK && q.type == M_NEW) {
		/* a symbolizer the helper could not make: its lookups are answered -ENOENT */
		if (h->err < 0)
			log_debug("symbolizer helper: no symbolizer for sid %u (%s)", q.sid,
				  strerror(-h->err));
	} else if (!(h->type == M_ACK && q.type == M_RESET)) {
		if (q.type == M_LOOKUP && c && c->deliver)
			c->deliver(c->owner, q.pc, q.is_return_address, NULL, -EAGAIN, NULL);
		helper_failed(-EPROTO);
	}
}

/* A request that overran the budget kills the helper. */
static void check_budget(void)
{
	if (svc.fd >= 0 && svc.n_pend > 0 && !fetch.is_busy &&
	    now_ns() > svc.busy_since + (uint64_t) svc.budget_ms * NSEC_PER_MSEC)
		helper_failed(-ETIMEDOUT);
}

void symsvc_dispatch(void)
{
	unsigned handled = 0;

	if (fetch.is_busy)
		fetch_finish(); /* the pipe does not block: nothing there is "not done yet" */
	flush_out();
	/* a bounded number of reads per call: a helper that floods us cannot keep the loop from
	 * its other work (epoll calls again while there is more) */
	while (svc.fd >= 0 && handled++ < 64) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * 4)];
			struct cmsghdr align;
		} u;
		struct iovec iov;
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf)};
		ssize_t n;
		size_t at = 0;

		if (svc.in_cap - svc.in_len < 65536) {
			char *b = realloc(svc.in, svc.in_cap + 65536);

			if (!b)
				break;
			svc.in = b;
			svc.in_cap += 65536;
		}
		iov = (struct iovec){svc.in + svc.in_len, svc.in_cap - svc.in_len};
		n = recvmsg(svc.fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n > 0 && c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				     i++) {
					int got;

					memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
					(void) close(got); /* the helper sends none */
				}
		if (n <= 0) {
			helper_failed(n == 0 ? -EPIPE : -errno);
			break;
		}
		svc.in_len += (size_t) n;
		while (svc.fd >= 0 && svc.in_len - at >= sizeof(struct msg_hdr)) {
			struct msg_hdr h;
			char *p;

			memcpy(&h, svc.in + at, sizeof(h));
			if (h.len > SYMSVC_PAYLOAD_MAX) {
				helper_failed(-EPROTO);
				break;
			}
			if (svc.in_len - at - sizeof(h) < h.len)
				break;
			p = malloc((size_t) h.len + 1);
			if (!p)
				break;
			memcpy(p, svc.in + at + sizeof(h), h.len);
			p[h.len] = '\0';
			at += sizeof(h) + h.len;
			handle_msg(&h, p);
			free(p);
		}
		if (svc.fd < 0)
			break;
		memmove(svc.in, svc.in + at, svc.in_len - at);
		svc.in_len -= at;
	}
	flush_out();
	check_budget();
}

void symsvc_tick(void)
{
	symsvc_dispatch(); /* an answer already there is no overrun */
}

int symsvc_flush(unsigned ms)
{
	uint64_t deadline = now_ns() + (uint64_t) ms * NSEC_PER_MSEC;

	while (svc.fd >= 0 && svc.n_pend > 0) {
		uint64_t budget_end = svc.busy_since + (uint64_t) svc.budget_ms * NSEC_PER_MSEC;
		uint64_t until = budget_end < deadline && !fetch.is_busy ? budget_end : deadline;
		struct pollfd p[2] = {{.fd = svc.fd, .events = POLLIN | (svc.n_out ? POLLOUT : 0)},
				      {.fd = fetch.is_busy ? fetch.pipe[0] : -1, .events = POLLIN}};
		uint64_t now = now_ns();
		int r;

		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(p, 2, until > now ? (int) ((until - now) / NSEC_PER_MSEC) + 1 : 0);
		if (r < 0 && errno != EINTR)
			return -errno;
		symsvc_dispatch();
	}
	return 0;
}

void symsvc_set_async(bool is_async)
{
	svc.is_async = is_async;
}

bool symsvc_is_async(void)
{
	return svc.is_async;
}

void symsvc_set_watch(void (*fn)(int old_fd, int new_fd, void *ctx), void *ctx)
{
	if (svc.watch && svc.fd >= 0)
		svc.watch(svc.fd, -1, svc.watch_ctx);
	if (svc.watch && fetch.pipe[0] >= 0)
		svc.watch(fetch.pipe[0], -1, svc.watch_ctx);
	svc.watch = fn;
	svc.watch_ctx = ctx;
	if (fn && svc.fd >= 0)
		fn(-1, svc.fd, ctx);
	if (fn && fetch.pipe[0] >= 0)
		fn(-1, fetch.pipe[0], ctx);
}

/* Send a request (and its pending entry). Never blocks for long: no more than
 * SYMSVC_PENDING_MAX small requests are ever unread by the helper. */
static int send_request(uint32_t type, uint32_t sid, const void *q, size_t qlen, const char *str,
			uint64_t pc, bool is_return_address)
{
	struct pend *e;
	int r;

	if (svc.fd < 0 || svc.fd_failed)
		return -ESTALE;
	if (svc.n_pend >= SYMSVC_PENDING_MAX)
		return -EBUSY;
	if (!svc.pend) {
		svc.pend = calloc(SYMSVC_PENDING_MAX, sizeof(*svc.pend));
		if (!svc.pend)
			return -ENOMEM;
	}
	msg_id = ++svc.next_id;
	r = out_msg(type, sid, 0, q, qlen, str, str ? strlen(str) : 0, -1);
	if (r < 0)
		return r;
	if (svc.fd < 0)
		return -ESTALE; /* it failed as it was sent */
	if (svc.n_pend == 0)
		svc.busy_since = now_ns();
	e = pend_at(svc.n_pend++);
	*e = (struct pend){.id = msg_id,
			   .sid = sid,
			   .type = type,
			   .pc = pc,
			   .is_return_address = is_return_address};
	svc.st.requests++;
	return 0;
}

int symsvc_open(pid_t pid, symsvc_deliver_fn deliver, void *owner, uint32_t *ret_sid,
		uint32_t *ret_gen)
{
	struct new_req q = {.pid = pid};
	struct stat st_root, st_ours;
	struct client *c;
	char name[64];
	int r;

	for (unsigned i = 0; i < svc.n_refused; i++)
		if (svc.refused[i] == pid)
			return -EPERM;
	r = ensure_running();
	if (r < 0)
		return r;
	snprintf(name, sizeof(name), "/proc/%d/root", (int) pid);
	q.is_own_root = stat(name, &st_root) != 0 || stat("/", &st_ours) != 0 ||
			(st_root.st_dev == st_ours.st_dev && st_root.st_ino == st_ours.st_ino);
	c = realloc(svc.clients, (svc.n_clients + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	svc.clients = c;
	c = &svc.clients[svc.n_clients++];
	*c = (struct client){
	    .sid = ++svc.next_sid, .pid = pid, .root_fd = -1, .deliver = deliver, .owner = owner};
	if (getenv("LEAKMOND_DEBUGINFO_PATH") &&
	    !(c->debug_path = strdup(getenv("LEAKMOND_DEBUGINFO_PATH")))) {
		svc.n_clients--;
		return -ENOMEM;
	}
	/* the helper answers later; the lookups queued behind it wait for it there */
	r = send_request(M_NEW, c->sid, &q, sizeof(q), c->debug_path, 0, false);
	if (r < 0) {
		symsvc_close(svc.next_sid, 0);
		return r;
	}
	*ret_sid = svc.next_sid;
	*ret_gen = svc.gen;
	return 0;
}

void symsvc_close(uint32_t sid, uint32_t gen)
{
	for (size_t i = 0; i < svc.n_clients; i++) {
		struct client *c = &svc.clients[i];

		if (c->sid != sid)
			continue;
		if (c->root_fd >= 0)
			(void) close(c->root_fd);
		free(c->maps);
		free(c->debug_path);
		*c = svc.clients[--svc.n_clients];
		break;
	}
	if (gen && gen == symsvc_generation()) {
		msg_id = 0;
		(void) out_msg(M_FREE, sid, 0, NULL, 0, NULL, 0, -1);
	}
}

int symsvc_reset(uint32_t sid, uint32_t gen)
{
	if (gen == 0 || gen != symsvc_generation())
		return -ESTALE;
	return send_request(M_RESET, sid, NULL, 0, NULL, 0, false);
}

int symsvc_request(uint32_t sid, uint32_t gen, uint64_t pc, bool is_return_address)
{
	struct lookup_req q = {.pc = pc, .is_return_address = is_return_address};

	if (gen == 0 || gen != symsvc_generation())
		return -ESTALE;
	return send_request(M_LOOKUP, sid, &q, sizeof(q), NULL, pc, is_return_address);
}

int symsvc_stats(uint32_t sid, uint32_t gen, struct sym_stats *ret)
{
	int r;

	if (gen == 0 || gen != symsvc_generation())
		return -ESTALE;
	svc.last_stats_sid = 0;
	r = send_request(M_STATS, sid, NULL, 0, NULL, 0, false);
	if (r == 0)
		r = symsvc_flush(2 * svc.budget_ms);
	if (r == 0 && svc.last_stats_sid != sid)
		r = -EIO;
	if (r == 0)
		*ret = svc.last_stats;
	return r;
}
