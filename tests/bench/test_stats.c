/* The generator's histogram: its quantiles must be within the bucket resolution (~3%) of the
 * exact ones, or the latency percentiles the benchmark prints are not worth reading. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../bench/gen/stats.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void quantiles_within_resolution(void **state)
{
	(void)state;
	static struct hist h;
	enum { N = 100000 };
	uint64_t *v = malloc(N * sizeof(*v));
	uint64_t x = 88172645463325252ull;
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* log-uniform from 1 us to 100 ms, in ns: the range handshake latencies span */
		double e = 3.0 + 5.0 * (double)(x % 1000000) / 1e6;
		v[i] = (uint64_t)__builtin_exp(e * 2.302585093);
		hist_add(&h, v[i]);
	}
	qsort(v, N, sizeof(*v), cmp_u64);
	const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		double exact = (double)v[(size_t)(qs[i] * N)];
		double got = (double)hist_quantile(&h, qs[i]);
		assert_true(got > exact * 0.97 && got < exact * 1.03);
	}
	assert_int_equal(h.n, N);
	assert_int_equal(h.min, v[0]);
	assert_int_equal(h.max, v[N - 1]);
	free(v);
}

static void small_values_exact_and_empty(void **state)
{
	(void)state;
	static struct hist h;
	memset(&h, 0, sizeof(h));
	assert_int_equal(hist_quantile(&h, 0.5), 0);
	for (uint64_t i = 0; i < 20; i++)
		hist_add(&h, i);
	assert_int_equal(hist_quantile(&h, 0.5), 10);
	assert_int_equal(hist_quantile(&h, 1.0), 19);
	hist_add(&h, UINT64_MAX); /* the top bucket takes anything */
	assert_int_equal(hist_quantile(&h, 1.0), UINT64_MAX);
}

static void merge_adds_up(void **state)
{
	(void)state;
	static struct hist a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	hist_add(&a, 1000);
	hist_add(&b, 5);
	hist_add(&b, 1000000);
	hist_merge(&a, &b);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.min, 5);
	assert_int_equal(a.max, 1000000);
}

static void failure_table_counts_by_code(void **state)
{
	(void)state;
	struct fail_table t;
	memset(&t, 0, sizeof(t));
	fail_count(&t, -1, "timeout");
	fail_count(&t, -1, "ignored name");
	fail_count(&t, -2, "alert");
	assert_int_equal(t.n, 2);
	assert_string_equal(t.r[0].name, "timeout");
	assert_int_equal(t.r[0].count, 2);
	for (int i = 0; i < FAIL_REASONS_MAX + 5; i++)
		fail_count(&t, 100 + i, "x");
	assert_int_equal(t.n, FAIL_REASONS_MAX);
	assert_int_equal(fail_total(&t), 3 + FAIL_REASONS_MAX + 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quantiles_within_resolution),
		cmocka_unit_test(small_values_exact_and_empty),
		cmocka_unit_test(merge_adds_up),
		cmocka_unit_test(failure_table_counts_by_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
