/* The HSS simulator's population file: one UE per line, comments and blanks skipped, every
 * malformation refused with a reason (and the line number when loading a file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emse/hss.h"

#define K "465b5ce8b199b49faa5f0a2ee238a6bc"
#define OPC "cd63cb71954a9f4e48a5994e37a02baf"

static void test_parses_a_full_line(void **state)
{
	(void)state;
	struct hss_ue ue;
	char err[128];
	assert_int_equal(hss_population_parse_line("001010000000001 " K " " OPC
						   " a@x,b@y\temse-1,emse-2,emse-3\n", &ue, err,
						   sizeof(err)), 1);
	assert_string_equal(ue.imsi, "001010000000001");
	assert_int_equal(ue.k[0], 0x46);
	assert_int_equal(ue.k[15], 0xbc);
	assert_int_equal(ue.opc[0], 0xcd);
	assert_int_equal(ue.n_app, 2);
	assert_string_equal(ue.app_ids[1], "b@y");
	assert_int_equal(ue.n_emse, 3);
	assert_string_equal(ue.emse_ids[2], "emse-3");
	assert_int_equal(ue.key_id_mode, EMKS_KEY_ID_RAND);
}

/* The optional key id mode column (SPEC.md 6), rand by default. */
static void test_key_id_mode_column(void **state)
{
	(void)state;
	struct hss_ue ue;
	char err[128];
	assert_int_equal(hss_population_parse_line("00101 " K " " OPC " a e hash", &ue, err,
						   sizeof(err)), 1);
	assert_int_equal(ue.key_id_mode, EMKS_KEY_ID_HASH);
	assert_int_equal(hss_population_parse_line("00101 " K " " OPC " a e rand\n", &ue, err,
						   sizeof(err)), 1);
	assert_int_equal(ue.key_id_mode, EMKS_KEY_ID_RAND);
}

static void test_skips_comments_and_blank_lines(void **state)
{
	(void)state;
	struct hss_ue ue;
	char err[128];
	assert_int_equal(hss_population_parse_line("# imsi k opc apps emses\n", &ue, err, sizeof(err)), 0);
	assert_int_equal(hss_population_parse_line("   \t\n", &ue, err, sizeof(err)), 0);
	assert_int_equal(hss_population_parse_line("", &ue, err, sizeof(err)), 0);
}

static void test_refuses_malformed_lines(void **state)
{
	(void)state;
	struct hss_ue ue;
	char err[128];
	char long_app[300];
	snprintf(long_app, sizeof(long_app), "00101 " K " " OPC " %0116d e", 0);
	const char *bad[] = {
		"00101 " K " " OPC " a",                  /* 4 fields */
		"00101 " K " " OPC " a e extra",          /* 6th field not a key id mode */
		"00101 " K " " OPC " a e HASH",
		"00101 " K " " OPC " a e hash x",         /* 7 fields */
		"0010 " K " " OPC " a e",                 /* short imsi */
		"00101x " K " " OPC " a e",
		"00101 " K "0 " OPC " a e",               /* 33 digits */
		"00101 465b5ce8b199b49faa5f0a2ee238a6bg " OPC " a e", /* not hex */
		"00101 " K " " OPC " a,,b e",             /* empty app id */
		"00101 " K " " OPC " a ,",                /* no EMSE */
		long_app,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (hss_population_parse_line(bad[i], &ue, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_true(strlen(err) > 0);
	}
}

static void test_load_names_the_bad_line(void **state)
{
	(void)state;
	char path[] = "/tmp/emks-pop-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "# population\n00101 " K " " OPC " a e\n\n00102 " K " " OPC " b e1,e2\n");
	fclose(f);
	struct hss_ue *ues = NULL;
	size_t n = 0;
	char err[256];
	assert_int_equal(hss_population_load(path, &ues, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ues[1].imsi, "00102");
	assert_int_equal(ues[1].n_emse, 2);
	hss_population_free(ues, n);

	f = fopen(path, "a");
	fprintf(f, "00103 nothex " OPC " c e\n");
	fclose(f);
	assert_int_equal(hss_population_load(path, &ues, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 5"));
	assert_non_null(strstr(err, "k:"));
	unlink(path);
	assert_int_equal(hss_population_load(path, &ues, &n, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parses_a_full_line),
		cmocka_unit_test(test_key_id_mode_column),
		cmocka_unit_test(test_skips_comments_and_blank_lines),
		cmocka_unit_test(test_refuses_malformed_lines),
		cmocka_unit_test(test_load_names_the_bad_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
