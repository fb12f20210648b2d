/* replay.c - the replay backend. See replay.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/replay.h"
#include "heap/stacks.h"

enum item_kind { ITEM_EVENT, ITEM_STACK, ITEM_NOTE };

struct item {
	enum item_kind kind;
	pid_t pid;
	struct alloc_event ev;
	enum backend_note note;
	int64_t a;
	uint64_t pcs[STACKS_DEPTH_MAX];
	size_t n_pcs;
};

struct rproc {
	pid_t pid;
	struct heap *heap;
	uint64_t events;
	uint32_t next_stack; /* stack id for the next event (0: none) */
	bool is_hooked;
	struct rproc *next;
};

struct refusal {
	pid_t pid;
	int err;
};

struct replay {
	struct backend base;
	backend_note_fn note;
	void *userdata;
	struct item *items;
	size_t n_items, cap_items, head;
	struct rproc *procs;
	struct refusal refusals[16];
	size_t n_refusals;
};

static struct replay *of(struct backend *b)
{
	return b && b->ops == &backend_replay ? (struct replay *)b : NULL;
}

static struct rproc *find(struct replay *r, pid_t pid)
{
	for (struct rproc *p = r->procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

static void drop(struct replay *r, struct rproc *p)
{
	for (struct rproc **pp = &r->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	free(p);
}

static struct item *push(struct replay *r)
{
	if (r->n_items == r->cap_items) {
		size_t cap = r->cap_items ? r->cap_items * 2 : 64;
		struct item *n = realloc(r->items, cap * sizeof(*n));

		if (!n)
			return NULL;
		r->items = n;
		r->cap_items = cap;
	}
	memset(&r->items[r->n_items], 0, sizeof(r->items[0]));
	return &r->items[r->n_items++];
}

int replay_push_event(struct backend *b, pid_t pid, const struct alloc_event *ev)
{
	struct replay *r = of(b);
	struct item *it;

	if (!r)
		return -EINVAL;
	it = push(r);
	if (!it)
		return -ENOMEM;
	it->kind = ITEM_EVENT;
	it->pid = pid;
	it->ev = *ev;
	return 0;
}

int replay_push_stack(struct backend *b, pid_t pid, const uint64_t *pcs, size_t n)
{
	struct replay *r = of(b);
	struct item *it;

	if (!r || n > STACKS_DEPTH_MAX)
		return -EINVAL;
	it = push(r);
	if (!it)
		return -ENOMEM;
	it->kind = ITEM_STACK;
	it->pid = pid;
	memcpy(it->pcs, pcs, n * sizeof(pcs[0]));
	it->n_pcs = n;
	return 0;
}

int replay_push_note(struct backend *b, pid_t pid, enum backend_note note, int64_t a)
{
	struct replay *r = of(b);
	struct item *it;

	if (!r)
		return -EINVAL;
	it = push(r);
	if (!it)
		return -ENOMEM;
	it->kind = ITEM_NOTE;
	it->pid = pid;
	it->note = note;
	it->a = a;
	return 0;
}

int replay_refuse(struct backend *b, pid_t pid, int err)
{
	struct replay *r = of(b);

	if (!r || r->n_refusals == sizeof(r->refusals) / sizeof(r->refusals[0]))
		return -EINVAL;
	r->refusals[r->n_refusals].pid = pid;
	r->refusals[r->n_refusals].err = err;
	r->n_refusals++;
	return 0;
}

static struct backend *rp_create(const struct backend_config *cfg)
{
	struct replay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->base.ops = &backend_replay;
	r->note = cfg->note;
	r->userdata = cfg->userdata;
	return &r->base;
}

static struct backend *rp_destroy(struct backend *b)
{
	struct replay *r = of(b);

	if (!r)
		return NULL;
	while (r->procs)
		drop(r, r->procs);
	free(r->items);
	free(r);
	return NULL;
}

static int rp_attach(struct backend *b, pid_t pid, struct heap *heap, struct backend_proc **ret,
		     char *err, size_t errlen)
{
	struct replay *r = of(b);
	struct rproc *p;

	for (size_t i = 0; i < r->n_refusals; i++) {
		if (r->refusals[i].pid == pid) {
			int e = r->refusals[i].err;

			r->refusals[i] = r->refusals[--r->n_refusals];
			snprintf(err, errlen, "pid %d: refused by the replay script (%s)", (int)pid,
				 strerror(-e));
			return e;
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "pid %d: out of memory", (int)pid);
		return -ENOMEM;
	}
	p->pid = pid;
	p->heap = heap;
	p->is_hooked = true;
	p->next = r->procs;
	r->procs = p;
	*ret = (struct backend_proc *)p;
	return 0;
}

static int rp_detach(struct backend *b, struct backend_proc *bp)
{
	drop(of(b), (struct rproc *)bp);
	return 0;
}

static int rp_poll_fd(const struct backend *b)
{
	(void)b;
	return -1;
}

static int rp_dispatch(struct backend *b, int max)
{
	struct replay *r = of(b);
	int n = 0;

	while (n < max && r->head < r->n_items) {
		struct item *it = &r->items[r->head++];
		struct rproc *p = find(r, it->pid);

		n++;
		if (!p)
			continue;
		switch (it->kind) {
		case ITEM_STACK:
			p->next_stack = heap_intern(p->heap, it->pcs, it->n_pcs);
			break;
		case ITEM_EVENT:
			if (p->next_stack)
				it->ev.stack_id = p->next_stack;
			p->next_stack = 0;
			heap_apply(p->heap, &it->ev);
			p->events++;
			break;
		case ITEM_NOTE:
			if (it->note == BACKEND_EXECED)
				(void)heap_reset(p->heap);
			if (it->note == BACKEND_EXITED || it->note == BACKEND_RELEASED)
				drop(r, p);
			if (r->note)
				r->note(r->userdata, it->pid, it->note, it->a);
			break;
		}
	}
	if (r->head == r->n_items)
		r->head = r->n_items = 0;
	return n;
}

static void rp_get_stats(const struct backend_proc *bp, struct backend_stats *ret)
{
	const struct rproc *p = (const struct rproc *)bp;

	memset(ret, 0, sizeof(*ret));
	ret->events = p->events;
	ret->threads = ret->threads_seen = 1;
	ret->hooks = ALLOC_FN_MAX;
	ret->is_hooked = p->is_hooked;
}

static bool rp_owns(const struct backend *b, pid_t pid)
{
	(void)b;
	(void)pid;
	return false;
}

const struct backend_ops backend_replay = {
	.name = "replay",
	.is_ptrace = false,
	.create = rp_create,
	.destroy = rp_destroy,
	.attach = rp_attach,
	.attach_held = rp_attach,
	.detach = rp_detach,
	.poll_fd = rp_poll_fd,
	.dispatch = rp_dispatch,
	.get_stats = rp_get_stats,
	.owns = rp_owns,
};
