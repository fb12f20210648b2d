/* fuzz.h - what every harness under tests/fuzz/ shares.
 *
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput(). It is linked two ways:
 *   - by clang with -fsanitize=fuzzer,address,undefined (libFuzzer's main): `make fuzz`, and the
 *     short pass of tests/fuzz.test;
 *   - by the normal build's compiler with replay.c's main(), which runs the harness once on every
 *     file it is given: tests/fuzz_replay.test replays tests/fuzz/corpus/<target>/ and the
 *     regression inputs in tests/fuzz/regress/<target>/ in every `make check`, sanitized or not.
 * A harness checks properties with FUZZ_ASSERT, which aborts (a crash libFuzzer keeps).
 */
#ifndef LEAKMOND_FUZZ_H
#define LEAKMOND_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__,        \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A NUL-terminated copy of the input (the parsers take C strings). Never NULL: aborts on OOM. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_ASSERT(s != NULL);
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
