/* Key cache: put/lookup, negative entries, expiry, eviction, and the RCU grace period with a reader
 * on another lcore. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../eal_cleanup.h"

#include <dirent.h>
#include <limits.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>

#include "emse/keycache.h"

static const char APP[] = "app.example";
#define APPLEN ((uint8_t)(sizeof(APP) - 1))

static int eal_up(void **state)
{
	(void)state;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "test_keycache_%d", (int)getpid());
	char *argv[] = {"test_keycache", "-l", "0-1", "--no-huge", "-m", "256", "--no-pci",
			"--file-prefix", prefix, "--log-level=lib.eal:error", NULL};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;
	return rte_eal_init(argc, argv) < 0 ? -1 : 0;
}

static int eal_down(void **state)
{
	(void)state;
	eal_cleanup_all();
	return 0;
}

static struct rte_rcu_qsbr *qsbr_new(unsigned n)
{
	size_t sz = rte_rcu_qsbr_get_memsize(n);
	struct rte_rcu_qsbr *q = rte_zmalloc("qsbr", sz, RTE_CACHE_LINE_SIZE);
	assert_non_null(q);
	assert_int_equal(rte_rcu_qsbr_init(q, n), 0);
	return q;
}

static void fill(uint8_t k[E2M_KEY_LEN], uint8_t v)
{
	memset(k, v, E2M_KEY_LEN);
}

static void test_put_lookup(void **state)
{
	(void)state;
	struct rte_rcu_qsbr *q = qsbr_new(2);
	struct emse_keycache *kc = emse_keycache_create("emse-a", 16, q, 2);
	assert_non_null(kc);
	assert_string_equal(emse_keycache_emse_id(kc), "emse-a");
	uint8_t k[E2M_KEY_LEN], out[E2M_KEY_LEN];
	fill(k, 0x5a);
	assert_int_equal(emse_keycache_lookup(kc, 0, 1, APP, APPLEN, 100, out), EMSE_KC_MISS);
	assert_int_equal(emse_keycache_put(kc, 1, APP, APPLEN, k, 1000), 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(emse_keycache_lookup(kc, 1, 1, APP, APPLEN, 100, out), EMSE_KC_HIT);
	assert_memory_equal(out, k, E2M_KEY_LEN);
	/* Another key id, another app id (a prefix of the first): both distinct keys. */
	assert_int_equal(emse_keycache_lookup(kc, 0, 2, APP, APPLEN, 100, out), EMSE_KC_MISS);
	assert_int_equal(emse_keycache_lookup(kc, 0, 1, APP, APPLEN - 1, 100, out), EMSE_KC_MISS);
	/* Replacing a key publishes the new value and retires the old entry. */
	fill(k, 0x77);
	assert_int_equal(emse_keycache_put(kc, 1, APP, APPLEN, k, 1000), 0);
	assert_int_equal(emse_keycache_lookup(kc, 0, 1, APP, APPLEN, 100, out), EMSE_KC_HIT);
	assert_memory_equal(out, k, E2M_KEY_LEN);

	struct emse_keycache_stats s;
	emse_keycache_stats(kc, &s);
	assert_int_equal(s.entries, 1);
	assert_int_equal(s.hits, 2);
	assert_int_equal(s.misses, 3);
	assert_int_equal(s.inserts, 2);
	assert_int_equal(s.frees_deferred, 1);
	/* No worker registered: the grace period is over at once. */
	emse_keycache_maintain(kc, 100);
	emse_keycache_stats(kc, &s);
	assert_int_equal(s.frees_reclaimed, 1);
	assert_int_equal(s.defer_pending, 0);
	/* Invalid app id lengths are refused. */
	assert_int_not_equal(emse_keycache_put(kc, 1, APP, 0, k, 1000), 0);
	emse_keycache_destroy(kc);
	rte_free(q);
}

static void test_negative_and_expiry(void **state)
{
	(void)state;
	struct emse_keycache *kc = emse_keycache_create("emse-a", 16, NULL, 1);
	assert_non_null(kc);
	uint8_t k[E2M_KEY_LEN], out[E2M_KEY_LEN];
	fill(k, 1);
	assert_int_equal(emse_keycache_put_negative(kc, 7, APP, APPLEN, 130), 0);
	assert_int_equal(emse_keycache_lookup(kc, 0, 7, APP, APPLEN, 100, out), EMSE_KC_NEGATIVE);
	assert_int_equal(emse_keycache_peek(kc, 7, APP, APPLEN, 100), EMSE_KC_NEGATIVE);
	assert_int_equal(emse_keycache_put(kc, 8, APP, APPLEN, k, 200), 0);
	assert_int_equal(emse_keycache_lookup(kc, 0, 8, APP, APPLEN, 199, out), EMSE_KC_HIT);
	/* At the expiry second neither entry answers any more. */
	assert_int_equal(emse_keycache_lookup(kc, 0, 7, APP, APPLEN, 130, out), EMSE_KC_MISS);
	assert_int_equal(emse_keycache_lookup(kc, 0, 8, APP, APPLEN, 200, out), EMSE_KC_MISS);
	assert_int_equal(emse_keycache_peek(kc, 8, APP, APPLEN, 200), EMSE_KC_MISS);
	struct emse_keycache_stats s;
	emse_keycache_stats(kc, &s);
	assert_int_equal(s.negative_hits, 1);
	assert_int_equal(s.expired, 2);
	assert_int_equal(s.entries, 2);
	assert_int_equal(s.negative_entries, 1);
	/* Maintenance drops what expired (only the negative one at 150). */
	emse_keycache_maintain(kc, 150);
	emse_keycache_stats(kc, &s);
	assert_int_equal(s.entries, 1);
	assert_int_equal(s.negative_entries, 0);
	assert_int_equal(s.expired_dropped, 1);
	emse_keycache_maintain(kc, 250);
	emse_keycache_stats(kc, &s);
	assert_int_equal(s.entries, 0);
	assert_int_equal(s.expired_dropped, 2);
	assert_int_equal(s.frees_reclaimed, 2);
	emse_keycache_destroy(kc);
}

static void test_eviction_oldest_first(void **state)
{
	(void)state;
	struct emse_keycache *kc = emse_keycache_create("emse-a", 4, NULL, 1);
	assert_non_null(kc);
	uint8_t k[E2M_KEY_LEN], out[E2M_KEY_LEN];
	for (uint32_t id = 1; id <= 4; id++) {
		fill(k, (uint8_t)id);
		assert_int_equal(emse_keycache_put(kc, id, APP, APPLEN, k, 1000), 0);
	}
	/* Replacing id 1 makes it the newest; the next new key then pushes out id 2. */
	fill(k, 11);
	assert_int_equal(emse_keycache_put(kc, 1, APP, APPLEN, k, 1000), 0);
	fill(k, 5);
	assert_int_equal(emse_keycache_put(kc, 5, APP, APPLEN, k, 1000), 0);
	assert_int_equal(emse_keycache_lookup(kc, 0, 2, APP, APPLEN, 10, out), EMSE_KC_MISS);
	for (uint32_t id = 3; id <= 5; id++) {
		assert_int_equal(emse_keycache_lookup(kc, 0, id, APP, APPLEN, 10, out), EMSE_KC_HIT);
		assert_int_equal(out[0], id);
	}
	assert_int_equal(emse_keycache_lookup(kc, 0, 1, APP, APPLEN, 10, out), EMSE_KC_HIT);
	assert_int_equal(out[0], 11);
	struct emse_keycache_stats s;
	emse_keycache_stats(kc, &s);
	assert_int_equal(s.entries, 4);
	assert_int_equal(s.evictions, 1);
	/* Many more keys than capacity: the table stays bounded and every put succeeds. */
	for (uint32_t id = 100; id < 2100; id++) {
		fill(k, (uint8_t)id);
		assert_int_equal(emse_keycache_put(kc, id, APP, APPLEN, k, 1000), 0);
		emse_keycache_maintain(kc, 10);
	}
	emse_keycache_stats(kc, &s);
	assert_int_equal(s.entries, 4);
	assert_int_equal(s.evictions, 2001);
	assert_int_equal(s.put_failures, 0);
	emse_keycache_destroy(kc);
}

/* ---- a reader on lcore 1 ---------------------------------------------------------------------- */

struct reader_ctl {
	struct emse_keycache *kc;
	struct rte_rcu_qsbr *q;
	volatile int stop;
	volatile int phase;   /* handshake for the grace period test */
	volatile uint64_t lookups, hits, torn;
};

/* Stress: looks the same key up as fast as it can while the writer replaces it; every key read
 * must be one whole published value (all 32 bytes equal). */
static int reader_stress(void *arg)
{
	struct reader_ctl *r = arg;
	rte_rcu_qsbr_thread_register(r->q, 0);
	rte_rcu_qsbr_thread_online(r->q, 0);
	uint8_t out[E2M_KEY_LEN];
	while (!r->stop) {
		for (int i = 0; i < 16; i++) {
			uint32_t id = (uint32_t)(r->lookups % 8);
			if (emse_keycache_lookup(r->kc, 0, id, APP, APPLEN, 10, out) == EMSE_KC_HIT) {
				r->hits++;
				for (int b = 1; b < E2M_KEY_LEN; b++)
					if (out[b] != out[0]) {
						r->torn++;
						break;
					}
			}
			r->lookups++;
		}
		rte_rcu_qsbr_quiescent(r->q, 0);
	}
	rte_rcu_qsbr_thread_offline(r->q, 0);
	rte_rcu_qsbr_thread_unregister(r->q, 0);
	return 0;
}

static void test_rcu_concurrent_reader(void **state)
{
	(void)state;
	unsigned lc = rte_get_next_lcore(-1, 1, 0);
	assert_true(lc < RTE_MAX_LCORE);
	struct rte_rcu_qsbr *q = qsbr_new(1);
	struct emse_keycache *kc = emse_keycache_create("emse-a", 64, q, 1);
	assert_non_null(kc);
	struct reader_ctl r = {.kc = kc, .q = q};
	assert_int_equal(rte_eal_remote_launch(reader_stress, &r, lc), 0);
	uint8_t k[E2M_KEY_LEN];
	for (uint32_t n = 0; n < 200000; n++) {
		fill(k, (uint8_t)(n * 7 + 1));
		/* Replace keys 0..7 and churn others through eviction, so entries get retired. A put
		 * may fail when the reader lags (the pool waits for its grace period): allowed here. */
		emse_keycache_put(kc, n % 8, APP, APPLEN, k, 1000);
		if (n % 3 == 0)
			emse_keycache_put(kc, 1000 + n, APP, APPLEN, k, 1000);
		if (n % 16 == 0)
			emse_keycache_maintain(kc, 10);
	}
	r.stop = 1;
	rte_eal_wait_lcore(lc);
	emse_keycache_maintain(kc, 10);
	struct emse_keycache_stats s;
	emse_keycache_stats(kc, &s);
	print_message("reader: %llu lookups, %llu hits; deferred %llu reclaimed %llu put failures %llu\n",
		      (unsigned long long)r.lookups, (unsigned long long)r.hits,
		      (unsigned long long)s.frees_deferred, (unsigned long long)s.frees_reclaimed,
		      (unsigned long long)s.put_failures);
	assert_int_equal(r.torn, 0);
	assert_true(s.frees_deferred > 0);
	/* Reader offline now: everything retired has come back. */
	assert_int_equal(s.frees_reclaimed, s.frees_deferred);
	assert_int_equal(s.defer_pending, 0);
	emse_keycache_destroy(kc);
	rte_free(q);
}

/* Holds one read-side critical section open until the writer says so. */
static int reader_hold(void *arg)
{
	struct reader_ctl *r = arg;
	uint8_t out[E2M_KEY_LEN];
	rte_rcu_qsbr_thread_register(r->q, 0);
	rte_rcu_qsbr_thread_online(r->q, 0);
	r->hits = emse_keycache_lookup(r->kc, 0, 1, APP, APPLEN, 10, out) == EMSE_KC_HIT;
	__atomic_store_n(&r->phase, 1, __ATOMIC_RELEASE); /* holding */
	while (__atomic_load_n(&r->phase, __ATOMIC_ACQUIRE) != 2)
		rte_pause();
	rte_rcu_qsbr_quiescent(r->q, 0);
	__atomic_store_n(&r->phase, 3, __ATOMIC_RELEASE); /* passed */
	while (!r->stop)
		rte_pause();
	rte_rcu_qsbr_thread_offline(r->q, 0);
	rte_rcu_qsbr_thread_unregister(r->q, 0);
	return 0;
}

static void test_rcu_no_reuse_before_quiescent(void **state)
{
	(void)state;
	unsigned lc = rte_get_next_lcore(-1, 1, 0);
	struct rte_rcu_qsbr *q = qsbr_new(1);
	/* capacity 1: the pool is 1 + headroom entries. */
	struct emse_keycache *kc = emse_keycache_create("emse-a", 1, q, 1);
	assert_non_null(kc);
	struct emse_keycache_stats s;
	emse_keycache_stats(kc, &s);
	const uint64_t headroom = s.pool_size - 1;
	assert_true(headroom >= 1);
	uint8_t k[E2M_KEY_LEN];
	fill(k, 1);
	assert_int_equal(emse_keycache_put(kc, 1, APP, APPLEN, k, 1000), 0);
	struct reader_ctl r = {.kc = kc, .q = q};
	assert_int_equal(rte_eal_remote_launch(reader_hold, &r, lc), 0);
	while (__atomic_load_n(&r.phase, __ATOMIC_ACQUIRE) != 1)
		rte_pause();
	assert_int_equal(r.hits, 1);

	/* Replacements use up the headroom; every old entry waits for the reader. */
	for (uint64_t n = 0; n < headroom; n++) {
		fill(k, (uint8_t)(n + 2));
		assert_int_equal(emse_keycache_put(kc, 1, APP, APPLEN, k, 1000), 0);
		emse_keycache_maintain(kc, 10);
	}
	emse_keycache_stats(kc, &s);
	assert_int_equal(s.frees_deferred, headroom);
	assert_int_equal(s.frees_reclaimed, 0);
	assert_int_equal(s.defer_pending, headroom);
	/* The next put would need a retired slot: it fails rather than reuse one. */
	assert_int_not_equal(emse_keycache_put(kc, 1, APP, APPLEN, k, 1000), 0);
	emse_keycache_stats(kc, &s);
	assert_int_equal(s.put_failures, 1);
	assert_int_equal(s.frees_reclaimed, 0);

	__atomic_store_n(&r.phase, 2, __ATOMIC_RELEASE);
	while (__atomic_load_n(&r.phase, __ATOMIC_ACQUIRE) != 3)
		rte_pause();
	emse_keycache_maintain(kc, 10);
	emse_keycache_stats(kc, &s);
	assert_int_equal(s.frees_reclaimed, headroom);
	assert_int_equal(s.defer_pending, 0);
	assert_int_equal(emse_keycache_put(kc, 1, APP, APPLEN, k, 1000), 0);
	r.stop = 1;
	rte_eal_wait_lcore(lc);
	emse_keycache_destroy(kc);
	rte_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_lookup),
		cmocka_unit_test(test_negative_and_expiry),
		cmocka_unit_test(test_eviction_oldest_first),
		cmocka_unit_test(test_rcu_concurrent_reader),
		cmocka_unit_test(test_rcu_no_reuse_before_quiescent),
	};
	return cmocka_run_group_tests(tests, eal_up, eal_down);
}
