/* The EMSE's application identity -> IMSI table: lookups, every malformation refused with the file
 * and line, the size limits, and the IMSI mask used wherever one might be printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emse/imsi_map.h"

#define P(s) (s), strlen(s), "map.txt"

static void test_lookup(void **state)
{
	(void)state;
	char err[256] = "";
	const char *text = "# app id            imsi\n"
			   "sensor-1@acme.example 001010000000001\n"
			   "\n"
			   "   \t# indented comment\n"
			   "nai-2@x\t\t001010000000002\r\n"
			   "u@v@w 00101"; /* no final newline */
	struct emse_imsi_map *m = emse_imsi_map_parse(P(text), err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(emse_imsi_map_size(m), 3);
	assert_string_equal(emse_imsi_map_lookup(m, "sensor-1@acme.example", 21), "001010000000001");
	assert_string_equal(emse_imsi_map_lookup(m, "nai-2@x", 7), "001010000000002");
	assert_string_equal(emse_imsi_map_lookup(m, "u@v@w", 5), "00101");
	/* Exact match only: no prefix, no longer id. */
	assert_null(emse_imsi_map_lookup(m, "sensor-1@acme.exampl", 20));
	assert_null(emse_imsi_map_lookup(m, "nai-2@xx", 8));
	assert_null(emse_imsi_map_lookup(m, "unknown", 7));
	assert_null(emse_imsi_map_lookup(NULL, "nai-2@x", 7));
	emse_imsi_map_free(m);
	/* An empty table is a valid table. */
	m = emse_imsi_map_parse(P("# nothing\n"), err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(emse_imsi_map_size(m), 0);
	assert_null(emse_imsi_map_lookup(m, "a", 1));
	emse_imsi_map_free(m);
}

static void test_malformed_lines_name_file_and_line(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *want;
	} bad[] = {
		{"a 00101\nb\n", "map.txt:2: need two fields"},
		{"a 00101 extra\n", "map.txt:1: need two fields"},
		{"ok 00101\n\n# c\na 0010\n", "map.txt:4: imsi"},
		{"a 0010100000000011\n", "map.txt:1: imsi"},
		{"a 00101x\n", "map.txt:1: imsi"},
		{"a\x01 00101\n", "map.txt:1: ue_app_id"},
		{"\xc3\x28 00101\n", "map.txt:1: ue_app_id"},
		{"a 00101\nb 00102\na 00103\n", "map.txt:3: ue_app_id given twice (line 1 maps it to *0101)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		struct emse_imsi_map *m = emse_imsi_map_parse(P(bad[i].text), err, sizeof(err));
		if (m || !strstr(err, bad[i].want))
			fail_msg("case %zu: want an error with '%s', got '%s'", i, bad[i].want, err);
	}
	/* A long app id (116 octets) is refused; 115 is fine. */
	char line[256], err[256];
	memset(line, 'a', 116);
	snprintf(line + 116, sizeof(line) - 116, " 00101\n");
	assert_null(emse_imsi_map_parse(P(line), err, sizeof(err)));
	assert_non_null(strstr(err, "map.txt:1: ue_app_id"));
	struct emse_imsi_map *m = emse_imsi_map_parse(P(line + 1), err, sizeof(err));
	assert_non_null(m);
	emse_imsi_map_free(m);
	/* A NUL inside a line. */
	static const char nul[] = "a 00101\nb\0 00102\n";
	assert_null(emse_imsi_map_parse(nul, sizeof(nul) - 1, "map.txt", err, sizeof(err)));
	assert_non_null(strstr(err, "map.txt:2:"));
}

/* The error text never holds a full IMSI. */
static void test_errors_mask_imsis(void **state)
{
	(void)state;
	char err[256] = "";
	assert_null(emse_imsi_map_parse(P("a 001019876543210\na 001011234567890\n"), err, sizeof(err)));
	assert_null(strstr(err, "001019876543210"));
	assert_null(strstr(err, "001011234567890"));
	assert_non_null(strstr(err, "***********3210"));
}

static void test_mask(void **state)
{
	(void)state;
	char out[EMSE_IMSI_MAX + 1];
	emse_imsi_mask("001010000000001", out);
	assert_string_equal(out, "***********0001");
	emse_imsi_mask("00101", out);
	assert_string_equal(out, "*0101");
	emse_imsi_mask("0010", out);
	assert_string_equal(out, "(invalid)");
	emse_imsi_mask("0010100000000011", out);
	assert_string_equal(out, "(invalid)");
	emse_imsi_mask("00101a", out);
	assert_string_equal(out, "(invalid)");
	emse_imsi_mask(NULL, out);
	assert_string_equal(out, "(invalid)");
}

static void test_load_file_and_limits(void **state)
{
	(void)state;
	char path[] = "/tmp/imsi-map-XXXXXX", err[512];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("a 00101\nb nope\n", f);
	fclose(f);
	assert_null(emse_imsi_map_load(path, err, sizeof(err)));
	char want[128];
	snprintf(want, sizeof(want), "%s:2: imsi", path);
	assert_non_null(strstr(err, want));
	f = fopen(path, "w");
	fputs("a 00101\nb 00102\n", f);
	fclose(f);
	struct emse_imsi_map *m = emse_imsi_map_load(path, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(emse_imsi_map_size(m), 2);
	emse_imsi_map_free(m);
	/* Over the octet limit: refused before parsing (a sparse file, nothing written). */
	assert_int_equal(truncate(path, (off_t)EMSE_IMSI_MAP_MAX_BYTES + 1), 0);
	assert_null(emse_imsi_map_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "over the limit"));
	unlink(path);
	assert_null(emse_imsi_map_load("/nonexistent/imsi.map", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/imsi.map: cannot open"));
}

/* Over the entry limit: one entry too many is refused, naming its line. */
static void test_entry_limit(void **state)
{
	(void)state;
	size_t n = EMSE_IMSI_MAP_MAX_ENTRIES + 1, cap = n * 16 + 1, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "%07zx 00101\n", i);
	char err[256] = "";
	assert_null(emse_imsi_map_parse(text, len, "big.map", err, sizeof(err)));
	char want[64];
	snprintf(want, sizeof(want), "big.map:%zu: more than", n);
	assert_non_null(strstr(err, want));
	/* One fewer fits. */
	struct emse_imsi_map *m = emse_imsi_map_parse(text, len - 14, "big.map", err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(emse_imsi_map_size(m), EMSE_IMSI_MAP_MAX_ENTRIES);
	assert_string_equal(emse_imsi_map_lookup(m, "00fffff", 7), "00101");
	emse_imsi_map_free(m);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_malformed_lines_name_file_and_line),
		cmocka_unit_test(test_errors_mask_imsis),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_load_file_and_limits),
		cmocka_unit_test(test_entry_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
