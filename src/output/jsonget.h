/* jsonget.h - reading a parsed report (or log record) safely: every getter copes with a missing
 * key, a null and a value of the wrong type, so that a hand-edited or older report never crashes
 * a renderer. Static inline helpers for the output modules that work from the JSON.
 */
#ifndef LEAKMOND_JSONGET_H
#define LEAKMOND_JSONGET_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* o[key], or NULL when o is not an object, the key is absent or its value null. */
static inline json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* o[key] as a string, or NULL unless it is one. */
static inline const char *jget_str(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static inline bool jis_num(json_object *v)
{
	return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double));
}

/* o[key] as a number, or dflt unless it is one. */
static inline double jget_num(json_object *o, const char *key, double dflt)
{
	json_object *v = jget(o, key);

	return jis_num(v) ? json_object_get_double(v) : dflt;
}

/* o[key] as an unsigned integer (negative and non-integers: 0). */
static inline uint64_t jget_u64(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	if (!v || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return 0;
	return json_object_get_uint64(v);
}

static inline bool jget_bool(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

/* o[key] if it is an array, else NULL. */
static inline json_object *jget_arr(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

static inline size_t jlen(json_object *arr)
{
	return arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

/* arr[i] (NULL when out of range or not an array). */
static inline json_object *jidx(json_object *arr, size_t i)
{
	return i < jlen(arr) ? json_object_array_get_idx(arr, i) : NULL;
}

/* The last path component of s ("" stays ""; NULL stays NULL). */
static inline const char *jbasename(const char *s)
{
	const char *slash = s ? __builtin_strrchr(s, '/') : NULL;

	return slash ? slash + 1 : s;
}

#endif
