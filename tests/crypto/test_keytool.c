/* Runs the real build/e2m-keytool ($EMSE_BUILD/e2m-keytool, default build/) and checks what a user
 * sees: derive equals the vectors' chain entries, psk's two lines, exit 2 with one line naming the
 * option on bad input, --help. Vectors: tests/crypto/e2m-vectors.json or $E2M_VECTORS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <errno.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

static char tool[4096];
static json_t *vectors;

struct run {
	int status; /* exit code, or -1 if killed by a signal */
	char out[8192];
	char err[8192];
};

static int setup(void **state)
{
	(void)state;
	const char *b = getenv("EMSE_BUILD");
	snprintf(tool, sizeof(tool), "%s/e2m-keytool", b && *b ? b : "build");
	if (access(tool, X_OK) != 0) {
		fprintf(stderr, "%s not found: run from the repo root after 'make build/e2m-keytool', "
				"or set EMSE_BUILD\n", tool);
		return -1;
	}
	const char *path = getenv("E2M_VECTORS");
	if (!path || !*path)
		path = "tests/crypto/e2m-vectors.json";
	json_error_t err;
	vectors = json_load_file(path, 0, &err);
	if (!vectors) {
		fprintf(stderr, "cannot load %s: %s\n", path, err.text);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(vectors);
	return 0;
}

/* fork+exec rather than popen: arguments with quotes or control bytes pass unmangled by a shell,
 * and stdout and stderr are kept apart. */
static void run(struct run *r, const char *const *args)
{
	const char *argv[64];
	size_t n = 0;
	argv[n++] = tool;
	for (; args[n - 1]; n++) {
		assert_true(n < 63);
		argv[n] = args[n - 1];
	}
	argv[n] = NULL;

	int po[2], pe[2];
	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
		execv(tool, (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	size_t lo = 0, le = 0;
	struct pollfd pf[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
	int open_fds = 2;
	while (open_fds) {
		if (poll(pf, 2, 10000) <= 0)
			fail_msg("e2m-keytool did not finish within 10 s");
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			char *buf = i ? r->err : r->out;
			size_t *len = i ? &le : &lo;
			ssize_t got = read(pf[i].fd, buf + *len, sizeof(r->out) - 1 - *len);
			if (got <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_fds--;
			} else {
				*len += (size_t)got;
			}
		}
	}
	r->out[lo] = '\0';
	r->err[le] = '\0';
	int st;
	while (waitpid(pid, &st, 0) < 0)
		assert_int_equal(errno, EINTR);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* A usage error: exit 2, nothing on stdout, exactly one line on stderr naming the option. */
static void expect_usage_error(const char *const *args, const char *needle)
{
	struct run r;
	run(&r, args);
	if (r.status != 2 || r.out[0] || count_lines(r.err) != 1 || !strstr(r.err, needle) ||
	    strncmp(r.err, "e2m-keytool: ", 13) != 0)
		fail_msg("want exit 2 and one stderr line naming %s; got exit %d, stdout '%s', "
			 "stderr '%s'", needle, r.status, r.out, r.err);
}

static const char *vs(json_t *o, const char *f)
{
	const char *s = json_string_value(json_object_get(o, f));
	if (!s)
		fail_msg("vector field %s missing", f);
	return s;
}

static void check_derive_entry(json_t *v, int use_op, const char *op)
{
	const char *args[] = {"derive", "--k", vs(v, "k"), use_op ? "--op" : "--opc",
			      use_op ? op : vs(v, "opc"), "--rand", vs(v, "rand"), "--sqn", vs(v, "sqn"),
			      "--amf", vs(v, "amf"), "--app-id", vs(v, "ue_app_id"), "--emse-id",
			      vs(v, "emse_id"), NULL};
	struct run r;
	run(&r, args);
	if (r.status != 0)
		fail_msg("derive exited %d: %s", r.status, r.err);
	assert_int_equal(count_lines(r.out), 1);
	json_error_t err;
	json_t *got = json_loads(r.out, 0, &err);
	if (!json_is_object(got))
		fail_msg("derive output is not one JSON object: %s", err.text);
	const char *key;
	json_t *want;
	json_object_foreach(v, key, want) {
		const char *g = json_string_value(json_object_get(got, key));
		if (!g || strcmp(g, json_string_value(want)) != 0)
			fail_msg("derive field %s: got %s, want %s", key, g ? g : "(none)",
				 json_string_value(want));
	}
	/* Nothing beyond the vector's fields, except the OP that was given. */
	json_object_foreach(got, key, want) {
		if (!json_object_get(v, key) && !(use_op && strcmp(key, "op") == 0))
			fail_msg("derive printed an unexpected field %s", key);
	}
	if (use_op)
		assert_string_equal(json_string_value(json_object_get(got, "op")), op);
	json_decref(got);
}

/* The vector's key_id and psk_identity in hash mode, from OpenSSL's SHA-256 of its e2m_int_key. */
static void hash_mode_ids(json_t *v, char key_id[9], char *ident, size_t ident_size)
{
	uint8_t int_key[32], md[32];
	unsigned md_len = 0;
	const char *h = vs(v, "e2m_int_key");
	assert_int_equal(strlen(h), 64);
	for (int i = 0; i < 32; i++)
		assert_int_equal(sscanf(h + 2 * i, "%2hhx", &int_key[i]), 1);
	assert_int_equal(EVP_Digest(int_key, 32, md, &md_len, EVP_sha256(), NULL), 1);
	snprintf(key_id, 9, "%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
	snprintf(ident, ident_size, "e2m.%s@%s", key_id, vs(v, "ue_app_id"));
}

/* derive --key-id hash: the same fields, key_id and psk_identity from the hash, all else equal. */
static void test_derive_key_id_hash_every_chain_entry(void **state)
{
	(void)state;
	json_t *chain = json_object_get(vectors, "chain"), *v;
	size_t i;
	json_array_foreach(chain, i, v) {
		const char *args[] = {"derive", "--k", vs(v, "k"), "--opc", vs(v, "opc"), "--rand",
				      vs(v, "rand"), "--sqn", vs(v, "sqn"), "--amf", vs(v, "amf"),
				      "--app-id", vs(v, "ue_app_id"), "--emse-id", vs(v, "emse_id"),
				      "--key-id", "hash", NULL};
		struct run r;
		run(&r, args);
		if (r.status != 0)
			fail_msg("derive --key-id hash exited %d: %s", r.status, r.err);
		char key_id[9], ident[256];
		hash_mode_ids(v, key_id, ident, sizeof(ident));
		json_t *got = json_loads(r.out, 0, NULL);
		assert_true(json_is_object(got));
		assert_int_equal(json_object_size(got), json_object_size(v));
		const char *key;
		json_t *want;
		json_object_foreach(v, key, want) {
			const char *g = json_string_value(json_object_get(got, key));
			const char *w = strcmp(key, "key_id") == 0 ? key_id
					: strcmp(key, "psk_identity") == 0 ? ident
					: json_string_value(want);
			if (!g || strcmp(g, w) != 0)
				fail_msg("chain[%zu] hash mode %s: got %s, want %s", i, key,
					 g ? g : "(none)", w);
		}
		json_decref(got);
		/* --key-id rand is the default, spelled out. */
		args[15] = "--key-id=rand";
		args[16] = NULL;
		run(&r, args);
		assert_int_equal(r.status, 0);
		got = json_loads(r.out, 0, NULL);
		assert_string_equal(json_string_value(json_object_get(got, "key_id")), vs(v, "key_id"));
		json_decref(got);
	}
}

/* psk --key-id hash needs no RAND and prints the hash identity with the same key. */
static void test_psk_key_id_hash(void **state)
{
	(void)state;
	json_t *chain = json_object_get(vectors, "chain"), *v;
	size_t i;
	json_array_foreach(chain, i, v) {
		const char *args[] = {"psk", "--ck", vs(v, "ck"), "--ik", vs(v, "ik"), "--app-id",
				      vs(v, "ue_app_id"), "--emse-id", vs(v, "emse_id"), "--key-id",
				      "hash", NULL};
		struct run r;
		run(&r, args);
		assert_int_equal(r.status, 0);
		char key_id[9], ident[256], want[512];
		hash_mode_ids(v, key_id, ident, sizeof(ident));
		snprintf(want, sizeof(want), "%s\n%s\n", ident, vs(v, "e2m_key"));
		assert_string_equal(r.out, want);
	}
	json_t *c = json_array_get(chain, 0);
	const char *bad[] = {"psk", "--ck", vs(c, "ck"), "--ik", vs(c, "ik"), "--app-id", "a",
			     "--emse-id", "e", "--key-id", "sha1", NULL};
	expect_usage_error(bad, "--key-id");
	/* Rand mode still needs RAND. */
	const char *norand[] = {"psk", "--ck", vs(c, "ck"), "--ik", vs(c, "ik"), "--app-id", "a",
				"--emse-id", "e", NULL};
	expect_usage_error(norand, "--rand");
}

static void test_derive_equals_chain_0(void **state)
{
	(void)state;
	check_derive_entry(json_array_get(json_object_get(vectors, "chain"), 0), 0, NULL);
}

static void test_derive_equals_every_chain_entry(void **state)
{
	(void)state;
	json_t *chain = json_object_get(vectors, "chain"), *v;
	size_t i;
	assert_true(json_array_size(chain) > 0);
	json_array_foreach(chain, i, v)
		check_derive_entry(v, 0, NULL);
}

/* With OP instead of OPc (TS 35.208 set 1), the chain is the same as chain[0]'s. */
static void test_derive_with_op(void **state)
{
	(void)state;
	json_t *m = json_array_get(json_object_get(vectors, "milenage"), 0);
	json_t *c = json_array_get(json_object_get(vectors, "chain"), 0);
	assert_string_equal(vs(m, "k"), vs(c, "k"));
	assert_string_equal(vs(m, "opc"), vs(c, "opc"));
	check_derive_entry(c, 1, vs(m, "op"));
}

static void test_psk_prints_identity_then_key(void **state)
{
	(void)state;
	json_t *chain = json_object_get(vectors, "chain"), *v;
	size_t i;
	json_array_foreach(chain, i, v) {
		const char *args[] = {"psk", "--ck", vs(v, "ck"), "--ik", vs(v, "ik"), "--rand",
				      vs(v, "rand"), "--app-id", vs(v, "ue_app_id"), "--emse-id",
				      vs(v, "emse_id"), NULL};
		struct run r;
		run(&r, args);
		assert_int_equal(r.status, 0);
		char want[512];
		snprintf(want, sizeof(want), "%s\n%s\n", vs(v, "psk_identity"), vs(v, "e2m_key"));
		assert_string_equal(r.out, want);
		assert_string_equal(r.err, "");
	}
}

static void test_settings_options(void **state)
{
	(void)state;
	json_t *v = json_array_get(json_object_get(vectors, "chain"), 0);
	/* Giving the defaults explicitly changes nothing. */
	const char *same[] = {"psk", "--ck", vs(v, "ck"), "--ik", vs(v, "ik"), "--rand", vs(v, "rand"),
			      "--app-id", vs(v, "ue_app_id"), "--emse-id", vs(v, "emse_id"),
			      "--fc-int", "ffe0", "--fc-key=FFE1", "--label", "e2m_CIoT", NULL};
	struct run r;
	run(&r, same);
	assert_int_equal(r.status, 0);
	char want[512];
	snprintf(want, sizeof(want), "%s\n%s\n", vs(v, "psk_identity"), vs(v, "e2m_key"));
	assert_string_equal(r.out, want);
	/* Another FC gives another key under the same identity. */
	const char *other[] = {"psk", "--ck", vs(v, "ck"), "--ik", vs(v, "ik"), "--rand",
			       vs(v, "rand"), "--app-id", vs(v, "ue_app_id"), "--emse-id",
			       vs(v, "emse_id"), "--fc-key", "ffd1", NULL};
	run(&r, other);
	assert_int_equal(r.status, 0);
	assert_int_equal(count_lines(r.out), 2);
	assert_true(strncmp(r.out, vs(v, "psk_identity"), strlen(vs(v, "psk_identity"))) == 0);
	assert_null(strstr(r.out, vs(v, "e2m_key")));
	const char *half[] = {"psk", "--ck", vs(v, "ck"), "--ik", vs(v, "ik"), "--rand",
			      vs(v, "rand"), "--app-id", "a", "--emse-id", "e", "--fc-int", "10", NULL};
	expect_usage_error(half, "--fc-key");
	const char *bad[] = {"psk", "--ck", vs(v, "ck"), "--ik", vs(v, "ik"), "--rand",
			     vs(v, "rand"), "--app-id", "a", "--emse-id", "e", "--fc-access", "fee2",
			     NULL};
	expect_usage_error(bad, "--fc-access");
}

#define K "465b5ce8b199b49faa5f0a2ee238a6bc"
#define OPC "cd63cb71954a9f4e48a5994e37a02baf"
#define RAND "23553cbe9637a89d218ae64dae47bf35"

static void test_bad_input_exits_2_naming_the_option(void **state)
{
	(void)state;
	{
		const char *a[] = {"derive", "--k", "465b5ce8", "--opc", OPC, "--rand", RAND, "--sqn",
				   "ff9bb4d0b607", "--amf", "b9b9", "--app-id", "x", "--emse-id", "e", NULL};
		expect_usage_error(a, "--k: expected 32 hex digits");
	}
	{
		const char *a[] = {"derive", "--k", K, "--opc", OPC, "--rand", RAND, "--sqn",
				   "ff9bb4d0b60", "--amf", "b9b9", "--app-id", "x", "--emse-id", "e", NULL};
		expect_usage_error(a, "--sqn: expected 12 hex digits");
	}
	{
		const char *a[] = {"derive", "--k", K, "--opc", OPC, "--rand", RAND, "--sqn",
				   "ff9bb4d0b607", "--amf", "b9bz", "--app-id", "x", "--emse-id", "e", NULL};
		expect_usage_error(a, "--amf: expected 4 hex digits");
	}
	{
		const char *a[] = {"derive", "--k", K, "--opc", OPC, "--sqn", "ff9bb4d0b607", "--amf",
				   "b9b9", "--app-id", "x", "--emse-id", "e", NULL};
		expect_usage_error(a, "--rand");
	}
	{
		const char *a[] = {"derive", "--k", K, "--rand", RAND, "--sqn", "ff9bb4d0b607", "--amf",
				   "b9b9", "--app-id", "x", "--emse-id", "e", NULL};
		expect_usage_error(a, "--opc");
	}
	{
		const char *a[] = {"derive", "--k", K, "--opc", OPC, "--op", OPC, "--rand", RAND, "--sqn",
				   "ff9bb4d0b607", "--amf", "b9b9", "--app-id", "x", "--emse-id", "e", NULL};
		expect_usage_error(a, "--op");
	}
	{
		const char *a[] = {"derive", "--k", K, "--frobnicate", "1", NULL};
		expect_usage_error(a, "--frobnicate: unknown option");
	}
	{
		const char *a[] = {"psk", "--ck", K, "--ik", K, "--rand", RAND, "--app-id", "x",
				   "--emse-id", "e", "--k", K, NULL};
		expect_usage_error(a, "--k");
	}
	{
		const char *a[] = {"psk", "--ck", K, "--ik", K, "--rand", RAND, "--app-id", "x",
				   "--emse-id", NULL};
		expect_usage_error(a, "--emse-id: missing value");
	}
	{
		const char *a[] = {"psk", "--ck", K, "--ck", K, NULL};
		expect_usage_error(a, "--ck: given twice");
	}
	{
		const char *a[] = {"psk", "--ck", K, "--ik", "", "--rand", RAND, "--app-id", "x",
				   "--emse-id", "e", NULL};
		expect_usage_error(a, "--ik: expected 32 hex digits");
	}
	{
		const char *a[] = {"psk", "--ck", K, "--ik", K, "--rand", RAND, "--app-id", "",
				   "--emse-id", "e", NULL};
		expect_usage_error(a, "--app-id");
	}
	{
		const char *a[] = {"psk", "--ck", K, "--ik", K, "--rand", RAND, "--app-id", "a\nb",
				   "--emse-id", "e", NULL};
		expect_usage_error(a, "--app-id");
	}
	{
		char app[120];
		memset(app, 'a', 116);
		app[116] = '\0';
		const char *a[] = {"psk", "--ck", K, "--ik", K, "--rand", RAND, "--app-id", app,
				   "--emse-id", "e", NULL};
		expect_usage_error(a, "--app-id");
	}
	{
		char emse[70];
		memset(emse, 'e', 65);
		emse[65] = '\0';
		const char *a[] = {"psk", "--ck", K, "--ik", K, "--rand", RAND, "--app-id", "x",
				   "--emse-id", emse, NULL};
		expect_usage_error(a, "--emse-id");
	}
	{
		const char *a[] = {"psk", "--ck", K, "--ik", K, "--rand", RAND, "--app-id", "\xc0\xaf",
				   "--emse-id", "e", NULL};
		expect_usage_error(a, "--app-id");
	}
	{
		const char *a[] = {NULL};
		expect_usage_error(a, "derive or psk");
	}
	{
		const char *a[] = {"frob", NULL};
		expect_usage_error(a, "frob");
	}
}

static void test_help_exits_0(void **state)
{
	(void)state;
	const char *forms[][3] = {{"--help", NULL}, {"-h", NULL}, {"derive", "--help"}, {"psk", "--help"}};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct run r;
		run(&r, forms[i]);
		assert_int_equal(r.status, 0);
		assert_non_null(strstr(r.out, "derive --k HEX"));
		assert_non_null(strstr(r.out, "psk --ck HEX"));
		assert_non_null(strstr(r.out, "--emse-id"));
		assert_string_equal(r.err, "");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive_equals_chain_0),
		cmocka_unit_test(test_derive_equals_every_chain_entry),
		cmocka_unit_test(test_derive_with_op),
		cmocka_unit_test(test_psk_prints_identity_then_key),
		cmocka_unit_test(test_settings_options),
		cmocka_unit_test(test_bad_input_exits_2_naming_the_option),
		cmocka_unit_test(test_help_exits_0),
		cmocka_unit_test(test_derive_key_id_hash_every_chain_entry),
		cmocka_unit_test(test_psk_key_id_hash),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
