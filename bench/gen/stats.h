/* What a benchmark run measures: a latency histogram (log-linear, ~3% resolution, constant-time
 * insert, no allocation on the hot path) and the counters the report shows. */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stdint.h>
#include <stdio.h>

#define HIST_SUB_BITS 5
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS (HIST_SUB + 59 * HIST_SUB)

struct hist {
	uint64_t n, sum, min, max;
	uint64_t b[HIST_BUCKETS];
};

void hist_add(struct hist *h, uint64_t v);
/* q in [0,1]; the representative value of the bucket holding that quantile (0 if empty). */
uint64_t hist_quantile(const struct hist *h, double q);
void hist_merge(struct hist *into, const struct hist *from);
/* One line per non-empty bucket: "<value/div> <cumulative fraction>", for a CDF plot. */
void hist_write_cdf(const struct hist *h, FILE *f, double div);

#define FAIL_REASONS_MAX 32
struct fail_table {
	unsigned n;
	struct {
		int code;
		uint64_t count;
		char name[64];
	} r[FAIL_REASONS_MAX];
	uint64_t other;
};
void fail_count(struct fail_table *t, int code, const char *name);
uint64_t fail_total(const struct fail_table *t);

#endif
