/* The UE population sources: the generator and the peers must agree on every UE's identity and
 * key whichever file format provisioned them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../bench/gen/pop.h"

static char path[64];

static void write_file(const char *text)
{
	strcpy(path, "/tmp/test_pop.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

#define K1 "48733b908aba6162f3cdb38d3055a6d7292367dda03e23fdae44e35c4e814dd6"
#define K2 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void keyfile(void **state)
{
	(void)state;
	struct pop p = { 0 };
	write_file("# comment\n\ne2m.ae47bf35@sensor-17@acme.example " K1 "\n"
		   "  e2m.00000001@b@x  " K2 "\n");
	assert_int_equal(pop_load_auto(&p, path, NULL), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.ue[1].identity, "e2m.00000001@b@x");
	assert_int_equal(p.ue[0].key[0], 0x48);
	assert_int_equal(p.ue[0].key[31], 0xd6);
	assert_int_equal(pop_index(&p), 0);
	const struct pop_ue *u = pop_find(&p, "e2m.00000001@b@x", 16);
	assert_non_null(u);
	assert_int_equal(u->key[1], 0x11);
	assert_null(pop_find(&p, "e2m.00000001@b@y", 16));
	pop_free(&p);
	unlink(path);
}

static void keyfile_rejects_bad_lines(void **state)
{
	(void)state;
	struct pop p = { 0 };
	write_file("e2m.00000001@b@x 0011\n");
	assert_int_equal(pop_load_keyfile(&p, path), -1);
	pop_free(&p);
	unlink(path);
}

/* emks-hss writes one object per UE with the keys per EMSE_Id under "emse" */
static void hss_lines_pick_the_emse_id(void **state)
{
	(void)state;
	struct pop p = { 0 };
	write_file("{\"imsi\":\"001010000000001\",\"app_id\":\"a@x\",\"key_id\":\"ae47bf35\",\"emse\":{"
		   "\"emse-1\":{\"psk_identity\":\"e2m.ae47bf35@a@x\",\"e2m_key\":\"" K1 "\"},"
		   "\"emse-2\":{\"psk_identity\":\"e2m.ae47bf35@a@x\",\"e2m_key\":\"" K2 "\"}}}\n"
		   "{\"imsi\":\"001010000000002\",\"emse\":{"
		   "\"emse-1\":{\"psk_identity\":\"e2m.00000002@b@x\",\"e2m_key\":\"" K1 "\"}}}\n");
	assert_int_equal(pop_load_auto(&p, path, "emse-2"), 0);
	assert_int_equal(p.n, 1); /* the second UE has no key for emse-2 */
	assert_int_equal(p.ue[0].key[0], 0x00);
	pop_free(&p);
	assert_int_equal(pop_load_auto(&p, path, "emse-1"), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.ue[0].key[0], 0x48);
	assert_string_equal(p.ue[1].identity, "e2m.00000002@b@x");
	pop_free(&p);
	assert_int_equal(pop_load_auto(&p, path, NULL), 0); /* no EMSE_Id: the first entry */
	assert_int_equal(p.n, 2);
	pop_free(&p);
	unlink(path);
}

static void synthetic_is_reproducible_and_round_trips(void **state)
{
	(void)state;
	struct pop a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	assert_int_equal(pop_synthetic(&a, 50, 7, "emse-1"), 0);
	assert_int_equal(pop_synthetic(&b, 50, 7, "emse-1"), 0);
	assert_int_equal(pop_synthetic(&c, 50, 8, "emse-1"), 0);
	assert_int_equal(pop_synthetic(&d, 50, 7, "emse-2"), 0);
	for (size_t i = 0; i < 50; i++) {
		assert_memory_equal(a.ue[i].key, b.ue[i].key, E2M_KEY_LEN);
		assert_string_equal(a.ue[i].identity, b.ue[i].identity);
		assert_memory_not_equal(a.ue[i].key, c.ue[i].key, E2M_KEY_LEN);
		assert_memory_not_equal(a.ue[i].key, d.ue[i].key, E2M_KEY_LEN); /* e2m_key is per EMSE */
		struct e2m_identity id;
		assert_int_equal(e2m_identity_parse((const uint8_t *)a.ue[i].identity, a.ue[i].id_len, &id), 0);
	}
	strcpy(path, "/tmp/test_pop_rt.XXXXXX");
	close(mkstemp(path));
	assert_int_equal(pop_write_keyfile(&a, path), 0);
	pop_free(&b);
	assert_int_equal(pop_load_keyfile(&b, path), 0);
	assert_int_equal(b.n, 50);
	for (size_t i = 0; i < 50; i++) {
		assert_memory_equal(a.ue[i].key, b.ue[i].key, E2M_KEY_LEN);
		assert_string_equal(a.ue[i].identity, b.ue[i].identity);
	}
	unlink(path);
	assert_int_equal(pop_synthetic(&a, 1, 7, NULL), -1);
	pop_free(&a);
	pop_free(&b);
	pop_free(&c);
	pop_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keyfile),
		cmocka_unit_test(keyfile_rejects_bad_lines),
		cmocka_unit_test(hss_lines_pick_the_emse_id),
		cmocka_unit_test(synthetic_is_reproducible_and_round_trips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
