/* units.h - parse and format sizes, durations and growth rates as users write them.
 *
 * Pure functions: no I/O, no logging, no allocation. Unit names are case-sensitive, and numbers
 * are decimal with an optional fraction ("1.5MiB", "0.5s"; no sign, no exponent). Blanks may
 * separate a number from its unit, never lead or trail.
 *
 * Sizes: a number with an optional binary unit B, KiB, MiB, GiB, TiB (K, M, G, T mean the same);
 * a bare number is bytes.
 *
 * Durations: systemd.time(7) time spans, one or more "NUMBER UNIT" parts added together, with or
 * without blanks between them ("1h 30min", "2min 5s", "55s500ms"); a bare number alone is seconds.
 * Units: ns, nsec; us, usec, and "\u00b5s" or "\u03bcs" (micro sign or Greek mu, in UTF-8); ms,
 * msec; s, sec, second(s); m, min, minute(s); h, hr, hour(s); d, day(s); w, week(s); M, month(s)
 * (30.44 days); y, year(s) (365.25 days). So "10Ms" is refused, and "1h 30" too (a bare number
 * only stands alone).
 *
 * Rates: SIZE/SPAN, where SPAN is a time unit alone or one number with its unit ("10MiB/h",
 * "200KiB/min", "1MiB/10min").
 */
#ifndef LEAKMOND_UNITS_H
#define LEAKMOND_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0, -EINVAL if malformed or negative, -ERANGE on overflow. */
int units_parse_size(const char *s, uint64_t *ret_bytes);

/* Returns 0, -EINVAL if malformed or negative, -ERANGE from about 292 years (2^63 ns) up. Zero is
 * allowed. */
int units_parse_duration(const char *s, uint64_t *ret_ns);

/* Returns 0 and bytes per second, -EINVAL if malformed, -ERANGE on overflow. */
int units_parse_rate(const char *s, double *ret_bytes_per_s);

/* A share: "5%", "0.5%" (a number and a percent sign, blanks allowed between them), or "0".
 * Returns 0 and the fraction (5% -> 0.05), -EINVAL if malformed, or above 100%. */
int units_parse_percent(const char *s, double *ret_fraction);

/* "512 B", "12.5 MiB": one decimal above bytes. Writes at most len bytes, NUL included. */
void units_format_size(double bytes, char *buf, size_t len);

/* A rate in the unit of time that reads best for it: "+1.2 MiB/min", "85.0 MiB/h".
 * per_s is bytes per second; with_sign prefixes "+" or "-". */
void units_format_rate(double per_s, const char *time_unit, int with_sign, char *buf, size_t len);

/* A duration: "500ms", "10s", "1m30s" style compact text. */
void units_format_duration(uint64_t ns, char *buf, size_t len);

#endif
