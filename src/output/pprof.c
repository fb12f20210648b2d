/* pprof.c - gzip'd profile.proto from the report's profile. See pprof.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "output/jsonget.h"
#include "output/pprof.h"
#include "output/pprof.pb-c.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;

/* A string -> index map (open addressing); keys are copies. */
struct smap {
	char **keys;
	uint64_t *vals;
	size_t n, cap;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void smap_free(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
}

static int smap_grow(struct smap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256;
	char **keys = calloc(cap, sizeof(*keys));
	uint64_t *vals = calloc(cap, sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t k;

		if (!m->keys[i])
			continue;
		for (k = hash_str(m->keys[i]) & (cap - 1); keys[k]; k = (k + 1) & (cap - 1))
			;
		keys[k] = m->keys[i];
		vals[k] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

/* The slot of key; *ret_is_new when it was added (its value is then the caller's to set);
 * *ret_key (may be NULL) the map's copy of the key, valid until smap_free(). */
static int smap_get(struct smap *m, const char *key, uint64_t **ret_val, bool *ret_is_new,
		    const char **ret_key)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap && smap_grow(m) < 0)
		return -ENOMEM;
	for (i = hash_str(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (strcmp(m->keys[i], key) == 0) {
			*ret_val = &m->vals[i];
			*ret_is_new = false;
			if (ret_key)
				*ret_key = m->keys[i];
			return 0;
		}
	m->keys[i] = strdup(key);
	if (!m->keys[i])
		return -ENOMEM;
	m->n++;
	*ret_val = &m->vals[i];
	*ret_is_new = true;
	if (ret_key)
		*ret_key = m->keys[i];
	return 0;
}

/* A growable array of pointers to messages. */
struct parr {
	void **v;
	size_t n, cap;
};

/* Add p (not NULL); on failure p stays the caller's. */
static int parr_add(struct parr *a, void *p)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		void **v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = p;
	return 0;
}

struct builder {
	struct smap strings, functions, mappings, locations;
	struct parr string_table; /* char * (borrowed from the smap keys) */
	struct parr samples, sample_mem, mapping_list, location_list, function_list;
	struct parr ranges; /* per mapping: uint64_t[2] min, max pc */
	bool has_many;
	bool is_oom; /* an allocation failed: the result is abandoned */
};

/* The index of s in the string table (added when new); 0 ("") on out-of-memory. */
static int64_t str_index(struct builder *b, const char *s)
{
	const char *key;
	uint64_t *v;
	bool is_new;

	if (smap_get(&b->strings, s ? s : "", &v, &is_new, &key) < 0) {
		b->is_oom = true;
		return 0;
	}
	if (is_new) {
		*v = b->string_table.n;
		if (parr_add(&b->string_table, (void *)key) < 0) {
			b->is_oom = true;
			*v = 0;
		}
	}
	return (int64_t)*v;
}

/* Keep p (a message) in a; on failure free it and mark the builder. Returns p or NULL. */
static void *keep(struct builder *b, struct parr *a, void *p)
{
	if (!p || parr_add(a, p) < 0) {
		free(p);
		b->is_oom = true;
		return NULL;
	}
	return p;
}

static uint64_t function_id(struct builder *b, const char *name, const char *file)
{
	char key[8192];
	uint64_t *v;
	bool is_new;
	Function *fn;

	snprintf(key, sizeof(key), "%s\037%s", name, file ? file : "");
	if (smap_get(&b->functions, key, &v, &is_new, NULL) < 0) {
		b->is_oom = true;
		return 0;
	}
	if (!is_new)
		return *v;
	fn = keep(b, &b->function_list, malloc(sizeof(*fn)));
	if (!fn)
		return 0;
	perftools__profiles__function__init(fn);
	fn->id = b->function_list.n;
	fn->name = str_index(b, name);
	fn->system_name = fn->name;
	fn->filename = str_index(b, file);
	*v = fn->id;
	return *v;
}

static uint64_t mapping_id(struct builder *b, size_t target, const char *module,
			   const char *build_id, uint64_t pc)
{
	char key[8192];
	uint64_t *v, *range;
	bool is_new;
	Mapping *m;

	if (!module)
		return 0;
	snprintf(key, sizeof(key), "%zu\037%s\037%s", target, module, build_id ? build_id : "");
	if (smap_get(&b->mappings, key, &v, &is_new, NULL) < 0) {
		b->is_oom = true;
		return 0;
	}
	if (!is_new) {
		range = b->ranges.v[*v - 1];
		if (pc < range[0])
			range[0] = pc;
		if (pc > range[1])
			range[1] = pc;
		return *v;
	}
	range = keep(b, &b->ranges, malloc(2 * sizeof(*range)));
	m = range ? keep(b, &b->mapping_list, malloc(sizeof(*m))) : NULL;
	if (!m)
		return 0;
	perftools__profiles__mapping__init(m);
	m->id = b->mapping_list.n;
	m->filename = str_index(b, module);
	m->build_id = str_index(b, build_id);
	m->has_functions = m->has_filenames = m->has_line_numbers = m->has_inline_frames = true;
	range[0] = range[1] = pc;
	*v = m->id;
	return *v;
}

/* A Location for frames[first .. first + n) (one pc and its inline chain) of target t. */
static uint64_t location_id(struct builder *b, size_t target, json_object *frames, size_t first,
			    size_t n)
{
	json_object *fr0 = jidx(frames, first);
	const char *pcs = jget_str(fr0, "pc");
	uint64_t pc = pcs ? strtoull(pcs, NULL, 16) : 0, *v;
	char key[96];
	bool is_new;
	Location *loc;

	snprintf(key, sizeof(key), "%zu:%zu:%zu", target, first, n);
	if (smap_get(&b->locations, key, &v, &is_new, NULL) < 0) {
		b->is_oom = true;
		return 0;
	}
	if (!is_new)
		return *v;
	loc = keep(b, &b->location_list, malloc(sizeof(*loc)));
	if (!loc)
		return 0;
	perftools__profiles__location__init(loc);
	loc->id = b->location_list.n;
	loc->address = pc;
	loc->mapping_id = mapping_id(b, target, jget_str(fr0, "module"), jget_str(fr0, "build_id"), pc);
	loc->line = calloc(n, sizeof(*loc->line));
	if (!loc->line) {
		b->is_oom = true;
		return 0;
	}
	for (size_t k = 0; k < n; k++) {
		json_object *fr = jidx(frames, first + k);
		const char *fn = jget_str(fr, "function");
		Line *line;

		if (!fn)
			continue; /* an unknown function: the address says all there is */
		line = malloc(sizeof(*line));
		if (!line) {
			b->is_oom = true;
			return 0;
		}
		perftools__profiles__line__init(line);
		line->function_id = function_id(b, fn, jget_str(fr, "file"));
		line->line = (int64_t)jget_num(fr, "line", 0);
		loc->line[loc->n_line++] = line;
	}
	*v = loc->id;
	return *v;
}

/* A Location standing for what has no frames ("[no stack]", "[N other sites]"). */
static uint64_t pseudo_location(struct builder *b, const char *name)
{
	char key[96];
	uint64_t *v;
	bool is_new;
	Location *loc;
	Line *line;

	snprintf(key, sizeof(key), "pseudo:%s", name);
	if (smap_get(&b->locations, key, &v, &is_new, NULL) < 0) {
		b->is_oom = true;
		return 0;
	}
	if (!is_new)
		return *v;
	loc = keep(b, &b->location_list, malloc(sizeof(*loc)));
	if (!loc)
		return 0;
	perftools__profiles__location__init(loc);
	loc->id = b->location_list.n;
	loc->line = malloc(sizeof(*loc->line));
	line = loc->line ? malloc(sizeof(*line)) : NULL;
	if (!line) {
		b->is_oom = true;
		return 0;
	}
	perftools__profiles__line__init(line);
	line->function_id = function_id(b, name, NULL);
	loc->line[0] = line;
	loc->n_line = 1;
	*v = loc->id;
	return *v;
}

static Label *new_label(struct builder *b, const char *key, const char *str, int64_t num)
{
	Label *l = malloc(sizeof(*l));

	if (!l)
		return NULL;
	perftools__profiles__label__init(l);
	l->key = str_index(b, key);
	if (str)
		l->str = str_index(b, str);
	else
		l->num = num;
	return l;
}

static int add_sample(struct builder *b, size_t target, json_object *t, json_object *prof,
		      json_object *site)
{
	json_object *frames = jget_arr(prof, "frames"), *refs = jget_arr(site, "frames");
	size_t n = jlen(refs);
	Sample *s = keep(b, &b->samples, malloc(sizeof(*s)));

	if (!s)
		return -ENOMEM;
	perftools__profiles__sample__init(s);
	s->location_id = calloc(n ? n : 1, sizeof(*s->location_id));
	s->value = calloc(2, sizeof(*s->value));
	s->label = calloc(3, sizeof(*s->label));
	if (!s->location_id || !s->value || !s->label)
		return -ENOMEM;
	s->n_value = 2;
	s->value[0] = (int64_t)jget_u64(site, "live_blocks");
	s->value[1] = (int64_t)jget_u64(site, "live_bytes");
	for (size_t k = 0; k < n;) {
		json_object *ref = jidx(refs, k);
		size_t first = ref && json_object_is_type(ref, json_type_int) ? (size_t)json_object_get_int(ref)
									     : SIZE_MAX;
		const char *pc = jget_str(jidx(frames, first), "pc");
		size_t run = 1;
		uint64_t id;

		/* one pc's inline chain: consecutive refs to consecutive frames of the same pc */
		while (k + run < n && pc) {
			json_object *next = jidx(refs, k + run);
			const char *npc;

			if (!next || !json_object_is_type(next, json_type_int) ||
			    (size_t)json_object_get_int(next) != first + run)
				break;
			npc = jget_str(jidx(frames, first + run), "pc");
			if (!npc || strcmp(npc, pc) != 0)
				break;
			run++;
		}
		id = first == SIZE_MAX ? 0 : location_id(b, target, frames, first, run);
		if (id)
			s->location_id[s->n_location_id++] = id;
		k += run;
	}
	if (n == 0) {
		char what[64];

		if (jget_bool(site, "other"))
			snprintf(what, sizeof(what), "[%llu other sites]",
				 (unsigned long long)jget_u64(prof, "omitted_sites"));
		else
			snprintf(what, sizeof(what), "[no stack]");
		s->location_id[0] = pseudo_location(b, what);
		s->n_location_id = s->location_id[0] != 0;
	}
	s->label[s->n_label++] = new_label(b, "allocator", jget_str(site, "allocator"), 0);
	if (b->has_many) {
		s->label[s->n_label++] = new_label(b, "pid", NULL, (int64_t)jget_num(t, "pid", 0));
		s->label[s->n_label++] = new_label(b, "comm", jget_str(t, "comm") ? jget_str(t, "comm") : "?", 0);
	}
	for (size_t i = 0; i < s->n_label; i++)
		if (!s->label[i])
			return -ENOMEM;
	return b->is_oom ? -ENOMEM : 0;
}

static void free_builder(struct builder *b)
{
	for (size_t i = 0; i < b->samples.n; i++) {
		Sample *s = b->samples.v[i];

		for (size_t k = 0; s->label && k < s->n_label; k++)
			free(s->label[k]);
		free(s->label);
		free(s->location_id);
		free(s->value);
		free(s);
	}
	for (size_t i = 0; i < b->location_list.n; i++) {
		Location *l = b->location_list.v[i];

		for (size_t k = 0; k < l->n_line; k++)
			free(l->line[k]);
		free(l->line);
		free(l);
	}
	for (size_t i = 0; i < b->function_list.n; i++)
		free(b->function_list.v[i]);
	for (size_t i = 0; i < b->mapping_list.n; i++)
		free(b->mapping_list.v[i]);
	for (size_t i = 0; i < b->ranges.n; i++)
		free(b->ranges.v[i]);
	free(b->samples.v);
	free(b->location_list.v);
	free(b->function_list.v);
	free(b->mapping_list.v);
	free(b->ranges.v);
	free(b->string_table.v);
	smap_free(&b->strings);
	smap_free(&b->functions);
	smap_free(&b->mappings);
	smap_free(&b->locations);
}

static int64_t parse_time_ns(const char *stamp)
{
	struct tm tm = { 0 };

	if (!stamp || !strptime(stamp, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return 0;
	return (int64_t)timegm(&tm) * 1000000000LL;
}

static int gzip_buffer(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len)
{
	z_stream zs = { 0 };
	uLong bound;
	uint8_t *out;

	/* windowBits 15 + 16: a gzip wrapper, with no name and a zero time (reproducible) */
	if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&zs, len) + 64;
	out = malloc(bound);
	if (!out) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&zs);
		free(out);
		return -EIO;
	}
	*ret_len = zs.total_out;
	*ret = out;
	deflateEnd(&zs);
	return 0;
}

int pprof_build(json_object *report, uint8_t **ret_data, size_t *ret_len)
{
	json_object *targets = jget_arr(report, "targets");
	struct builder b = { .has_many = jlen(targets) > 1 };
	Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	ValueType types[2], period_type, *type_ptrs[2] = { &types[0], &types[1] };
	int64_t *comments = calloc(jlen(targets) + 1, sizeof(*comments));
	double duration = 0;
	uint8_t *packed = NULL;
	size_t len;
	int r = -ENOMEM;

	if (!comments)
		return -ENOMEM;
	(void)str_index(&b, ""); /* string_table[0] is "" */
	perftools__profiles__value_type__init(&types[0]);
	perftools__profiles__value_type__init(&types[1]);
	perftools__profiles__value_type__init(&period_type);
	types[0].type = str_index(&b, "inuse_objects");
	types[0].unit = str_index(&b, "count");
	types[1].type = str_index(&b, "inuse_space");
	types[1].unit = str_index(&b, "bytes");
	period_type.type = str_index(&b, "space");
	period_type.unit = str_index(&b, "bytes");
	p.n_sample_type = 2;
	p.sample_type = type_ptrs;
	p.period_type = &period_type;
	p.period = 1;
	p.default_sample_type = types[1].type;
	p.time_nanos = parse_time_ns(jget_str(report, "generated_at"));
	for (size_t i = 0; i < jlen(targets); i++) {
		json_object *t = jidx(targets, i), *prof = jget(t, "profile"), *sites;
		char text[512];

		snprintf(text, sizeof(text), "leakmond: pid %d (%s), live heap at %s",
			 (int)jget_num(t, "pid", 0), jget_str(t, "comm") ? jget_str(t, "comm") : "?",
			 jget_str(report, "generated_at") ? jget_str(report, "generated_at") : "?");
		comments[p.n_comment++] = str_index(&b, text);
		if (jget_num(t, "observed_s", 0) > duration)
			duration = jget_num(t, "observed_s", 0);
		sites = jget_arr(prof, "sites");
		for (size_t k = 0; k < jlen(sites); k++)
			if (add_sample(&b, i, t, prof, jidx(sites, k)) < 0)
				goto out;
	}
	p.comment = comments;
	p.duration_nanos = (int64_t)(duration * 1e9);
	for (size_t i = 0; i < b.mapping_list.n; i++) {
		Mapping *m = b.mapping_list.v[i];
		uint64_t *range = b.ranges.v[i];

		m->memory_start = range[0];
		m->memory_limit = range[1] + 1;
	}
	p.n_sample = b.samples.n;
	p.sample = (Sample **)b.samples.v;
	p.n_mapping = b.mapping_list.n;
	p.mapping = (Mapping **)b.mapping_list.v;
	p.n_location = b.location_list.n;
	p.location = (Location **)b.location_list.v;
	p.n_function = b.function_list.n;
	p.function = (Function **)b.function_list.v;
	if (b.is_oom)
		goto out;
	p.n_string_table = b.string_table.n;
	p.string_table = (char **)b.string_table.v;
	len = perftools__profiles__profile__get_packed_size(&p);
	packed = malloc(len ? len : 1);
	if (!packed)
		goto out;
	if (perftools__profiles__profile__pack(&p, packed) != len) {
		r = -EIO;
		goto out;
	}
	r = gzip_buffer(packed, len, ret_data, ret_len);
out:
	free(packed);
	free(comments);
	free_builder(&b);
	return r;
}
