/* The EMKS store: N rotation, replacement by key id, expiry, subscribers and authorisation,
 * durability across close/reopen, WAL mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "emse/emks_store.h"

#define IMSI "001010000000001"
#define APP "sensor-1@acme.example"

struct fx {
	char dir[64];
	char path[96];
	struct emks_store *st;
};

static struct emks_store *open_store(struct fx *f, unsigned n, int64_t expiry)
{
	struct emks_store_config cfg = {.path = f->path, .keys_per_ue = n, .expiry_s = expiry};
	char err[256] = "";
	struct emks_store *st = emks_store_open(&cfg, err, sizeof(err));
	if (!st)
		fprintf(stderr, "open: %s\n", err);
	return st;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/emks-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/emks.db", f->dir);
	f->st = open_store(f, 4, 1000);
	*state = f;
	return f->st ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	emks_store_close(f->st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void key_of(uint8_t k[E2M_KEY_LEN], uint8_t v)
{
	memset(k, v, E2M_KEY_LEN);
}

static void subscribe(struct emks_store *st, const char *imsi, const char *app, const char *emse)
{
	const char *apps[] = {app};
	const char *emses[] = {emse, "emse-2"};
	assert_int_equal(emks_store_put_subscriber(st, imsi, apps, 1, emses, 2), EMKS_STORE_OK);
}

static int lookup(struct emks_store *st, uint32_t key_id, int64_t now, uint8_t out[E2M_KEY_LEN])
{
	int64_t exp;
	return emks_store_lookup(st, APP, key_id, "emse-1", now, out, &exp);
}

static void test_rotation_keeps_last_n(void **state)
{
	struct fx *f = *state;
	uint8_t k[E2M_KEY_LEN], got[E2M_KEY_LEN];
	subscribe(f->st, IMSI, APP, "emse-1");
	for (uint32_t i = 1; i <= 6; i++) {
		key_of(k, (uint8_t)i);
		assert_int_equal(emks_store_push_key(f->st, IMSI, 0x100 + i, k, 10), EMKS_STORE_OK);
	}
	assert_int_equal(emks_store_key_count(f->st, IMSI), 4);
	assert_int_equal(lookup(f->st, 0x101, 20, got), EMKS_STORE_NO_KEY);
	assert_int_equal(lookup(f->st, 0x102, 20, got), EMKS_STORE_NO_KEY);
	for (uint32_t i = 3; i <= 6; i++) {
		assert_int_equal(lookup(f->st, 0x100 + i, 20, got), EMKS_STORE_OK);
		key_of(k, (uint8_t)i);
		assert_memory_equal(got, k, E2M_KEY_LEN);
	}
}

static void test_same_key_id_replaces_and_counts_as_newest(void **state)
{
	struct fx *f = *state;
	uint8_t k[E2M_KEY_LEN], got[E2M_KEY_LEN];
	subscribe(f->st, IMSI, APP, "emse-1");
	for (uint32_t id = 0xa; id <= 0xd; id++) {  /* a b c d: full at N=4 */
		key_of(k, (uint8_t)id);
		assert_int_equal(emks_store_push_key(f->st, IMSI, id, k, 10), EMKS_STORE_OK);
	}
	key_of(k, 0x55);
	assert_int_equal(emks_store_push_key(f->st, IMSI, 0xa, k, 11), EMKS_STORE_OK);
	assert_int_equal(emks_store_key_count(f->st, IMSI), 4);
	assert_int_equal(lookup(f->st, 0xa, 20, got), EMKS_STORE_OK);
	assert_memory_equal(got, k, E2M_KEY_LEN);
	/* The next push drops b, the oldest now that a was re-pushed. */
	key_of(k, 0xe);
	assert_int_equal(emks_store_push_key(f->st, IMSI, 0xe, k, 12), EMKS_STORE_OK);
	assert_int_equal(lookup(f->st, 0xb, 20, got), EMKS_STORE_NO_KEY);
	assert_int_equal(lookup(f->st, 0xa, 20, got), EMKS_STORE_OK);
	assert_int_equal(lookup(f->st, 0xc, 20, got), EMKS_STORE_OK);
}

static void test_expiry_is_push_time_plus_setting(void **state)
{
	struct fx *f = *state;
	uint8_t k[E2M_KEY_LEN], got[E2M_KEY_LEN];
	int64_t exp = 0;
	subscribe(f->st, IMSI, APP, "emse-1");
	key_of(k, 1);
	assert_int_equal(emks_store_push_key(f->st, IMSI, 7, k, 5000), EMKS_STORE_OK);
	assert_int_equal(emks_store_lookup(f->st, APP, 7, "emse-1", 5999, got, &exp), EMKS_STORE_OK);
	assert_int_equal(exp, 6000);
	assert_int_equal(emks_store_lookup(f->st, APP, 7, "emse-1", 6000, got, &exp),
			 EMKS_STORE_NO_KEY);
}

static void test_subscription_authorises_emse(void **state)
{
	struct fx *f = *state;
	uint8_t k[E2M_KEY_LEN], got[E2M_KEY_LEN];
	int64_t exp;
	subscribe(f->st, IMSI, APP, "emse-1");
	key_of(k, 9);
	assert_int_equal(emks_store_push_key(f->st, IMSI, 1, k, 10), EMKS_STORE_OK);
	assert_int_equal(emks_store_lookup(f->st, APP, 1, "emse-2", 20, got, &exp), EMKS_STORE_OK);
	/* Forbidden wins over "no such key id": the EMSE learns nothing about the UE's keys. */
	assert_int_equal(emks_store_lookup(f->st, APP, 1, "emse-3", 20, got, &exp),
			 EMKS_STORE_FORBIDDEN);
	assert_int_equal(emks_store_lookup(f->st, APP, 2, "emse-3", 20, got, &exp),
			 EMKS_STORE_FORBIDDEN);
	assert_int_equal(emks_store_lookup(f->st, "nobody", 1, "emse-1", 20, got, &exp),
			 EMKS_STORE_NO_KEY);
	/* A new PUT replaces the list. */
	const char *apps[] = {APP};
	const char *only3[] = {"emse-3"};
	assert_int_equal(emks_store_put_subscriber(f->st, IMSI, apps, 1, only3, 1), EMKS_STORE_OK);
	assert_int_equal(emks_store_lookup(f->st, APP, 1, "emse-1", 20, got, &exp),
			 EMKS_STORE_FORBIDDEN);
	assert_int_equal(emks_store_lookup(f->st, APP, 1, "emse-3", 20, got, &exp), EMKS_STORE_OK);
}

static void test_app_id_maps_to_its_imsi(void **state)
{
	struct fx *f = *state;
	uint8_t k1[E2M_KEY_LEN], k2[E2M_KEY_LEN], got[E2M_KEY_LEN];
	int64_t exp;
	subscribe(f->st, "001010000000001", "a@x", "emse-1");
	subscribe(f->st, "001010000000002", "b@x", "emse-1");
	key_of(k1, 1);
	key_of(k2, 2);
	assert_int_equal(emks_store_push_key(f->st, "001010000000001", 5, k1, 10), EMKS_STORE_OK);
	assert_int_equal(emks_store_push_key(f->st, "001010000000002", 5, k2, 10), EMKS_STORE_OK);
	assert_int_equal(emks_store_lookup(f->st, "b@x", 5, "emse-1", 20, got, &exp), EMKS_STORE_OK);
	assert_memory_equal(got, k2, E2M_KEY_LEN);
	/* The app id moves to UE 1 when its subscription claims it. */
	const char *apps[] = {"a@x", "b@x"};
	const char *emses[] = {"emse-1"};
	assert_int_equal(emks_store_put_subscriber(f->st, "001010000000001", apps, 2, emses, 1),
			 EMKS_STORE_OK);
	assert_int_equal(emks_store_lookup(f->st, "b@x", 5, "emse-1", 20, got, &exp), EMKS_STORE_OK);
	assert_memory_equal(got, k1, E2M_KEY_LEN);
}

static void test_remove_context_forgets_keys(void **state)
{
	struct fx *f = *state;
	uint8_t k[E2M_KEY_LEN], got[E2M_KEY_LEN];
	subscribe(f->st, IMSI, APP, "emse-1");
	key_of(k, 3);
	assert_int_equal(emks_store_push_key(f->st, IMSI, 1, k, 10), EMKS_STORE_OK);
	assert_int_equal(emks_store_remove_context(f->st, IMSI), EMKS_STORE_OK);
	assert_int_equal(emks_store_key_count(f->st, IMSI), 0);
	assert_int_equal(lookup(f->st, 1, 20, got), EMKS_STORE_NO_KEY);
	/* The subscription stays: a new push works at once. */
	assert_int_equal(emks_store_push_key(f->st, IMSI, 2, k, 10), EMKS_STORE_OK);
	assert_int_equal(lookup(f->st, 2, 20, got), EMKS_STORE_OK);
}

static void test_durable_across_reopen(void **state)
{
	struct fx *f = *state;
	uint8_t k[E2M_KEY_LEN], got[E2M_KEY_LEN];
	subscribe(f->st, IMSI, APP, "emse-1");
	for (uint32_t i = 1; i <= 5; i++) {
		key_of(k, (uint8_t)i);
		assert_int_equal(emks_store_push_key(f->st, IMSI, i, k, 10), EMKS_STORE_OK);
	}
	emks_store_close(f->st);
	f->st = open_store(f, 4, 1000);
	assert_non_null(f->st);
	assert_int_equal(emks_store_key_count(f->st, IMSI), 4);
	assert_int_equal(lookup(f->st, 5, 20, got), EMKS_STORE_OK);
	key_of(k, 5);
	assert_memory_equal(got, k, E2M_KEY_LEN);
	/* Push order survives too: the next push drops key 2, the oldest left. */
	key_of(k, 6);
	assert_int_equal(emks_store_push_key(f->st, IMSI, 6, k, 11), EMKS_STORE_OK);
	assert_int_equal(lookup(f->st, 2, 20, got), EMKS_STORE_NO_KEY);
	assert_int_equal(lookup(f->st, 3, 20, got), EMKS_STORE_OK);
}

static void test_database_is_in_wal_mode(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void test_smaller_n_after_restart_trims_on_next_push(void **state)
{
	struct fx *f = *state;
	uint8_t k[E2M_KEY_LEN];
	subscribe(f->st, IMSI, APP, "emse-1");
	for (uint32_t i = 1; i <= 4; i++) {
		key_of(k, (uint8_t)i);
		assert_int_equal(emks_store_push_key(f->st, IMSI, i, k, 10), EMKS_STORE_OK);
	}
	emks_store_close(f->st);
	f->st = open_store(f, 2, 1000);
	assert_non_null(f->st);
	key_of(k, 9);
	assert_int_equal(emks_store_push_key(f->st, IMSI, 9, k, 11), EMKS_STORE_OK);
	assert_int_equal(emks_store_key_count(f->st, IMSI), 2);
}

static void test_bad_config_is_refused(void **state)
{
	struct fx *f = *state;
	char err[128] = "";
	struct emks_store_config zero_n = {.path = f->path, .keys_per_ue = 0, .expiry_s = 10};
	assert_null(emks_store_open(&zero_n, err, sizeof(err)));
	assert_true(strlen(err) > 0);
	struct emks_store_config no_dir = {.path = "/nonexistent-dir/x.db", .keys_per_ue = 4,
					   .expiry_s = 10};
	assert_null(emks_store_open(&no_dir, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent-dir/x.db"));
}

/* SHA-256(key)[0..3], computed here apart from the store's e2m_key_id_hash. */
static uint32_t sha_id(const uint8_t k[E2M_KEY_LEN])
{
	uint8_t md[32];
	unsigned n = 0;
	assert_int_equal(EVP_Digest(k, E2M_KEY_LEN, md, &n, EVP_sha256(), NULL), 1);
	return (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
}

static void subscribe_hash(struct emks_store *st)
{
	const char *apps[] = {APP};
	const char *emses[] = {"emse-1"};
	assert_int_equal(emks_store_put_subscriber_mode(st, IMSI, apps, 1, emses, 1,
							EMKS_KEY_ID_HASH), EMKS_STORE_OK);
}

/* Hash mode: pushes without key id; the last N keys answer to their hash, the one before not. */
static void test_hash_mode_keeps_last_n_by_hash(void **state)
{
	struct fx *f = *state;
	uint8_t k[E2M_KEY_LEN], got[E2M_KEY_LEN];
	int64_t exp;
	subscribe_hash(f->st);
	assert_int_equal(emks_store_key_id_mode(f->st, IMSI), EMKS_KEY_ID_HASH);
	for (uint8_t i = 1; i <= 5; i++) {
		key_of(k, i);
		assert_int_equal(emks_store_push(f->st, IMSI, 0, 0, k, 10), EMKS_STORE_OK);
	}
	assert_int_equal(emks_store_key_count(f->st, IMSI), 4);
	for (uint8_t i = 2; i <= 5; i++) {
		key_of(k, i);
		assert_int_equal(emks_store_lookup_ue(f->st, EMKS_UE_BY_APP_ID, APP, sha_id(k),
						      "emse-1", 20, got, &exp), EMKS_STORE_OK);
		assert_memory_equal(got, k, E2M_KEY_LEN);
		/* By IMSI too (the EMSE translated). */
		assert_int_equal(emks_store_lookup_ue(f->st, EMKS_UE_BY_IMSI, IMSI, sha_id(k),
						      "emse-1", 20, got, &exp), EMKS_STORE_OK);
	}
	key_of(k, 1);
	assert_int_equal(emks_store_lookup_ue(f->st, EMKS_UE_BY_APP_ID, APP, sha_id(k), "emse-1", 20,
					      got, &exp), EMKS_STORE_NO_KEY);
	assert_int_equal(emks_store_lookup_ue(f->st, EMKS_UE_BY_IMSI, "001019999999999", sha_id(k),
					      "emse-1", 20, got, &exp), EMKS_STORE_NO_KEY);
	key_of(k, 5);
	assert_int_equal(emks_store_lookup_ue(f->st, EMKS_UE_BY_IMSI, IMSI, sha_id(k), "emse-9", 20,
					      got, &exp), EMKS_STORE_FORBIDDEN);
	assert_int_equal(emks_store_hash_collisions(f->st), 0);
}

/* Two stored keys with one hash (here: one key pushed under two RAND ids): the newest answers,
 * and the collision is counted. */
static void test_hash_collision_newest_wins_and_counts(void **state)
{
	struct fx *f = *state;
	uint8_t k[E2M_KEY_LEN], got[E2M_KEY_LEN];
	int64_t exp = 0;
	subscribe_hash(f->st);
	key_of(k, 7);
	assert_int_equal(emks_store_push(f->st, IMSI, 1, 0x1111, k, 10), EMKS_STORE_OK);
	assert_int_equal(emks_store_push(f->st, IMSI, 1, 0x2222, k, 50), EMKS_STORE_OK);
	assert_int_equal(emks_store_lookup_ue(f->st, EMKS_UE_BY_APP_ID, APP, sha_id(k), "emse-1", 20,
					      got, &exp), EMKS_STORE_OK);
	assert_int_equal(exp, 50 + 1000);  /* the newest push's expiry */
	assert_int_equal(emks_store_hash_collisions(f->st), 1);
	/* A retried push of the same key without key id replaces it silently... */
	assert_int_equal(emks_store_push(f->st, IMSI, 0, 0, k, 60), EMKS_STORE_OK);
	assert_int_equal(emks_store_hash_collisions(f->st), 1);
	/* ...and rand mode looks up by the pushed key id, not the hash. */
	subscribe(f->st, IMSI, APP, "emse-1");
	assert_int_equal(lookup(f->st, 0x1111, 20, got), EMKS_STORE_OK);
}

static void test_modes_and_bindings_survive_reopen(void **state)
{
	struct fx *f = *state;
	uint8_t k[E2M_KEY_LEN], got[E2M_KEY_LEN];
	int64_t exp;
	char id[E2M_EMSE_ID_MAX + 1];
	subscribe_hash(f->st);
	key_of(k, 9);
	assert_int_equal(emks_store_push(f->st, IMSI, 0, 0, k, 10), EMKS_STORE_OK);
	assert_int_equal(emks_store_bound_emse(f->st, "ab", id), EMKS_STORE_NO_KEY);
	assert_int_equal(emks_store_bind_emse(f->st, "ab", "emse-1"), EMKS_STORE_OK);
	emks_store_close(f->st);
	f->st = open_store(f, 4, 1000);
	assert_non_null(f->st);
	assert_int_equal(emks_store_key_id_mode(f->st, IMSI), EMKS_KEY_ID_HASH);
	assert_int_equal(emks_store_bound_emse(f->st, "ab", id), EMKS_STORE_OK);
	assert_string_equal(id, "emse-1");
	assert_int_equal(emks_store_lookup_ue(f->st, EMKS_UE_BY_APP_ID, APP, sha_id(k), "emse-1", 20,
					      got, &exp), EMKS_STORE_OK);
	/* Rebinding replaces. */
	assert_int_equal(emks_store_bind_emse(f->st, "ab", "emse-2"), EMKS_STORE_OK);
	assert_int_equal(emks_store_bound_emse(f->st, "ab", id), EMKS_STORE_OK);
	assert_string_equal(id, "emse-2");
}

/* A store written before schema version 1 (issue 4's tables, user_version 0) is migrated: its
 * keys get their hash ids and answer once the subscriber turns to hash mode. */
static void test_version_0_store_is_migrated(void **state)
{
	struct fx *f = *state;
	emks_store_close(f->st);
	f->st = NULL;
	unlink(f->path);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"PRAGMA journal_mode=WAL;"
		"CREATE TABLE subscriber(imsi TEXT PRIMARY KEY) WITHOUT ROWID;"
		"CREATE TABLE app_id(app_id TEXT PRIMARY KEY, imsi TEXT NOT NULL) WITHOUT ROWID;"
		"CREATE TABLE emse_allow(imsi TEXT NOT NULL, emse_id TEXT NOT NULL,"
		" PRIMARY KEY(imsi, emse_id)) WITHOUT ROWID;"
		"CREATE TABLE int_key(seq INTEGER PRIMARY KEY AUTOINCREMENT, imsi TEXT NOT NULL,"
		" key_id INTEGER NOT NULL, key BLOB NOT NULL, pushed_at INTEGER NOT NULL,"
		" expiry INTEGER NOT NULL, UNIQUE(imsi, key_id));"
		"INSERT INTO subscriber VALUES ('" IMSI "');"
		"INSERT INTO app_id VALUES ('" APP "', '" IMSI "');"
		"INSERT INTO emse_allow VALUES ('" IMSI "', 'emse-1');"
		"INSERT INTO int_key(imsi, key_id, key, pushed_at, expiry) VALUES ('" IMSI "', 42,"
		" x'0303030303030303030303030303030303030303030303030303030303030303', 10, 5000);",
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	f->st = open_store(f, 4, 1000);
	assert_non_null(f->st);
	uint8_t k[E2M_KEY_LEN], got[E2M_KEY_LEN];
	int64_t exp;
	key_of(k, 3);
	assert_int_equal(emks_store_key_id_mode(f->st, IMSI), EMKS_KEY_ID_RAND);
	assert_int_equal(lookup(f->st, 42, 20, got), EMKS_STORE_OK);
	subscribe_hash(f->st);
	assert_int_equal(emks_store_lookup_ue(f->st, EMKS_UE_BY_APP_ID, APP, sha_id(k), "emse-1", 20,
					      got, &exp), EMKS_STORE_OK);
	assert_memory_equal(got, k, E2M_KEY_LEN);
	emks_store_close(f->st);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 1);
	sqlite3_finalize(s);
	/* A version this emks does not know is refused. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	f->st = open_store(f, 4, 1000);
	assert_null(f->st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rotation_keeps_last_n, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_key_id_replaces_and_counts_as_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_is_push_time_plus_setting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscription_authorises_emse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_id_maps_to_its_imsi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_context_forgets_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durable_across_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_database_is_in_wal_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smaller_n_after_restart_trims_on_next_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_mode_keeps_last_n_by_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_collision_newest_wins_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modes_and_bindings_survive_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_0_store_is_migrated, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
