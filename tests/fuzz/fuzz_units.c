/* fuzz_units.c - sizes, durations and rates (src/base/units.c) on arbitrary text. */
#include "config.h"

#include <errno.h>
#include <math.h>

#include "base/units.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);
	char buf[64];
	uint64_t bytes, ns;
	double rate;
	int r;

	r = units_parse_size(s, &bytes);
	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r == 0) {
		uint64_t back;
		int r2;

		/* what we print, we read back: within the rounding of one decimal */
		units_format_size((double) bytes, buf, sizeof(buf));
		FUZZ_ASSERT(memchr(buf, '\0', sizeof(buf)) != NULL);
		r2 = units_parse_size(buf, &back);
		FUZZ_ASSERT(r2 == 0 || (r2 == -ERANGE && bytes > (UINT64_C(1) << 63)));
		if (r2 == 0)
			FUZZ_ASSERT(fabs((double) back - (double) bytes) <=
				    0.051 * (double) bytes + 0.5);
	}
	r = units_parse_duration(s, &ns);
	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r == 0) {
		units_format_duration(ns, buf, sizeof(buf));
		FUZZ_ASSERT(memchr(buf, '\0', sizeof(buf)) != NULL);
		units_format_duration(ns, buf, 3); /* a short buffer: cut, still terminated */
		FUZZ_ASSERT(strlen(buf) <= 2);
	}
	r = units_parse_rate(s, &rate);
	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r == 0) {
		FUZZ_ASSERT(isfinite(rate) && rate >= 0);
		units_format_rate(rate, "h", 1, buf, sizeof(buf));
		units_format_rate(-rate, "min", 0, buf, sizeof(buf));
		FUZZ_ASSERT(memchr(buf, '\0', sizeof(buf)) != NULL);
	}
	free(s);
	return 0;
}
