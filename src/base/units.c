/* units.c - parse and format sizes, durations and rates. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/units.h"
#include "base/util.h"

struct unit {
	const char *name;
	double factor;
};

static const struct unit size_units[] = {
	{ "", 1.0 },
	{ "b", 1.0 },
	{ "k", 1024.0 },
	{ "kib", 1024.0 },
	{ "m", 1048576.0 },
	{ "mib", 1048576.0 },
	{ "g", 1073741824.0 },
	{ "gib", 1073741824.0 },
	{ "t", 1099511627776.0 },
	{ "tib", 1099511627776.0 },
};

static const struct unit time_units[] = {
	{ "", 1e9 },	 { "ns", 1.0 },	     { "us", 1e3 },	 { "ms", 1e6 },
	{ "s", 1e9 },	 { "sec", 1e9 },     { "m", 60e9 },	 { "min", 60e9 },
	{ "h", 3600e9 }, { "hour", 3600e9 }, { "d", 86400e9 }, { "day", 86400e9 },
};

/* Parse "<number><unit>" with the number non-negative and finite; the unit looked up in table.
 * An empty unit is allowed only when allow_bare. */
static int parse_scaled(const char *s, size_t slen, const struct unit *table, size_t n,
			bool allow_bare, double *ret)
{
	char num[64], unit[16];
	size_t i = 0, j;
	char *end;
	double v;

	if (!s || slen == 0 || slen >= sizeof(num))
		return -EINVAL;
	while (i < slen && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
		i++;
	if (i == 0)
		return -EINVAL;
	memcpy(num, s, i);
	num[i] = '\0';
	j = i;
	while (j < slen && s[j] == ' ')
		j++;
	if (slen - j >= sizeof(unit))
		return -EINVAL;
	memcpy(unit, s + j, slen - j);
	unit[slen - j] = '\0';
	if (unit[0] == '\0' && !allow_bare)
		return -EINVAL;

	errno = 0;
	v = strtod(num, &end);
	if (*end != '\0' || errno != 0 || !isfinite(v) || v < 0)
		return -EINVAL;
	for (size_t k = 0; k < n; k++) {
		if (strcasecmp(unit, table[k].name) == 0) {
			*ret = v * table[k].factor;
			return 0;
		}
	}
	return -EINVAL;
}

int units_parse_size(const char *s, uint64_t *ret_bytes)
{
	double v;
	int r;

	if (!s)
		return -EINVAL;
	r = parse_scaled(s, strlen(s), size_units, ARRAY_SIZE(size_units), true, &v);
	if (r < 0)
		return r;
	if (v >= 18446744073709551615.0)
		return -ERANGE;
	*ret_bytes = (uint64_t)llround(v);
	return 0;
}

int units_parse_duration(const char *s, uint64_t *ret_ns)
{
	double v;
	int r;

	if (!s)
		return -EINVAL;
	r = parse_scaled(s, strlen(s), time_units, ARRAY_SIZE(time_units), true, &v);
	if (r < 0)
		return r;
	if (v >= 9.2e18)
		return -ERANGE;
	*ret_ns = (uint64_t)llround(v);
	return 0;
}

int units_parse_rate(const char *s, double *ret_bytes_per_s)
{
	const char *slash;
	double bytes, ns;
	int r;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash)
		return -EINVAL;
	r = parse_scaled(s, (size_t)(slash - s), size_units, ARRAY_SIZE(size_units), true, &bytes);
	if (r < 0)
		return r;
	/* The time part is a unit alone ("h") or with a count ("10min"). */
	if (slash[1] >= 'a' && slash[1] <= 'z') {
		char one[24];

		if (snprintf(one, sizeof(one), "1%s", slash + 1) >= (int)sizeof(one))
			return -EINVAL;
		r = parse_scaled(one, strlen(one), time_units, ARRAY_SIZE(time_units), false, &ns);
	} else {
		r = parse_scaled(slash + 1, strlen(slash + 1), time_units, ARRAY_SIZE(time_units),
				 false, &ns);
	}
	if (r < 0)
		return r;
	if (ns <= 0)
		return -EINVAL;
	*ret_bytes_per_s = bytes / (ns / 1e9);
	if (!isfinite(*ret_bytes_per_s))
		return -ERANGE;
	return 0;
}

void units_format_size(double bytes, char *buf, size_t len)
{
	static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = fabs(bytes);
	size_t i = 0;

	while (v >= 1024.0 && i + 1 < ARRAY_SIZE(names)) {
		v /= 1024.0;
		i++;
	}
	if (bytes < 0)
		v = -v;
	if (i == 0)
		snprintf(buf, len, "%.0f B", v);
	else
		snprintf(buf, len, "%.1f %s", v, names[i]);
}

void units_format_rate(double per_s, const char *time_unit, int with_sign, char *buf, size_t len)
{
	char size[32];
	double per = per_s;

	if (strcmp(time_unit, "min") == 0)
		per = per_s * 60.0;
	else if (strcmp(time_unit, "h") == 0)
		per = per_s * 3600.0;
	else if (strcmp(time_unit, "d") == 0)
		per = per_s * 86400.0;
	units_format_size(fabs(per), size, sizeof(size));
	snprintf(buf, len, "%s%s/%s", with_sign ? (per < 0 ? "-" : "+") : (per < 0 ? "-" : ""),
		 size, time_unit);
}

void units_format_duration(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / NSEC_PER_SEC;

	if (ns < NSEC_PER_SEC)
		snprintf(buf, len, "%llums", (unsigned long long)(ns / NSEC_PER_MSEC));
	else if (s < 60)
		snprintf(buf, len, "%.1fs", (double)ns / 1e9);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
}
