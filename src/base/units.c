/* units.c - parse and format sizes, durations and rates. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "base/util.h"

struct unit {
	const char *name;
	double factor;
};

/* Binary units, case-sensitive as written here. */
static const struct unit size_units[] = {
	{ "B", 1.0 },
	{ "K", 1024.0 },
	{ "KiB", 1024.0 },
	{ "M", 1048576.0 },
	{ "MiB", 1048576.0 },
	{ "G", 1073741824.0 },
	{ "GiB", 1073741824.0 },
	{ "T", 1099511627776.0 },
	{ "TiB", 1099511627776.0 },
};

/* The time span units of systemd.time(7), with its month and year, plus ns. Case-sensitive: "m" is
 * a minute, "M" a month. Factors in nanoseconds. */
static const struct unit time_units[] = {
	{ "ns", 1.0 }, { "nsec", 1.0 },
	{ "us", 1e3 }, { "usec", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 }, /* U+00B5, U+03BC */
	{ "ms", 1e6 }, { "msec", 1e6 },
	{ "s", 1e9 }, { "sec", 1e9 }, { "second", 1e9 }, { "seconds", 1e9 },
	{ "m", 60e9 }, { "min", 60e9 }, { "minute", 60e9 }, { "minutes", 60e9 },
	{ "h", 3600e9 }, { "hr", 3600e9 }, { "hour", 3600e9 }, { "hours", 3600e9 },
	{ "d", 86400e9 }, { "day", 86400e9 }, { "days", 86400e9 },
	{ "w", 604800e9 }, { "week", 604800e9 }, { "weeks", 604800e9 },
	{ "M", 2629800e9 }, { "month", 2629800e9 }, { "months", 2629800e9 }, /* 30.44 days */
	{ "y", 31557600e9 }, { "year", 31557600e9 }, { "years", 31557600e9 }, /* 365.25 days */
};

/* Durations at or above this (about 292 years) are refused with -ERANGE. */
#define DURATION_MAX_NS 9.2e18

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_number_char(char c)
{
	return c == '.' || (c >= '0' && c <= '9');
}

/* Length of the number at s: digits and dots. */
static size_t number_len(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && is_number_char(s[i]))
		i++;
	return i;
}

/* Length of the unit at s: everything up to a blank or the next number. */
static size_t unit_len(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && !is_blank(s[i]) && !is_number_char(s[i]))
		i++;
	return i;
}

static size_t skip_blanks(const char *s, size_t len, size_t i)
{
	while (i < len && is_blank(s[i]))
		i++;
	return i;
}

/* A non-negative decimal number, with an optional fraction, that is all of s[0..len). */
static int parse_number(const char *s, size_t len, double *ret)
{
	char num[64];
	char *end;
	double v;

	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len);
	num[len] = '\0';
	errno = 0;
	v = strtod(num, &end);
	if (*end != '\0' || errno != 0 || !isfinite(v) || v < 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* The factor of the unit s[0..len), looked up exactly (case included) in table. */
static int lookup_unit(const struct unit *table, size_t n, const char *s, size_t len, double *ret)
{
	for (size_t k = 0; k < n; k++) {
		if (strlen(table[k].name) == len && memcmp(table[k].name, s, len) == 0) {
			*ret = table[k].factor;
			return 0;
		}
	}
	return -EINVAL;
}

/* A time span in s[0..len): "NUMBER[blanks]UNIT" parts, each optionally followed by blanks
 * ("1h 30min", "55s500ms"). A bare number alone is seconds when allow_bare; with is_single only
 * one part is allowed. Leading and trailing blanks are refused. Result in nanoseconds. */
static int parse_span(const char *s, size_t len, bool allow_bare, bool is_single, double *ret_ns)
{
	double total = 0;
	size_t i = 0;
	int r;

	if (len == 0 || is_blank(s[0]) || is_blank(s[len - 1]))
		return -EINVAL;
	while (i < len) {
		size_t n = number_len(s + i, len - i), u;
		double v, factor;

		r = parse_number(s + i, n, &v);
		if (r < 0)
			return r;
		if (n == len) {
			if (!allow_bare)
				return -EINVAL;
			total = v * 1e9;
			break;
		}
		i = skip_blanks(s, len, i + n);
		u = unit_len(s + i, len - i);
		r = lookup_unit(time_units, ARRAY_SIZE(time_units), s + i, u, &factor);
		if (r < 0)
			return r;
		total += v * factor;
		i = skip_blanks(s, len, i + u);
		if (is_single && i < len)
			return -EINVAL;
	}
	if (total >= DURATION_MAX_NS)
		return -ERANGE;
	*ret_ns = total;
	return 0;
}

/* A size in s[0..len): "NUMBER[blanks][UNIT]", a bare number being bytes. */
static int parse_size(const char *s, size_t len, double *ret_bytes)
{
	size_t n = number_len(s, len), i;
	double v, factor = 1.0;
	int r;

	r = parse_number(s, n, &v);
	if (r < 0)
		return r;
	if (n < len) {
		i = skip_blanks(s, len, n);
		if (i == len) /* trailing blanks */
			return -EINVAL;
		r = lookup_unit(size_units, ARRAY_SIZE(size_units), s + i, len - i, &factor);
		if (r < 0)
			return r;
	}
	*ret_bytes = v * factor;
	return 0;
}

int units_parse_size(const char *s, uint64_t *ret_bytes)
{
	double v;
	int r;

	if (!s)
		return -EINVAL;
	r = parse_size(s, strlen(s), &v);
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
	r = parse_span(s, strlen(s), true, false, &v);
	if (r < 0)
		return r;
	*ret_ns = (uint64_t)llround(v);
	return 0;
}

int units_parse_rate(const char *s, double *ret_bytes_per_s)
{
	const char *slash, *per;
	double bytes, ns;
	int r;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash)
		return -EINVAL;
	r = parse_size(s, (size_t)(slash - s), &bytes);
	if (r < 0)
		return r;
	/* The time part is a unit alone ("h": one of it) or one count with its unit ("10min"). */
	per = slash + 1;
	if (*per != '\0' && !is_number_char(*per))
		r = lookup_unit(time_units, ARRAY_SIZE(time_units), per, strlen(per), &ns);
	else
		r = parse_span(per, strlen(per), false, true, &ns);
	if (r < 0)
		return r;
	if (ns <= 0)
		return -EINVAL;
	*ret_bytes_per_s = bytes / (ns / 1e9);
	if (!isfinite(*ret_bytes_per_s))
		return -ERANGE;
	return 0;
}

int units_parse_percent(const char *s, double *ret_fraction)
{
	size_t len, n, i;
	double v;

	if (!s)
		return -EINVAL;
	len = strlen(s);
	n = number_len(s, len);
	if (parse_number(s, n, &v) < 0)
		return -EINVAL;
	i = skip_blanks(s, len, n);
	if (i == len && n == len && v == 0) {
		*ret_fraction = 0; /* a bare 0 needs no unit */
		return 0;
	}
	if (i != len - 1 || s[i] != '%' || v > 100)
		return -EINVAL;
	*ret_fraction = v / 100;
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
