/* series.c - a bounded time series. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "verdict/series.h"

int series_init(struct series *s, size_t cap)
{
	s->n = 0;
	s->decimations = 0;
	s->cap = cap;
	s->t = s->y = NULL;
	if (cap < 4)
		return -EINVAL;
	s->t = calloc(cap, sizeof(double));
	s->y = calloc(cap, sizeof(double));
	if (!s->t || !s->y) {
		series_done(s);
		return -ENOMEM;
	}
	return 0;
}

void series_done(struct series *s)
{
	free(s->t);
	free(s->y);
	s->t = s->y = NULL;
	s->n = s->cap = 0;
}

int series_append(struct series *s, double t, double y)
{
	if (s->n > 0 && !(t > s->t[s->n - 1]))
		return 0;
	if (s->n == s->cap) {
		size_t j = 0;

		for (size_t i = 0; i < s->n; i += 2, j++) {
			s->t[j] = s->t[i];
			s->y[j] = s->y[i];
		}
		s->n = j;
		s->decimations++;
	}
	s->t[s->n] = t;
	s->y[s->n] = y;
	s->n++;
	return 1;
}
