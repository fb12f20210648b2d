/* check_pyinfo - CPython's layout (built-in table, DWARF) and 3.11 line tables. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gelf.h>
#include <libelf.h>

#include "check_main.h"
#include "image/pyinfo.h"

#define PY_DEBUG_FILE "/usr/lib/debug/.build-id/%.2s/%s.debug"

/* tests/data/py311-linetable.txt: firstlineno, the table in hex, and the line of every unit as
 * CPython 3.11 itself gives it (co_positions). */
START_TEST(test_addr2line_matches_cpython)
{
	char line[8192], hex[4096] = "";
	uint8_t table[2048];
	int first = 0, units = 0, lines[1024], n_lines = 0;
	size_t len = 0;
	FILE *f = fopen(TEST_DATA_DIR "/py311-linetable.txt", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "firstlineno %d", &first) == 1)
			continue;
		if (sscanf(line, "table %4095s", hex) == 1)
			continue;
		if (sscanf(line, "units %d", &units) == 1)
			continue;
		if (strncmp(line, "lines ", 6) == 0) {
			char *p = line + 6, *end;

			while (n_lines < 1024) {
				long v = strtol(p, &end, 10);

				if (end == p)
					break;
				lines[n_lines++] = (int)v;
				p = end;
			}
		}
	}
	fclose(f);
	for (size_t i = 0; hex[2 * i] && hex[2 * i + 1] && len < sizeof(table); i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		table[len++] = (uint8_t)v;
	}
	ck_assert_int_gt(first, 0);
	ck_assert_int_gt(units, 10);
	ck_assert_int_eq(n_lines, units);
	for (int u = 0; u < units; u++)
		ck_assert_msg(pyinfo_addr2line(table, (uint32_t)len, first, u) == lines[u],
			      "unit %d: line %d, CPython says %d", u,
			      pyinfo_addr2line(table, (uint32_t)len, first, u), lines[u]);
	ck_assert_int_eq(pyinfo_addr2line(table, (uint32_t)len, first, units + 5), -1);
	ck_assert_int_eq(pyinfo_addr2line(table, (uint32_t)len, first, -1), -1);
}
END_TEST

START_TEST(test_addr2line_hostile)
{
	uint8_t junk[64];

	/* any bytes: never reads past the table, never loops */
	for (int seed = 0; seed < 2000; seed++) {
		unsigned x = (unsigned)seed * 2654435761u;

		for (size_t i = 0; i < sizeof(junk); i++) {
			x = x * 1103515245u + 12345u;
			junk[i] = (uint8_t)(x >> 16) | (i % 3 == 0 ? 0x80 : 0);
		}
		(void)pyinfo_addr2line(junk, (uint32_t)(seed % sizeof(junk)), seed, seed % 50);
	}
	ck_assert_int_eq(pyinfo_addr2line(junk, 0, 7, 0), -1);
}
END_TEST

START_TEST(test_builtin)
{
	struct py_layout l;
	char v[16];

	ck_assert_int_eq(pyinfo_layout_builtin(0x030b02f0, &l), 0);
	ck_assert_uint_eq(l.code_adaptive, 184);
	ck_assert_uint_eq(l.runtime_tstate, 576);
	ck_assert(!l.is_from_dwarf);
	ck_assert_int_eq(pyinfo_layout_builtin(0x030a0cf0, &l), -ENOTSUP);
	ck_assert_int_eq(pyinfo_layout_builtin(0x030c00f0, &l), -ENOTSUP);
	ck_assert_str_eq(pyinfo_version_name(0x030b02f0, v, sizeof(v)), "3.11.2");
}
END_TEST

/* The build-id of file path in hex, or "". */
static void build_id_of(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;
	Elf_Scn *scn = NULL;

	buf[0] = '\0';
	if (fd < 0)
		return;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		GElf_Nhdr nh;
		Elf_Data *data;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_descsz <= 20 && nh.n_descsz * 2 < len) {
				for (size_t i = 0; i < nh.n_descsz; i++)
					snprintf(buf + 2 * i, 3, "%02x",
						 ((const unsigned char *)data->d_buf)[desc_off + i]);
				goto out;
			}
		}
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
}

/* The layout found in the DWARF of this machine's python3.11 (python3.11-dbg, which
 * tools/setup-deps installs) is the table's. */
START_TEST(test_dwarf_equals_builtin)
{
	struct py_layout d, b;
	char path[256], id[48];
	int fd;

	build_id_of("/usr/bin/python3.11", id, sizeof(id));
	if (!id[0])
		return; /* no python3.11 here: tests/python.test says so */
	snprintf(path, sizeof(path), PY_DEBUG_FILE, id, id + 2);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "%s: python3.11-dbg is not installed (tools/setup-deps installs it)",
		      path);
	ck_assert_int_eq(pyinfo_layout_dwarf(fd, 0x030b02f0, &d), 0);
	close(fd);
	ck_assert(d.is_from_dwarf);
	ck_assert_int_eq(pyinfo_layout_builtin(0x030b02f0, &b), 0);
	ck_assert_uint_eq(d.runtime_tstate, b.runtime_tstate);
	ck_assert_uint_eq(d.ts_cframe, b.ts_cframe);
	ck_assert_uint_eq(d.ts_thread_id, b.ts_thread_id);
	ck_assert_uint_eq(d.ts_next, b.ts_next);
	ck_assert_uint_eq(d.runtime_interp_main, b.runtime_interp_main);
	ck_assert_uint_eq(d.interp_threads_head, b.interp_threads_head);
	ck_assert_uint_eq(d.cframe_current, b.cframe_current);
	ck_assert_uint_eq(d.frame_code, b.frame_code);
	ck_assert_uint_eq(d.frame_previous, b.frame_previous);
	ck_assert_uint_eq(d.frame_prev_instr, b.frame_prev_instr);
	ck_assert_uint_eq(d.frame_is_entry, b.frame_is_entry);
	ck_assert_uint_eq(d.frame_owner, b.frame_owner);
	ck_assert_uint_eq(d.frame_size, b.frame_size);
	ck_assert_uint_eq(d.code_firstlineno, b.code_firstlineno);
	ck_assert_uint_eq(d.code_filename, b.code_filename);
	ck_assert_uint_eq(d.code_qualname, b.code_qualname);
	ck_assert_uint_eq(d.code_linetable, b.code_linetable);
	ck_assert_uint_eq(d.code_firsttraceable, b.code_firsttraceable);
	ck_assert_uint_eq(d.code_adaptive, b.code_adaptive);
}
END_TEST

static Suite *pyinfo_suite(void)
{
	Suite *s = suite_create("pyinfo");
	TCase *tc = tcase_create("pyinfo");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_addr2line_matches_cpython);
	tcase_add_test(tc, test_addr2line_hostile);
	tcase_add_test(tc, test_builtin);
	tcase_add_test(tc, test_dwarf_equals_builtin);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(pyinfo_suite)
