/* dataplane/config.c: a good file loads with its values; every kind of bad setting is refused
 * with one message naming the line and the setting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "emse/config.h"

static char path[64];

static int load(const char *text, struct emse_config *c, char *err, size_t n)
{
	snprintf(path, sizeof(path), "/tmp/emse-test-config.%d", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	int rc = emse_config_load(path, c, err, n);
	unlink(path);
	return rc;
}

#define BASE                                                                                       \
	"[port]\naddress = 198.18.0.1\naddress = 2001:db8::1\n"                                    \
	"[listener a]\naddress = 198.18.0.1\nport = 5684\nemse_id = emse-1\n"                      \
	"[keys]\nsource = file\nfile = /dev/null\n"

static void test_good_file(void **state)
{
	(void)state;
	static struct emse_config c;
	char err[256] = "";
	assert_int_equal(load("# comment\n[emse]\nmax_sessions = 1000\nhalf_open_max = 10\n"
			      "suites = gcm, ccm8\npsk_hint = e2m\nhandshake_engine = wolfssl\n" BASE
			      "[listener b]\naddress = 2001:db8::1\nport = 5684\nemse_id = emse-2\n"
			      "[listener c]\naddress = 198.18.0.1\nport = 5685\nemse_id = emse-1\n",
			      &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.max_sessions, 1000);
	assert_int_equal(c.half_open_max, 10);
	assert_int_equal(c.suites, EMSE_SUITE_GCM | EMSE_SUITE_CCM8);
	assert_string_equal(c.psk_hint, "e2m");
	assert_false(c.hs_native);
	assert_int_equal(c.n_listeners, 3);
	assert_int_equal(c.iface.n4, 1);
	assert_int_equal(c.iface.n6, 1);
	/* listeners of one EMSE_Id share a key cache */
	assert_int_equal(c.n_emse, 2);
	assert_int_equal(c.listeners[0].emse_idx, c.listeners[2].emse_idx);
	assert_int_not_equal(c.listeners[0].emse_idx, c.listeners[1].emse_idx);
	/* defaults stay where nothing was said */
	assert_int_equal(c.idle_timeout_s, 600);
	assert_int_equal(c.e2m.fc_e2m_key[1], 0xe1);
	assert_false(c.offloads_off);
	assert_int_equal(load("[port]\noffloads = off\n" BASE, &c, err, sizeof(err)), 0);
	assert_true(c.offloads_off);
}

static void expect_error(const char *text, const char *must_contain)
{
	static struct emse_config c;
	char err[256] = "";
	assert_int_equal(load(text, &c, err, sizeof(err)), -1);
	if (!strstr(err, must_contain))
		fail_msg("error '%s' does not name '%s'", err, must_contain);
}

static void test_bad_settings_are_named(void **state)
{
	(void)state;
	expect_error("[emse]\nmax_sessions = lots\n" BASE, "max_sessions");
	expect_error("[emse]\nmax_sessions = 0\n" BASE, "max_sessions");
	expect_error("[emse]\nhandshake_timeout_ms = -5\n" BASE, "handshake_timeout_ms");
	expect_error("[emse]\nsuites = rc4\n" BASE, "suites");
	expect_error("[emse]\npsk_hint = hello\n" BASE, "psk_hint");
	expect_error("[emse]\nhandshake_engine = openssl\n" BASE, "handshake_engine");
	expect_error("[emse]\nno_such_thing = 1\n" BASE, "no_such_thing");
	expect_error("[emse]\nhalf_open_max = 100\nmax_sessions = 10\n" BASE, "half_open_max");
	expect_error("[nonsense]\n" BASE, "nonsense");
	expect_error("max_sessions = 3\n" BASE, "outside any section");
	expect_error("[port]\naddress = 300.1.2.3\n", "address");
	expect_error("[port]\noffloads = on\n" BASE, "offloads");
	expect_error("[port]\nmac = 01:00:5e:00:00:01\n" BASE, "mac");
	expect_error(BASE "[listener x]\naddress = 198.18.9.9\nport = 1\nemse_id = e\n", "address");
	expect_error(BASE "[listener x]\naddress = 198.18.0.1\nport = 5684\nemse_id = e\n", "port");
	expect_error(BASE "[listener x]\naddress = 198.18.0.1\nport = 70000\nemse_id = e\n", "port");
	expect_error(BASE "[listener x]\naddress = 198.18.0.1\nport = 9\n", "emse_id");
	expect_error(BASE "[listener x]\naddress = 198.18.0.1\nport = 9\nemse_id = e\nmode = tcp\n",
		     "mode");
	expect_error(BASE "[listener x]\naddress = 198.18.0.1\nport = 9\nemse_id = e\n"
			  "mode = forward\n", "backend");
	expect_error("[port]\naddress = 198.18.0.1\n[keys]\nsource = file\nfile = /dev/null\n",
		     "listener");
	expect_error("[port]\naddress = 198.18.0.1\n[listener a]\naddress = 198.18.0.1\nport = 1\n"
		     "emse_id = e\n[keys]\nsource = emks\n", "url");
	expect_error("[port]\naddress = 198.18.0.1\n[listener a]\naddress = 198.18.0.1\nport = 1\n"
		     "emse_id = e\n[keys]\nsource = emks\n[emks]\nurl = https://x\nca = /ca\n",
		     "emks_cert");
	/* the line number is in the message */
	expect_error("[emse]\n\n\nmax_sessions = x\n" BASE, ":4:");
}

static void test_missing_file(void **state)
{
	(void)state;
	static struct emse_config c;
	char err[256] = "";
	assert_int_equal(emse_config_load("/nonexistent/emse.conf", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/emse.conf"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_bad_settings_are_named),
		cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
