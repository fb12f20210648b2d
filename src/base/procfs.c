/* procfs.c - parsers of /proc text (pure), and the one reader of /proc files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/procfs.h"
#include "base/util.h"

/* Find "\nKEY:" or "KEY:" at the very start; returns the value text after the colon, or NULL. */
static const char *find_key(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':')
			return p + klen + 1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* Parse an unsigned decimal that must be followed by blank, newline or end. */
static int parse_u64_field(const char *p, uint64_t *ret, const char **ret_end)
{
	char *end;
	unsigned long long v;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return -EBADMSG;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno)
		return -EBADMSG;
	*ret = v;
	if (ret_end)
		*ret_end = end;
	return 0;
}

static int kib_field(const char *text, const char *key, uint64_t *ret, bool *ret_found)
{
	const char *v = find_key(text, key), *end;
	uint64_t kib;

	if (!v) {
		*ret_found = false;
		*ret = 0;
		return 0;
	}
	if (parse_u64_field(v, &kib, &end) < 0 || strncmp(end, " kB", 3) != 0)
		return -EBADMSG;
	if (kib > UINT64_MAX / 1024)
		return -EBADMSG;
	*ret = kib * 1024;
	*ret_found = true;
	return 0;
}

static int int_field(const char *text, const char *key, int64_t max, int64_t *ret)
{
	const char *v = find_key(text, key), *end;
	uint64_t n;

	if (!v || parse_u64_field(v, &n, &end) < 0)
		return -EBADMSG;
	if (*end != '\n' && *end != '\0' && *end != ' ' && *end != '\t')
		return -EBADMSG;
	if (n > (uint64_t)max)
		return -EBADMSG;
	*ret = (int64_t)n;
	return 0;
}

int procfs_parse_status(const char *text, struct proc_status *ret)
{
	const char *name, *state, *eol;
	int64_t v;
	bool found, any;
	size_t len;

	if (!text)
		return -EBADMSG;
	memset(ret, 0, sizeof(*ret));

	name = find_key(text, "Name");
	if (!name)
		return -EBADMSG;
	while (*name == '\t' || *name == ' ')
		name++;
	eol = strchr(name, '\n');
	if (!eol)
		return -EBADMSG; /* truncated inside the first line */
	len = (size_t)(eol - name);
	if (len == 0 || len >= sizeof(ret->name))
		return -EBADMSG;
	memcpy(ret->name, name, len);

	state = find_key(text, "State");
	if (!state)
		return -EBADMSG;
	while (*state == '\t' || *state == ' ')
		state++;
	if (!strchr("RSDTtZXIWPKx", *state) || !*state)
		return -EBADMSG;
	ret->state = *state;

	if (int_field(text, "Tgid", INT32_MAX, &v) < 0)
		return -EBADMSG;
	ret->tgid = (pid_t)v;
	if (int_field(text, "PPid", INT32_MAX, &v) < 0)
		return -EBADMSG;
	ret->ppid = (pid_t)v;
	if (int_field(text, "TracerPid", INT32_MAX, &v) < 0)
		return -EBADMSG;
	ret->tracer_pid = (pid_t)v;
	if (int_field(text, "Threads", INT32_MAX, &v) < 0)
		return -EBADMSG;
	ret->threads = (unsigned)v;

	if (kib_field(text, "VmRSS", &ret->vm_rss, &found) < 0)
		return -EBADMSG;
	ret->has_mm = found;
	any = found;
	if (kib_field(text, "RssAnon", &ret->rss_anon, &found) < 0)
		return -EBADMSG;
	if (any && !found)
		return -EBADMSG; /* a status with VmRSS always has RssAnon: truncated */
	if (kib_field(text, "RssFile", &ret->rss_file, &found) < 0)
		return -EBADMSG;
	if (any && !found)
		return -EBADMSG;
	if (kib_field(text, "VmSwap", &ret->vm_swap, &found) < 0)
		return -EBADMSG;
	if (any && !found)
		return -EBADMSG;
	return 0;
}

int procfs_parse_stat(const char *text, char *ret_state, unsigned *ret_flags)
{
	const char *p;
	unsigned long long flags;
	char state;

	if (!text)
		return -EBADMSG;
	p = strrchr(text, ')');
	if (!p || !strchr(text, '('))
		return -EBADMSG;
	/* ") S ppid pgrp session tty_nr tpgid flags" */
	if (sscanf(p + 1, " %c %*d %*d %*d %*d %*d %llu", &state, &flags) != 2)
		return -EBADMSG;
	if (!strchr("RSDTtZXIWPKx", state))
		return -EBADMSG;
	*ret_state = state;
	*ret_flags = (unsigned)flags;
	return 0;
}

int procfs_parse_stat_cpu(const char *text, uint64_t *ret_ticks)
{
	unsigned long long utime, stime;
	const char *p;

	if (!text)
		return -EBADMSG;
	p = strrchr(text, ')');
	if (!p || !strchr(text, '('))
		return -EBADMSG;
	/* ") S ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime" */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
		   &stime) != 2)
		return -EBADMSG;
	*ret_ticks = utime + stime;
	return 0;
}

static int hex_u64(const char **pp, char stop, uint64_t *ret)
{
	const char *p = *pp;
	uint64_t v = 0;
	int n = 0;

	for (; *p && *p != stop; p++, n++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return -EBADMSG;
		if (n >= 16)
			return -EBADMSG;
		v = v << 4 | (uint64_t)d;
	}
	if (n == 0 || *p != stop)
		return -EBADMSG;
	*pp = p + 1;
	*ret = v;
	return 0;
}

int procfs_maps_next(const char **cursor, struct proc_map *ret)
{
	const char *p = *cursor, *eol, *q;
	uint64_t major, minor;

	if (!p || !*p)
		return 0;
	eol = strchr(p, '\n');
	if (!eol)
		eol = p + strlen(p);
	memset(ret, 0, sizeof(*ret));

	if (hex_u64(&p, '-', &ret->start) < 0 || hex_u64(&p, ' ', &ret->end) < 0 ||
	    ret->end < ret->start)
		return -EBADMSG;
	if (eol - p < 5 || p[4] != ' ')
		return -EBADMSG;
	for (int i = 0; i < 4; i++) {
		if (!strchr("rwxps-", p[i]))
			return -EBADMSG;
		ret->perms[i] = p[i];
	}
	p += 5;
	if (hex_u64(&p, ' ', &ret->offset) < 0)
		return -EBADMSG;
	/* dev is "maj:min" in hex */
	if (hex_u64(&p, ':', &major) < 0 || hex_u64(&p, ' ', &minor) < 0 || major > UINT32_MAX ||
	    minor > UINT32_MAX)
		return -EBADMSG;
	ret->dev_major = (uint32_t)major;
	ret->dev_minor = (uint32_t)minor;
	if (p > eol)
		return -EBADMSG;
	if (*p < '0' || *p > '9')
		return -EBADMSG;
	ret->inode = strtoull(p, (char **)&q, 10);
	if (q > eol || (*q != ' ' && *q != '\n' && *q != '\0'))
		return -EBADMSG;
	while (q < eol && *q == ' ')
		q++;
	if (q < eol) {
		ret->path = q;
		ret->path_len = (size_t)(eol - q);
	}
	*cursor = *eol ? eol + 1 : eol;
	return 1;
}

int procfs_maps_next_valid(const char **cursor, struct proc_map *ret)
{
	int r;

	while ((r = procfs_maps_next(cursor, ret)) < 0) {
		const char *nl = strchr(*cursor, '\n');

		if (!nl)
			return 0;
		*cursor = nl + 1;
	}
	return r;
}

int procfs_maps_heap(const char *text, uint64_t *ret_bytes)
{
	const char *cursor = text;
	struct proc_map m;
	uint64_t total = 0;
	int r;

	if (!text)
		return -EBADMSG;
	while ((r = procfs_maps_next(&cursor, &m)) > 0) {
		if (m.path && m.path_len == 6 && memcmp(m.path, "[heap]", 6) == 0)
			total += m.end - m.start;
	}
	if (r < 0)
		return r;
	*ret_bytes = total;
	return 0;
}

ssize_t procfs_read_at(int dirfd, const char *name, char **ret_text)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t cap = 4096, len = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb;

			if (cap >= PROCFS_TEXT_MAX)
				return -EFBIG;
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret_text = steal_ptr(&buf);
	return (ssize_t)len;
}
