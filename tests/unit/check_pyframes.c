/* check_pyframes - naming Python frames from code objects in a process's memory (here our own:
 * fake code objects and strings laid out as CPython 3.11 lays them out). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "image/pyinfo.h"
#include "stack/pyframes.h"

static struct py_layout L;

/* a compact str: ASCII (kind 1, data after the 48-byte head) or UCS-2 (kind 2, after 72 bytes) */
static uint8_t *make_str(const void *chars, size_t n, unsigned kind)
{
	size_t head = kind == 1 ? 48 : 72;
	uint8_t *o = calloc(1, head + n * kind + 4);
	int64_t len = (int64_t)n;
	uint32_t state = (kind << 2) | (1u << 5) | ((kind == 1 ? 1u : 0u) << 6) | (1u << 7);

	memcpy(o + 16, &len, sizeof(len));
	memcpy(o + 32, &state, sizeof(state));
	memcpy(o + head, chars, n * kind);
	return o;
}

static uint8_t *make_bytes(const uint8_t *b, size_t n)
{
	uint8_t *o = calloc(1, 32 + n + 1);
	int64_t len = (int64_t)n;

	memcpy(o + 16, &len, sizeof(len));
	memcpy(o + 32, b, n);
	return o;
}

static void put64(uint8_t *code, uint32_t off, const void *p)
{
	uint64_t v = (uint64_t)(uintptr_t)p;

	memcpy(code + off, &v, sizeof(v));
}

static uint8_t *make_code(const void *qualname, const void *filename, const void *linetable,
			  int32_t firstlineno)
{
	uint8_t *c = calloc(1, L.code_size + 64);

	put64(c, L.code_qualname, qualname);
	put64(c, L.code_name, qualname);
	put64(c, L.code_filename, filename);
	put64(c, L.code_linetable, linetable);
	memcpy(c + L.code_firstlineno, &firstlineno, sizeof(firstlineno));
	return c;
}

/* two entries without columns: 2 units at firstlineno + 1, then 3 units 2 lines further */
static const uint8_t table[] = { 0x80 | (13 << 3) | 1, 2, 0x80 | (13 << 3) | 2, 4 };

static void setup(void)
{
	ck_assert_int_eq(pyinfo_layout_builtin(0x030b02f0, &L), 0);
}

START_TEST(test_names_and_lines)
{
	uint8_t *name = make_str("Cache.insert", 12, 1), *file = make_str("/srv/app/cache.py", 17, 1);
	uint8_t *lt = make_bytes(table, sizeof(table));
	uint8_t *code = make_code(name, file, lt, 10);
	struct pyframes *pf = pyframes_new(getpid(), &L);
	const char *fn, *fl;
	uint64_t a, b, c;
	int line;

	ck_assert_ptr_nonnull(pf);
	a = pyframes_intern(pf, (uintptr_t)code, 0);
	b = pyframes_intern(pf, (uintptr_t)code, 1);
	c = pyframes_intern(pf, (uintptr_t)code, 3);
	ck_assert(pyframes_is_python(a));
	ck_assert_uint_eq(a, b); /* same line: same frame */
	ck_assert_uint_ne(a, c);
	ck_assert_int_eq(pyframes_lookup(pf, a, &fn, &fl, &line), 0);
	ck_assert_str_eq(fn, "Cache.insert");
	ck_assert_str_eq(fl, "/srv/app/cache.py");
	ck_assert_int_eq(line, pyinfo_addr2line(table, sizeof(table), 10, 0));
	ck_assert_int_eq(line, 11);
	ck_assert_int_eq(pyframes_lookup(pf, c, &fn, &fl, &line), 0);
	ck_assert_int_eq(line, 13);
	/* a unit past the table has no line */
	ck_assert_int_eq(pyframes_lookup(pf, pyframes_intern(pf, (uintptr_t)code, 40), &fn, &fl,
					 &line), 0);
	ck_assert_int_eq(line, -1);
	/* not ours */
	ck_assert_int_eq(pyframes_lookup(pf, 0x401000, &fn, &fl, &line), -ENOENT);
	ck_assert_int_eq(pyframes_lookup(pf, PYFRAMES_TAG | 999999, &fn, &fl, &line), -ENOENT);
	pyframes_free(pf);
	free(code);
	free(lt);
	free(file);
	free(name);
}
END_TEST

/* a code object freed and another made at the same address is never given the old name */
START_TEST(test_reused_address)
{
	uint8_t *n1 = make_str("first", 5, 1), *n2 = make_str("second", 6, 1);
	uint8_t *file = make_str("m.py", 4, 1), *lt = make_bytes(table, sizeof(table));
	uint8_t *code = make_code(n1, file, lt, 10);
	struct pyframes *pf = pyframes_new(getpid(), &L);
	const char *fn, *fl;
	uint64_t a, b;
	int line;

	a = pyframes_intern(pf, (uintptr_t)code, 0);
	put64(code, L.code_qualname, n2);
	b = pyframes_intern(pf, (uintptr_t)code, 0);
	ck_assert_uint_ne(a, b);
	ck_assert_int_eq(pyframes_lookup(pf, a, &fn, &fl, &line), 0);
	ck_assert_str_eq(fn, "first"); /* the old frame keeps its name */
	ck_assert_int_eq(pyframes_lookup(pf, b, &fn, &fl, &line), 0);
	ck_assert_str_eq(fn, "second");
	pyframes_free(pf);
	free(code);
	free(lt);
	free(file);
	free(n2);
	free(n1);
}
END_TEST

/* hostile memory: unreadable addresses, strings that are not compact str objects, absurd
 * lengths, control characters, non-ASCII text */
START_TEST(test_hostile)
{
	static const uint16_t ucs2[] = { 'c', 0x00e9, 'f', 0x20ac };
	uint8_t *u = make_str(ucs2, 4, 2), *ctl = make_str("a\nb\033c", 5, 1);
	uint8_t *bad = make_str("x", 1, 1), *lt = make_bytes(table, sizeof(table));
	uint8_t *code = make_code(u, ctl, lt, 1);
	struct pyframes *pf = pyframes_new(getpid(), &L);
	struct pyframes_stats st;
	const char *fn, *fl;
	int64_t huge = INT64_MAX;
	uint32_t not_compact = 1u << 7;
	int line;

	ck_assert_int_eq(pyframes_lookup(pf, pyframes_intern(pf, (uintptr_t)code, 0), &fn, &fl,
					 &line), 0);
	ck_assert_str_eq(fn, "c\xc3\xa9"
			     "f\xe2\x82\xac");
	ck_assert_str_eq(fl, "a?b?c");
	/* unreadable code object, and one whose name is not a compact str */
	ck_assert_uint_eq(pyframes_intern(pf, 8, 0), 0);
	memcpy(bad + 32, &not_compact, sizeof(not_compact));
	put64(code, L.code_qualname, bad);
	ck_assert_uint_eq(pyframes_intern(pf, (uintptr_t)code, 0), 0);
	/* an absurd length is capped (the read may then fail: either way no overrun) */
	memcpy(bad + 16, &huge, sizeof(huge));
	(void)pyframes_intern(pf, (uintptr_t)code, 0);
	/* an absurd line table size: the frame is named, without a line */
	put64(code, L.code_qualname, u);
	{
		uint8_t *lt2 = make_bytes(table, sizeof(table));

		memcpy(lt2 + 16, &huge, sizeof(huge));
		put64(code, L.code_linetable, lt2);
		ck_assert_int_eq(pyframes_lookup(pf, pyframes_intern(pf, (uintptr_t)code, 0), &fn,
						 &fl, &line), 0);
		ck_assert_int_eq(line, -1);
		free(lt2);
	}
	pyframes_get_stats(pf, &st);
	ck_assert_uint_ge(st.unreadable, 2);
	ck_assert_uint_ge(st.frames, 2);
	pyframes_free(pf);
	free(code);
	free(lt);
	free(bad);
	free(ctl);
	free(u);
}
END_TEST

/* many frames: ids stay distinct and stable (the index grows) */
START_TEST(test_many_frames)
{
	uint8_t *name = make_str("f", 1, 1), *file = make_str("m.py", 4, 1);
	uint8_t *lt = make_bytes(table, sizeof(table));
	enum { N = 3000 };
	uint8_t **codes = calloc(N, sizeof(*codes));
	uint64_t *ids = calloc(N, sizeof(*ids));
	struct pyframes *pf = pyframes_new(getpid(), &L);

	for (int i = 0; i < N; i++) {
		codes[i] = make_code(name, file, lt, 10 + 10 * i);
		ids[i] = pyframes_intern(pf, (uintptr_t)codes[i], 0);
		ck_assert(pyframes_is_python(ids[i]));
	}
	for (int i = 0; i < N; i++) {
		const char *fn, *fl;
		int line;

		ck_assert_uint_eq(pyframes_intern(pf, (uintptr_t)codes[i], 1), ids[i]);
		ck_assert_int_eq(pyframes_lookup(pf, ids[i], &fn, &fl, &line), 0);
		ck_assert_int_eq(line, 11 + 10 * i);
		free(codes[i]);
	}
	pyframes_free(pf);
	free(codes);
	free(ids);
	free(lt);
	free(file);
	free(name);
}
END_TEST

/* Python frames replace the evaluation loop's activations in place, each activation's frames up
 * to its entry frame; leftovers are appended; unreadable code objects are left out. */
START_TEST(test_splice)
{
	uint8_t *fa = make_str("outer", 5, 1), *fb = make_str("inner", 5, 1);
	uint8_t *fc = make_str("top", 3, 1), *file = make_str("app.py", 6, 1);
	uint8_t *lt = make_bytes(table, sizeof(table));
	uint8_t *ca = make_code(fa, file, lt, 10), *cb = make_code(fb, file, lt, 20);
	uint8_t *cc = make_code(fc, file, lt, 30);
	struct pyframes *pf = pyframes_new(getpid(), &L);
	const uint64_t eval = 0x500000, eval_end = 0x501000;
	/* malloc's caller, C glue, an activation, more glue, a second activation, main */
	const uint64_t pcs[] = { 0x401010, 0x402020, eval + 0x40, 0x403030, eval + 0x80, 0x404040 };
	/* innermost first: inner and outer run in the first activation (outer is its entry), top
	 * in the second */
	const struct pyframes_raw py[] = {
		{ (uintptr_t)cb, 0, false }, { (uintptr_t)ca, 3, true }, { (uintptr_t)cc, 0, true }
	};
	uint64_t out[16];
	const char *fn, *fl;
	int line;
	size_t n;

	n = pyframes_splice(pf, pcs, 6, eval, eval_end, py, 3, out, 16);
	ck_assert_uint_eq(n, 7);
	ck_assert_uint_eq(out[0], 0x401010);
	ck_assert_uint_eq(out[1], 0x402020);
	ck_assert_int_eq(pyframes_lookup(pf, out[2], &fn, &fl, &line), 0);
	ck_assert_str_eq(fn, "inner");
	ck_assert_int_eq(line, 21);
	ck_assert_int_eq(pyframes_lookup(pf, out[3], &fn, &fl, &line), 0);
	ck_assert_str_eq(fn, "outer");
	ck_assert_int_eq(line, 13);
	ck_assert_uint_eq(out[4], 0x403030);
	ck_assert_int_eq(pyframes_lookup(pf, out[5], &fn, &fl, &line), 0);
	ck_assert_str_eq(fn, "top");
	ck_assert_uint_eq(out[6], 0x404040);

	/* the native stack cut before the second activation: "top" is appended */
	n = pyframes_splice(pf, pcs, 4, eval, eval_end, py, 3, out, 16);
	ck_assert_uint_eq(n, 6);
	ck_assert_uint_eq(out[4], 0x403030);
	ck_assert_int_eq(pyframes_lookup(pf, out[5], &fn, &fl, &line), 0);
	ck_assert_str_eq(fn, "top");
	/* no Python frames left for an activation: its native pc stays */
	n = pyframes_splice(pf, pcs, 6, eval, eval_end, py, 2, out, 16);
	ck_assert_uint_eq(n, 7);
	ck_assert_uint_eq(out[5], eval + 0x80);
	/* a code object that cannot be read is left out; the cap holds */
	{
		const struct pyframes_raw bad[] = { { 0, 0, false }, { (uintptr_t)ca, 0, true } };

		n = pyframes_splice(pf, pcs, 6, eval, eval_end, bad, 2, out, 16);
		ck_assert_uint_eq(n, 6);
		ck_assert_int_eq(pyframes_lookup(pf, out[2], &fn, &fl, &line), 0);
		ck_assert_str_eq(fn, "outer");
	}
	ck_assert_uint_eq(pyframes_splice(pf, pcs, 6, eval, eval_end, py, 3, out, 3), 3);
	pyframes_free(pf);
	free(ca);
	free(cb);
	free(cc);
	free(lt);
	free(file);
	free(fa);
	free(fb);
	free(fc);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pyframes");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_names_and_lines);
	tcase_add_test(tc, test_reused_address);
	tcase_add_test(tc, test_hostile);
	tcase_add_test(tc, test_many_frames);
	tcase_add_test(tc, test_splice);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
