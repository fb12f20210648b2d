/* loop.c - the event loop. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/loop.h"

struct watch {
	int fd;
	loop_handler_fn fn;
	void *userdata;
	struct watch *next;
};

struct loop {
	int epfd;
	struct watch *watches;
	bool is_quitting;
	int quit_code;
};

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

struct loop *loop_free(struct loop *l)
{
	if (!l)
		return NULL;
	while (l->watches) {
		struct watch *w = l->watches;

		l->watches = w->next;
		free(w);
	}
	(void)close(l->epfd);
	free(l);
	return NULL;
}

int loop_add(struct loop *l, int fd, loop_handler_fn fn, void *userdata)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct watch *w;

	for (w = l->watches; w; w = w->next)
		if (w->fd == fd)
			return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->fn = fn;
	w->userdata = userdata;
	ev.data.fd = fd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;

		free(w);
		return r;
	}
	w->next = l->watches;
	l->watches = w;
	return 0;
}

int loop_remove(struct loop *l, int fd)
{
	for (struct watch **pw = &l->watches; *pw; pw = &(*pw)->next) {
		struct watch *w = *pw;

		if (w->fd != fd)
			continue;
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		*pw = w->next;
		free(w);
		return 0;
	}
	return -ENOENT;
}

void loop_quit(struct loop *l, int code)
{
	l->is_quitting = true;
	l->quit_code = code;
}

int loop_run(struct loop *l)
{
	l->is_quitting = false;
	while (!l->is_quitting) {
		struct epoll_event ev;
		struct watch *w;
		int n, r;

		/* One event per wait: the handler may remove any watch, and no stale event of an
		 * already-handled batch can then reach freed state. */
		n = epoll_wait(l->epfd, &ev, 1, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			continue;
		for (w = l->watches; w; w = w->next)
			if (w->fd == ev.data.fd)
				break;
		if (!w)
			continue;
		r = w->fn(w->fd, ev.events, w->userdata);
		if (r < 0)
			return r;
	}
	return l->quit_code;
}
