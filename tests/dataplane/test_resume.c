/* dataplane/resume.c: an entry is found by its whole session id only, until its lifetime ends;
 * a new entry in the same slot evicts the old one (counted) and gives back its identity; expiry,
 * the sweep and the end wipe master secrets; with resume_max = 0 nothing is kept. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "eal.h"
#include "emse/dtls/record.h"
#include "emse/resume.h"

static const uint8_t SUITE[2] = {0xc0, 0xa8};

static void sid_of(uint32_t slot_hash, uint8_t tag, uint8_t sid[EMSE_SID_LEN])
{
	memset(sid, tag, EMSE_SID_LEN);
	memcpy(sid, &slot_hash, 4);
}

static struct e2m_identity ident(const char *app)
{
	struct e2m_identity id = { .key_id = 0x12345678 };
	id.app_id_len = (uint8_t)strlen(app);
	memcpy(id.app_id, app, id.app_id_len);
	return id;
}

static void test_find_put_evict(void **state)
{
	(void)state;
	struct emse_resume c;
	struct emse_idarena ids;
	assert_int_equal(emse_idarena_init(&ids, 64, 0), 0);
	assert_int_equal(emse_resume_init(&c, 8, 100, 0), 0);
	uint8_t a[EMSE_SID_LEN], b[EMSE_SID_LEN], ms[EMSE_MS_LEN];
	memset(ms, 0xab, sizeof(ms));
	sid_of(3, 0x11, a);
	sid_of(3 + 8, 0x22, b); /* the same slot */
	struct e2m_identity id = ident("meter-1@acme.example"), back;
	uint32_t free0 = ids.n_free;
	emse_resume_put(&c, &ids, a, ms, SUITE, EMSE_REC_AES128_CCM8, 1, &id, 1000);
	assert_int_equal(ids.n_free, free0 - 1);
	const struct emse_resume_entry *e = emse_resume_find(&c, &ids, a, sizeof(a), 1000);
	assert_non_null(e);
	assert_memory_equal(e->ms, ms, sizeof(ms));
	assert_int_equal(e->ems, 1);
	assert_int_equal(e->cipher, EMSE_REC_AES128_CCM8);
	assert_int_equal(emse_idarena_get(&ids, e->id_ref, &back), 0);
	assert_string_equal(back.app_id, id.app_id);
	/* every octet of the id counts, and so does its length */
	for (int i = 0; i < EMSE_SID_LEN; i++) {
		uint8_t x[EMSE_SID_LEN];
		memcpy(x, a, sizeof(x));
		x[i] ^= 0x80;
		assert_null(emse_resume_find(&c, &ids, x, sizeof(x), 1000));
	}
	assert_null(emse_resume_find(&c, &ids, a, 31, 1000));
	/* b takes a's slot: a is gone, its identity back in the arena */
	emse_resume_put(&c, &ids, b, ms, SUITE, EMSE_REC_AES128_CCM8, 0, &id, 1001);
	assert_int_equal(c.st.evictions, 1);
	assert_int_equal(ids.n_free, free0 - 1);
	assert_null(emse_resume_find(&c, &ids, a, sizeof(a), 1001));
	assert_non_null(emse_resume_find(&c, &ids, b, sizeof(b), 1001));
	emse_resume_fini(&c, &ids);
	assert_int_equal(ids.n_free, free0);
	emse_idarena_fini(&ids);
}

static int zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static void test_lifetime_and_wipe(void **state)
{
	(void)state;
	struct emse_resume c;
	struct emse_idarena ids;
	assert_int_equal(emse_idarena_init(&ids, 64, 0), 0);
	assert_int_equal(emse_resume_init(&c, 4, 100, 0), 0);
	uint8_t a[EMSE_SID_LEN], b[EMSE_SID_LEN], ms[EMSE_MS_LEN];
	memset(ms, 0xcd, sizeof(ms));
	sid_of(0, 0x33, a);
	sid_of(1, 0x44, b);
	emse_resume_put(&c, &ids, a, ms, SUITE, EMSE_REC_AES128_CCM8, 1, NULL, 1000);
	emse_resume_put(&c, &ids, b, ms, SUITE, EMSE_REC_AES128_CCM8, 1, NULL, 1000);
	assert_non_null(emse_resume_find(&c, &ids, a, sizeof(a), 1099));
	/* expired: not found, and its slot wiped by the lookup */
	assert_null(emse_resume_find(&c, &ids, a, sizeof(a), 1100));
	assert_true(zero(&c.e[0], sizeof(c.e[0])));
	/* b expired too: the sweep wipes it without a lookup */
	assert_false(zero(&c.e[1], sizeof(c.e[1])));
	emse_resume_sweep(&c, &ids, 1100, 4);
	assert_true(zero(&c.e[1], sizeof(c.e[1])));
	/* an expired entry overwritten is not an eviction */
	emse_resume_put(&c, &ids, a, ms, SUITE, EMSE_REC_AES128_CCM8, 1, NULL, 2000);
	emse_resume_put(&c, &ids, a, ms, SUITE, EMSE_REC_AES128_CCM8, 1, NULL, 2200);
	assert_int_equal(c.st.evictions, 0);
	emse_resume_fini(&c, &ids);
	emse_idarena_fini(&ids);
}

static void test_off(void **state)
{
	(void)state;
	struct emse_resume c;
	uint8_t a[EMSE_SID_LEN] = {0}, ms[EMSE_MS_LEN] = {0};
	assert_int_equal(emse_resume_init(&c, 0, 100, 0), 0);
	assert_null(c.e);
	emse_resume_put(&c, NULL, a, ms, SUITE, EMSE_REC_AES128_CCM8, 1, NULL, 1);
	assert_null(emse_resume_find(&c, NULL, a, sizeof(a), 1));
	assert_int_equal(c.st.stored, 0);
	assert_int_equal(emse_resume_bytes(1000), 1000 * sizeof(struct emse_resume_entry));
	emse_resume_fini(&c, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_put_evict),
		cmocka_unit_test(test_lifetime_and_wipe),
		cmocka_unit_test(test_off),
	};
	return cmocka_run_group_tests(tests, eal_up, eal_down);
}
