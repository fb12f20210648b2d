/* timeline.c - samples and alerts over time, from log records. See timeline.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "output/timeline.h"

void timeline_init(struct timeline *tl)
{
	memset(tl, 0, sizeof(*tl));
}

void timeline_done(struct timeline *tl)
{
	for (size_t i = 0; i < tl->n_alerts; i++)
		free(tl->alerts[i].message);
	free(tl->alerts);
	free(tl->points);
	timeline_init(tl);
}

static bool get_num(json_object *o, const char *key, double *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return false;
	*ret = json_object_get_double(v);
	return true;
}

static bool get_u64(json_object *o, const char *key, uint64_t *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v || !json_object_is_type(v, json_type_int))
		return false;
	*ret = json_object_get_uint64(v);
	return true;
}

static int add_sample(struct timeline *tl, json_object *rec, double ts)
{
	struct timeline_point p = { .ts = ts };

	if (!get_u64(rec, "rss_bytes", &p.rss_bytes))
		return 0;
	p.has_live = get_u64(rec, "live_bytes", &p.live_bytes);
	if (tl->n > 0 && !(ts > tl->points[tl->n - 1].ts))
		return 0;
	if (!tl->points) {
		tl->points = calloc(TIMELINE_CAP, sizeof(*tl->points));
		if (!tl->points)
			return -ENOMEM;
	}
	if (tl->n == TIMELINE_CAP) {
		size_t j = 0;

		for (size_t i = 0; i < tl->n; i += 2)
			tl->points[j++] = tl->points[i];
		tl->n = j;
		tl->decimations++;
	}
	tl->points[tl->n++] = p;
	return 1;
}

static int add_alert(struct timeline *tl, json_object *rec, double ts)
{
	json_object *kind, *msg;
	struct timeline_alert *a;

	if (!json_object_object_get_ex(rec, "kind", &kind) || !json_object_is_type(kind, json_type_string) ||
	    !json_object_object_get_ex(rec, "message", &msg) || !json_object_is_type(msg, json_type_string))
		return 0;
	if (tl->n_alerts == TIMELINE_ALERTS_MAX) {
		tl->alerts_dropped++;
		return 0;
	}
	if (!tl->alerts) {
		tl->alerts = calloc(TIMELINE_ALERTS_MAX, sizeof(*tl->alerts));
		if (!tl->alerts)
			return -ENOMEM;
	}
	a = &tl->alerts[tl->n_alerts];
	a->message = strdup(json_object_get_string(msg));
	if (!a->message)
		return -ENOMEM;
	a->ts = ts;
	snprintf(a->kind, sizeof(a->kind), "%s", json_object_get_string(kind));
	tl->n_alerts++;
	return 1;
}

int timeline_add_record(struct timeline *tl, json_object *rec)
{
	json_object *type;
	const char *t;
	double ts;

	if (!rec || !json_object_object_get_ex(rec, "type", &type) || !get_num(rec, "ts", &ts))
		return 0;
	t = json_object_get_string(type);
	if (!t)
		return 0;
	if (strcmp(t, "sample") == 0)
		return add_sample(tl, rec, ts);
	if (strcmp(t, "alert") == 0)
		return add_alert(tl, rec, ts);
	if (strcmp(t, "attach") == 0)
		timeline_done(tl);
	return 0;
}

json_object *timeline_to_json(const struct timeline *tl)
{
	json_object *o = json_object_new_object(), *samples, *alerts;

	if (!o)
		return NULL;
	samples = json_object_new_array_ext((int)tl->n);
	alerts = json_object_new_array();
	json_object_object_add(o, "samples", samples);
	json_object_object_add(o, "alerts", alerts);
	json_object_object_add(o, "decimations", json_object_new_uint64(tl->decimations));
	json_object_object_add(o, "alerts_dropped", json_object_new_uint64(tl->alerts_dropped));
	if (!samples || !alerts)
		return o;
	for (size_t i = 0; i < tl->n; i++) {
		const struct timeline_point *p = &tl->points[i];
		json_object *row = json_object_new_array_ext(3);

		if (!row)
			break;
		json_object_array_add(row, json_object_new_double(p->ts));
		json_object_array_add(row, json_object_new_uint64(p->rss_bytes));
		json_object_array_add(row, p->has_live ? json_object_new_uint64(p->live_bytes) : NULL);
		json_object_array_add(samples, row);
	}
	for (size_t i = 0; i < tl->n_alerts; i++) {
		const struct timeline_alert *a = &tl->alerts[i];
		json_object *ao = json_object_new_object();

		if (!ao)
			break;
		json_object_object_add(ao, "ts", json_object_new_double(a->ts));
		json_object_object_add(ao, "kind", json_object_new_string(a->kind));
		json_object_object_add(ao, "message", json_object_new_string(a->message));
		json_object_array_add(alerts, ao);
	}
	return o;
}

ssize_t timeline_read_log(FILE *f, const pid_t *pids, size_t n, struct timeline *ret,
			  size_t *ret_bad_lines)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, bad = 0;
	ssize_t len, kept = 0;

	for (size_t i = 0; i < n; i++)
		timeline_init(&ret[i]);
	errno = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		json_object *rec, *pid;

		if (len == 0 || line[0] == '\n')
			continue;
		rec = json_tokener_parse(line);
		if (!rec || !json_object_is_type(rec, json_type_object) ||
		    !json_object_object_get_ex(rec, "pid", &pid)) {
			bad++;
			json_object_put(rec);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			int r;

			if (pids[i] != (pid_t)json_object_get_int(pid))
				continue;
			r = timeline_add_record(&ret[i], rec);
			if (r < 0) {
				json_object_put(rec);
				return r;
			}
			kept += r;
		}
		json_object_put(rec);
	}
	if (ferror(f))
		return -EIO;
	if (ret_bad_lines)
		*ret_bad_lines = bad;
	return kept;
}
