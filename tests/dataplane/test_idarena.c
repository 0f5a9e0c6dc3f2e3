/* dataplane/idarena.c: identities of every length round-trip; chunks come back on drop; a full
 * arena refuses instead of overwriting; bad references are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "eal.h"
#include "emse/idarena.h"

static void make_id(struct e2m_identity *id, uint32_t key_id, unsigned len, char fill)
{
	memset(id, 0, sizeof(*id));
	id->key_id = key_id;
	id->app_id_len = (uint8_t)len;
	for (unsigned i = 0; i < len; i++)
		id->app_id[i] = (char)(fill + (char)(i % 20));
}

static void test_round_trip_every_length(void **state)
{
	(void)state;
	struct emse_idarena a;
	assert_int_equal(emse_idarena_init(&a, 64, 0), 0);
	for (unsigned len = 1; len <= E2M_APP_ID_MAX; len++) {
		struct e2m_identity in, out;
		make_id(&in, 0xae47bf35u ^ len, len, 'a');
		uint32_t ref = emse_idarena_put(&a, &in);
		assert_int_not_equal(ref, 0);
		assert_int_equal(emse_idarena_get(&a, ref, &out), 0);
		assert_int_equal(out.key_id, in.key_id);
		assert_int_equal(out.app_id_len, len);
		assert_memory_equal(out.app_id, in.app_id, len);
		assert_int_equal(out.app_id[len], '\0');
		/* a typical identity takes one chunk: 5 + 23 octets fit in 28 */
		if (len <= EMSE_IDCHUNK_DATA - 5)
			assert_int_equal(a.n_free, 63);
		emse_idarena_drop(&a, ref);
		assert_int_equal(a.n_free, 64);
	}
	emse_idarena_fini(&a);
}

static void test_full_arena_refuses(void **state)
{
	(void)state;
	struct emse_idarena a;
	assert_int_equal(emse_idarena_init(&a, 10, 0), 0);
	struct e2m_identity big, small, out;
	make_id(&big, 1, E2M_APP_ID_MAX, 'A'); /* 120 octets: 5 chunks */
	make_id(&small, 2, 10, 'x');
	uint32_t r1 = emse_idarena_put(&a, &big), r2 = emse_idarena_put(&a, &big);
	assert_true(r1 && r2);
	assert_int_equal(emse_idarena_put(&a, &small), 0);
	assert_int_equal(emse_idarena_get(&a, r1, &out), 0);
	assert_memory_equal(out.app_id, big.app_id, E2M_APP_ID_MAX);
	emse_idarena_drop(&a, r2);
	uint32_t r3 = emse_idarena_put(&a, &small);
	assert_int_not_equal(r3, 0);
	assert_int_equal(emse_idarena_get(&a, r3, &out), 0);
	assert_int_equal(out.key_id, 2);
	assert_int_equal(emse_idarena_get(&a, r1, &out), 0); /* the other one is untouched */
	assert_memory_equal(out.app_id, big.app_id, E2M_APP_ID_MAX);
	assert_int_equal(emse_idarena_get(&a, 0, &out), -1);
	assert_int_equal(emse_idarena_get(&a, 11, &out), -1);
	emse_idarena_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_length),
		cmocka_unit_test(test_full_arena_refuses),
	};
	return cmocka_run_group_tests(tests, eal_up, eal_down);
}
