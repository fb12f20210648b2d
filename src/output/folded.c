/* folded.c - folded stacks for flame graphs. See folded.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"
#include "base/util.h"
#include "output/folded.h"
#include "output/jsonget.h"

struct line {
	char *stack;
	uint64_t weight;
};

struct lines {
	struct line *v;
	size_t n, cap;
};

/* Append s to f's stack text with ';' made harmless and control characters escaped. */
static void put_frame(FILE *f, const char *s, bool is_first)
{
	_cleanup_free_ char *safe = escape_text_dup(s);

	if (!is_first)
		fputc(';', f);
	for (s = safe ? safe : "?"; *s; s++)
		fputc(*s == ';' ? ':' : *s, f);
}

static void put_frame_of(FILE *f, json_object *fr, bool is_first)
{
	const char *fn = jget_str(fr, "function"), *mod = jbasename(jget_str(fr, "module"));
	char buf[512];

	if (fn && *fn) {
		put_frame(f, fn, is_first);
		return;
	}
	snprintf(buf, sizeof(buf), "[%s]", mod && *mod ? mod : "unknown");
	put_frame(f, buf, is_first);
}

static int add_line(struct lines *l, char *stack, uint64_t weight)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct line *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct line){ .stack = stack, .weight = weight };
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->stack, ((const struct line *)b)->stack);
}

static int target_lines(struct lines *l, json_object *t, bool with_root, enum folded_weight w)
{
	json_object *prof = jget(t, "profile"), *frames = jget_arr(prof, "frames");
	json_object *sites = jget_arr(prof, "sites");

	for (size_t i = 0; i < jlen(sites); i++) {
		json_object *site = jidx(sites, i), *refs = jget_arr(site, "frames");
		uint64_t weight = w == FOLDED_BLOCKS ? jget_u64(site, "live_blocks")
						     : jget_u64(site, "live_bytes");
		size_t n = jlen(refs);
		char *text = NULL;
		size_t len = 0;
		FILE *f;
		bool is_first = true;

		if (weight == 0)
			continue;
		f = open_memstream(&text, &len);
		if (!f)
			return -ENOMEM;
		if (with_root) {
			char root[64];

			snprintf(root, sizeof(root), "%s (pid %d)",
				 jget_str(t, "comm") ? jget_str(t, "comm") : "?",
				 (int)jget_num(t, "pid", 0));
			put_frame(f, root, true);
			is_first = false;
		}
		if (n == 0) {
			char what[64];

			if (jget_bool(site, "other"))
				snprintf(what, sizeof(what), "[%" PRIu64 " other sites]",
					 jget_u64(prof, "omitted_sites"));
			else
				snprintf(what, sizeof(what), "[no stack]");
			put_frame(f, what, is_first);
		}
		/* outermost first: the refs are innermost first */
		for (size_t k = n; k > 0; k--) {
			json_object *ref = jidx(refs, k - 1);
			json_object *fr = ref && json_object_is_type(ref, json_type_int)
						  ? jidx(frames, (size_t)json_object_get_int(ref))
						  : NULL;

			put_frame_of(f, fr, is_first);
			is_first = false;
		}
		if (fclose(f) != 0 || !text) {
			free(text);
			return -ENOMEM;
		}
		if (add_line(l, text, weight) < 0) {
			free(text);
			return -ENOMEM;
		}
	}
	return 0;
}

int folded_write(FILE *f, json_object *report, enum folded_weight weight)
{
	json_object *targets = jget_arr(report, "targets");
	struct lines l = { 0 };
	int r = 0, count = 0;

	for (size_t i = 0; r == 0 && i < jlen(targets); i++)
		r = target_lines(&l, jidx(targets, i), jlen(targets) > 1, weight);
	if (r == 0) {
		if (l.n > 0) /* no sites (rss mode): no array, and qsort must not get NULL */
			qsort(l.v, l.n, sizeof(*l.v), cmp_line);
		for (size_t i = 0; i < l.n;) {
			uint64_t sum = 0;
			size_t k = i;

			for (; k < l.n && strcmp(l.v[k].stack, l.v[i].stack) == 0; k++)
				sum += l.v[k].weight;
			if (fprintf(f, "%s %" PRIu64 "\n", l.v[i].stack, sum) < 0)
				r = -EIO;
			count++;
			i = k;
		}
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].stack);
	free(l.v);
	return r < 0 ? r : count;
}
