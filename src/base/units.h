/* units.h - parse and format sizes, durations and growth rates as users write them.
 *
 * Pure functions: no I/O, no logging, no allocation.
 * Sizes: a number with an optional binary unit B, KiB, MiB, GiB, TiB (K, M, G, T mean the same;
 * suffixes are case-insensitive). Durations: a number with ms, s, m (or min), h or d; a bare number
 * is seconds. Numbers may have a decimal fraction ("1.5MiB", "0.5s"). Rates: SIZE/UNIT where UNIT is
 * s, m or min, h or d ("10MiB/h", "200KiB/min").
 */
#ifndef LEAKMOND_UNITS_H
#define LEAKMOND_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0, -EINVAL if malformed or negative, -ERANGE on overflow. */
int units_parse_size(const char *s, uint64_t *ret_bytes);

/* Returns 0, -EINVAL if malformed or negative, -ERANGE on overflow. Zero is allowed. */
int units_parse_duration(const char *s, uint64_t *ret_ns);

/* Returns 0 and bytes per second, -EINVAL if malformed, -ERANGE on overflow. */
int units_parse_rate(const char *s, double *ret_bytes_per_s);

/* "512 B", "12.5 MiB": one decimal above bytes. Writes at most len bytes, NUL included. */
void units_format_size(double bytes, char *buf, size_t len);

/* A rate in the unit of time that reads best for it: "+1.2 MiB/min", "85.0 MiB/h".
 * per_s is bytes per second; with_sign prefixes "+" or "-". */
void units_format_rate(double per_s, const char *time_unit, int with_sign, char *buf, size_t len);

/* A duration: "500ms", "10s", "1m30s" style compact text. */
void units_format_duration(uint64_t ns, char *buf, size_t len);

#endif
