/* escape.c - target-derived strings made safe for text output and file names. See escape.h. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"

/* Length of the printable character at p (1..4), or 0 if the byte at p must be escaped. */
static size_t printable_len(const unsigned char *p)
{
	uint32_t cp;
	size_t n;

	if (*p < 0x20 || *p == 0x7f)
		return 0;
	if (*p < 0x80)
		return 1;
	if ((*p & 0xe0) == 0xc0) {
		n = 2;
		cp = *p & 0x1f;
	} else if ((*p & 0xf0) == 0xe0) {
		n = 3;
		cp = *p & 0x0f;
	} else if ((*p & 0xf8) == 0xf0) {
		n = 4;
		cp = *p & 0x07;
	} else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond Unicode and C1 controls are escaped */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

bool escape_is_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p) {
		size_t n = printable_len(p);

		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

char *escape_text(char *buf, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *) (s ? s : "");
	size_t used = 0;

	if (len == 0)
		return buf;
	while (*p) {
		size_t n = printable_len(p);

		if (n > 0) {
			if (used + n >= len)
				break;
			memcpy(buf + used, p, n);
			used += n;
			p += n;
		} else {
			if (used + 4 >= len)
				break;
			snprintf(buf + used, 5, "\\x%02x", *p);
			used += 4;
			p++;
		}
	}
	buf[used] = '\0';
	return buf;
}

char *escape_text_dup(const char *s)
{
	size_t len = 4 * strlen(s ? s : "") + 1;
	char *buf = malloc(len);

	return buf ? escape_text(buf, len, s) : NULL;
}

char *escape_file_stem(char *buf, size_t len, const char *s)
{
	size_t used = 0;

	if (len == 0)
		return buf;
	for (const char *c = s ? s : ""; *c && used + 1 < len; c++) {
		bool is_safe = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			       (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-';

		buf[used++] = is_safe ? *c : '_';
	}
	if (used == 0 && len > 1)
		buf[used++] = '_';
	buf[used] = '\0';
	if (buf[0] == '.' || buf[0] == '-')
		buf[0] = '_';
	return buf;
}
