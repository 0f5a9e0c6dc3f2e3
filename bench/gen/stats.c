/* Histogram and failure table of a run (stats.h). */
#include <string.h>

#include "stats.h"

static unsigned bucket_of(uint64_t v)
{
	if (v < HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= HIST_SUB_BITS */
	unsigned m = (unsigned)(v >> (e - HIST_SUB_BITS)) - HIST_SUB;
	unsigned i = HIST_SUB + (e - HIST_SUB_BITS) * HIST_SUB + m;
	return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

/* Middle of the bucket's range: halves the worst-case error of reporting its lower bound. */
static uint64_t value_of(unsigned i)
{
	if (i < HIST_SUB)
		return i;
	unsigned e = (i - HIST_SUB) / HIST_SUB + HIST_SUB_BITS;
	uint64_t m = (i - HIST_SUB) % HIST_SUB + HIST_SUB;
	uint64_t lo = m << (e - HIST_SUB_BITS);
	return lo + ((1ull << (e - HIST_SUB_BITS)) >> 1);
}

void hist_add(struct hist *h, uint64_t v)
{
	if (h->n == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->n++;
	h->sum += v;
	h->b[bucket_of(v)]++;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	if (!h->n)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->n);
	if (rank >= h->n - 1)
		return h->max; /* the top sample is known exactly */
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > rank) {
			uint64_t v = value_of(i);
			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max;
}

void hist_merge(struct hist *into, const struct hist *from)
{
	if (!from->n)
		return;
	if (!into->n || from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
	into->n += from->n;
	into->sum += from->sum;
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		into->b[i] += from->b[i];
}

void hist_write_cdf(const struct hist *h, FILE *f, double div)
{
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		if (!h->b[i])
			continue;
		seen += h->b[i];
		fprintf(f, "%.3f %.6f\n", (double)value_of(i) / div, (double)seen / (double)h->n);
	}
}

void fail_count(struct fail_table *t, int code, const char *name)
{
	for (unsigned i = 0; i < t->n; i++) {
		if (t->r[i].code == code) {
			t->r[i].count++;
			return;
		}
	}
	if (t->n == FAIL_REASONS_MAX) {
		t->other++;
		return;
	}
	t->r[t->n].code = code;
	t->r[t->n].count = 1;
	snprintf(t->r[t->n].name, sizeof(t->r[t->n].name), "%s", name ? name : "unknown");
	t->n++;
}

uint64_t fail_total(const struct fail_table *t)
{
	uint64_t s = t->other;
	for (unsigned i = 0; i < t->n; i++)
		s += t->r[i].count;
	return s;
}
