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

/* SPEC.md 6: [keys] translate / imsi_map and [emks] register_emse. */
#define EMKS_BASE                                                                                  \
	"[port]\naddress = 198.18.0.1\n[listener a]\naddress = 198.18.0.1\nport = 1\nemse_id = e\n" \
	"[emks]\nurl = https://x\nca = /ca\ncert = /c\nkey = /k\n"

static void test_key_alternatives(void **state)
{
	(void)state;
	static struct emse_config c;
	char err[256] = "";
	assert_int_equal(load(EMKS_BASE "[keys]\nsource = emks\n", &c, err, sizeof(err)), 0);
	assert_false(c.translate_emse);
	assert_false(c.emks_register_emse);
	assert_string_equal(c.imsi_map, "");
	assert_int_equal(load(EMKS_BASE "register_emse = yes\n[keys]\nsource = emks\n"
				    "translate = emse\nimsi_map = /etc/emse/imsi.map\n",
			      &c, err, sizeof(err)), 0);
	assert_true(c.translate_emse);
	assert_true(c.emks_register_emse);
	assert_string_equal(c.imsi_map, "/etc/emse/imsi.map");
	assert_int_equal(load(EMKS_BASE "register_emse = no\n[keys]\nsource = emks\ntranslate = emks\n",
			      &c, err, sizeof(err)), 0);
	assert_false(c.translate_emse);
	assert_false(c.emks_register_emse);
	expect_error(EMKS_BASE "[keys]\nsource = emks\ntranslate = hss\n", "translate");
	expect_error(EMKS_BASE "[keys]\nsource = emks\ntranslate = emse\n", "imsi_map");
	expect_error(EMKS_BASE "[keys]\nsource = emks\nimsi_map = /m\n", "translate");
	expect_error(EMKS_BASE "register_emse = 1\n[keys]\nsource = emks\n", "register_emse");
	expect_error(BASE "translate = emse\nimsi_map = /m\n", "needs source = emks");
	expect_error(BASE "[emks]\nregister_emse = yes\n", "register_emse");
}

/* Connection IDs (issue 13): per listener cid / cid_length, [cluster] node_id / cid_key_file. */
static void test_cid_settings(void **state)
{
	(void)state;
	static struct emse_config c;
	char err[256] = "";
#define LA "[listener z]\naddress = 198.18.0.1\nport = 5699\nemse_id = e\n"
	assert_int_equal(load(BASE LA "cid = on\ncid_length = 5\n"
			      "[cluster]\nnode_id = 7\ncid_key_file = /k\n",
			      &c, err, sizeof(err)),
			 0);
	assert_true(c.listeners[1].cid);
	assert_int_equal(c.listeners[1].cid_length, 5);
	/* defaults: off, 8 octets, node 0 */
	assert_false(c.listeners[0].cid);
	assert_int_equal(c.listeners[0].cid_length, 8);
	assert_int_equal(c.node_id, 7);
	assert_string_equal(c.cid_key_file, "/k");
	assert_int_equal(load(BASE, &c, err, sizeof(err)), 0);
	assert_int_equal(c.node_id, 0);
	assert_string_equal(c.cid_key_file, "");

	expect_error(BASE LA "cid = yes\n", "cid");
	expect_error(BASE LA "cid_length = 3\n", "cid_length");
	expect_error(BASE LA "cid_length = 17\n", "cid_length");
	expect_error(BASE "[cluster]\nnode_id = 256\n", "node_id");
	expect_error(BASE "[cluster]\nnode_id = -1\n", "node_id");
	expect_error(BASE "[cluster]\nnodeid = 1\n", "nodeid");
	/* 4 octets hold 6 worker bits + 18 slot bits at most: 2^20 slots do not fit */
	expect_error("[emse]\nmax_sessions = 1048576\n" BASE LA "cid = on\ncid_length = 4\n",
		     "cid_length");
	assert_int_equal(load("[emse]\nmax_sessions = 262144\n" BASE LA "cid = on\ncid_length = 4\n",
			      &c, err, sizeof(err)),
			 0);
	/* off: the length is not checked against max_sessions */
	assert_int_equal(load("[emse]\nmax_sessions = 1048576\n" BASE LA "cid_length = 4\n", &c,
			      err, sizeof(err)),
			 0);
#undef LA
}

static void test_missing_file(void **state)
{
	(void)state;
	static struct emse_config c;
	char err[256] = "";
	assert_int_equal(emse_config_load("/nonexistent/emse.conf", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/emse.conf"));
}

/* Forwarding between nodes (issue 15): peer lines, cluster_port, key_file. */
static void test_cluster_settings(void **state)
{
	(void)state;
	static struct emse_config c;
	char err[256] = "";
#define CL "[cluster]\nnode_id = 1\ncluster_port = 7946\nkey_file = /ck\n"
	assert_int_equal(load(BASE CL "peer = 2 198.18.0.2 7946\npeer = 3 2001:db8::3 7000\n", &c,
			      err, sizeof(err)),
			 0);
	assert_int_equal(c.n_peers, 2);
	assert_int_equal(c.peers[0].node_id, 2);
	assert_int_equal(c.peers[0].addr.family, 4);
	assert_int_equal(c.peers[0].addr.a[3], 2);
	assert_int_equal(c.peers[0].port, 7946);
	assert_int_equal(c.peers[1].node_id, 3);
	assert_int_equal(c.peers[1].addr.family, 6);
	assert_int_equal(c.peers[1].port, 7000);
	assert_int_equal(c.cluster_port, 7946);
	assert_string_equal(c.cluster_key_file, "/ck");
	/* default: no cluster */
	assert_int_equal(load(BASE, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_peers, 0);
	assert_int_equal(c.cluster_port, 0);

	expect_error(BASE CL "peer = 2 198.18.0.2\n", "peer");
	expect_error(BASE CL "peer = 2 198.18.0.2 7946 x\n", "peer");
	expect_error(BASE CL "peer = 256 198.18.0.2 7946\n", "peer");
	expect_error(BASE CL "peer = 2 198.18.0.300 7946\n", "peer");
	expect_error(BASE CL "peer = 2 198.18.0.2 0\n", "peer");
	expect_error(BASE CL "peer = 2 198.18.0.2 1\npeer = 2 198.18.0.3 1\n", "peer");
	expect_error(BASE CL "peer = 1 198.18.0.2 7946\n", "peer");
	expect_error(BASE CL "cluster_port = 70000\n", "cluster_port");
	expect_error(BASE "[cluster]\nnode_id = 1\ncluster_port = 7946\n", "key_file");
	expect_error(BASE "[cluster]\nkey_file = /ck\npeer = 2 198.18.0.2 7946\n", "cluster_port");
#undef CL
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_bad_settings_are_named),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_key_alternatives),
		cmocka_unit_test(test_cid_settings),
		cmocka_unit_test(test_cluster_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
