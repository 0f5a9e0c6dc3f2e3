/* SQLite store of the reference EMKS (include/emse/emks_store.h).
 *
 * Durability: WAL with synchronous=FULL. In WAL mode NORMAL survives a process crash but may lose
 * the last commits on power loss; the EMKS acknowledges a push with 204 only after its commit, and
 * an acknowledged key must survive anything (a lost key means a UE that cannot connect until its
 * next AKA run), so each commit pays one fsync of the WAL. Pushes are one per AKA run: cheap.
 * --sync normal (sync_normal) trades that for speed: in WAL mode NORMAL still loses nothing when
 * the EMKS process dies or restarts, only when the machine does; for benchmarks with large
 * populations, where FULL costs one fsync (milliseconds) per push.
 * secure_delete overwrites freed pages, so a dropped or replaced key does not linger in the file. */
#include "emse/emks_store.h"

#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_SUB_INSERT,
	Q_APP_DELETE_IMSI,
	Q_APP_UPSERT,
	Q_EMSE_DELETE_IMSI,
	Q_EMSE_INSERT,
	Q_KEY_DELETE_ID,
	Q_KEY_INSERT,
	Q_KEY_TRIM,
	Q_KEY_DELETE_IMSI,
	Q_APP_LOOKUP,
	Q_EMSE_CHECK,
	Q_KEY_LOOKUP,
	Q_KEY_COUNT,
	Q_SUB_MODE_SET,
	Q_SUB_MODE,
	Q_KEY_BY_HASH,
	Q_KEY_SAME_ID,
	Q_BIND_SET,
	Q_BIND_GET,
	Q__COUNT
};

static const char *const query_sql[Q__COUNT] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_SUB_INSERT] = "INSERT OR IGNORE INTO subscriber(imsi) VALUES (?1)",
	[Q_APP_DELETE_IMSI] = "DELETE FROM app_id WHERE imsi = ?1",
	[Q_APP_UPSERT] = "INSERT OR REPLACE INTO app_id(app_id, imsi) VALUES (?1, ?2)",
	[Q_EMSE_DELETE_IMSI] = "DELETE FROM emse_allow WHERE imsi = ?1",
	[Q_EMSE_INSERT] = "INSERT OR IGNORE INTO emse_allow(imsi, emse_id) VALUES (?1, ?2)",
	[Q_KEY_DELETE_ID] = "DELETE FROM int_key WHERE imsi = ?1 AND key_id = ?2",
	[Q_KEY_INSERT] = "INSERT INTO int_key(imsi, key_id, key, pushed_at, expiry, hash_id) "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	/* seq is AUTOINCREMENT, so it orders pushes even across deletions and restarts. */
	[Q_KEY_TRIM] = "DELETE FROM int_key WHERE imsi = ?1 AND seq NOT IN "
		       "(SELECT seq FROM int_key WHERE imsi = ?1 ORDER BY seq DESC LIMIT ?2)",
	[Q_KEY_DELETE_IMSI] = "DELETE FROM int_key WHERE imsi = ?1",
	[Q_APP_LOOKUP] = "SELECT imsi FROM app_id WHERE app_id = ?1",
	[Q_EMSE_CHECK] = "SELECT 1 FROM emse_allow WHERE imsi = ?1 AND emse_id = ?2",
	[Q_KEY_LOOKUP] = "SELECT key, expiry FROM int_key WHERE imsi = ?1 AND key_id = ?2",
	[Q_KEY_COUNT] = "SELECT count(*) FROM int_key WHERE imsi = ?1",
	[Q_SUB_MODE_SET] = "UPDATE subscriber SET key_id_mode = ?2 WHERE imsi = ?1",
	[Q_SUB_MODE] = "SELECT key_id_mode FROM subscriber WHERE imsi = ?1",
	/* Newest first: on a hash collision the newest push wins (SPEC.md 6). */
	[Q_KEY_BY_HASH] = "SELECT key, expiry, key_id FROM int_key WHERE imsi = ?1 AND hash_id = ?2 "
			  "ORDER BY seq DESC",
	[Q_KEY_SAME_ID] = "SELECT key FROM int_key WHERE imsi = ?1 AND key_id = ?2",
	[Q_BIND_SET] = "INSERT OR REPLACE INTO emse_binding(cert_fp, emse_id) VALUES (?1, ?2)",
	[Q_BIND_GET] = "SELECT emse_id FROM emse_binding WHERE cert_fp = ?1",
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS subscriber(imsi TEXT PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS app_id(app_id TEXT PRIMARY KEY, imsi TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS app_id_by_imsi ON app_id(imsi);"
	"CREATE TABLE IF NOT EXISTS emse_allow(imsi TEXT NOT NULL, emse_id TEXT NOT NULL,"
	" PRIMARY KEY(imsi, emse_id)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS int_key(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" imsi TEXT NOT NULL, key_id INTEGER NOT NULL, key BLOB NOT NULL,"
	" pushed_at INTEGER NOT NULL, expiry INTEGER NOT NULL, UNIQUE(imsi, key_id));";

/* Schema versions (PRAGMA user_version): 0 is the store of issue 4; 1 (SPEC.md 6) adds each
 * subscriber's key id mode, each key's precomputed hash key id, and the EMSE_Id bindings of
 * register-emse. A version-0 file is migrated in place, in one transaction. */
#define STORE_SCHEMA_VERSION 1
static const char schema_v1_sql[] =
	"CREATE TABLE IF NOT EXISTS emse_binding(cert_fp TEXT PRIMARY KEY, emse_id TEXT NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS int_key_by_hash ON int_key(imsi, hash_id);";

struct emks_store {
	sqlite3 *db;
	sqlite3_stmt *q[Q__COUNT];
	unsigned keys_per_ue;
	int64_t expiry_s;
	uint64_t hash_collisions;
};

static void log_db(struct emks_store *st, const char *what)
{
	fprintf(stderr, "emks: store: %s: %s\n", what, sqlite3_errmsg(st->db));
}

static sqlite3_stmt *q_get(struct emks_store *st, int which)
{
	sqlite3_stmt *s = st->q[which];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Runs a statement that returns no rows. */
static int q_done(struct emks_store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	/* Drops any binding that points at key bytes in the caller's buffer. */
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE) {
		log_db(st, what);
		return -1;
	}
	return 0;
}

static int exec_simple(struct emks_store *st, int which)
{
	return q_done(st, q_get(st, which), query_sql[which]);
}

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int has_column(sqlite3 *db, const char *table, const char *column)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s LIMIT 0", column, table);
	sqlite3_stmt *s = NULL;
	int ok = sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK;
	sqlite3_finalize(s);
	return ok;
}

/* Fills hash_id of keys stored before version 1. The key bytes pass through our buffer only. */
static int fill_hash_ids(sqlite3 *db)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(db, "SELECT seq, key FROM int_key WHERE hash_id IS NULL", -1, &sel,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE int_key SET hash_id = ?2 WHERE seq = ?1", -1, &upd,
			       NULL) != SQLITE_OK)
		goto out;
	int step;
	while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(sel, 1) != E2M_KEY_LEN)
			goto out;
		uint8_t key[E2M_KEY_LEN];
		memcpy(key, sqlite3_column_blob(sel, 1), E2M_KEY_LEN);
		uint32_t h = e2m_key_id_hash(key);
		OPENSSL_cleanse(key, sizeof(key));
		sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
		sqlite3_bind_int64(upd, 2, h);
		if (sqlite3_step(upd) != SQLITE_DONE)
			goto out;
		sqlite3_reset(upd);
	}
	rc = step == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return rc;
}

static int migrate(struct emks_store *st, char *err, size_t err_len)
{
	int v = user_version(st->db);
	if (v < 0 || v > STORE_SCHEMA_VERSION) {
		snprintf(err, err_len, "store schema version %d is not one this emks knows (%d)", v,
			 STORE_SCHEMA_VERSION);
		return -1;
	}
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	char *msg = NULL;
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	/* A fresh file got the version-0 tables from schema_sql just now; both paths meet here. */
	if (!has_column(st->db, "subscriber", "key_id_mode") &&
	    sqlite3_exec(st->db, "ALTER TABLE subscriber ADD COLUMN key_id_mode INTEGER NOT NULL "
				 "DEFAULT 0", NULL, NULL, &msg) != SQLITE_OK)
		goto fail_tx;
	if (!has_column(st->db, "int_key", "hash_id") &&
	    sqlite3_exec(st->db, "ALTER TABLE int_key ADD COLUMN hash_id INTEGER", NULL, NULL,
			 &msg) != SQLITE_OK)
		goto fail_tx;
	if (fill_hash_ids(st->db) != 0 ||
	    sqlite3_exec(st->db, schema_v1_sql, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, "PRAGMA user_version = 1; COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail_tx;
	return 0;
fail_tx:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
fail:
	snprintf(err, err_len, "cannot migrate the store to schema version %d: %s",
		 STORE_SCHEMA_VERSION, msg ? msg : sqlite3_errmsg(st->db));
	sqlite3_free(msg);
	return -1;
}

struct emks_store *emks_store_open(const struct emks_store_config *cfg, char *err, size_t err_len)
{
	if (!cfg || !cfg->path || cfg->keys_per_ue < 1 || cfg->keys_per_ue > EMKS_KEYS_PER_UE_MAX ||
	    cfg->expiry_s <= 0) {
		snprintf(err, err_len, "invalid store configuration");
		return NULL;
	}
	struct emks_store *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	st->keys_per_ue = cfg->keys_per_ue;
	st->expiry_s = cfg->expiry_s;
	if (sqlite3_open_v2(cfg->path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, err_len, "cannot open %s: %s", cfg->path,
			 st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	char *msg = NULL;
	const char *pragmas = cfg->sync_normal
		? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;"
		: "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;";
	if (sqlite3_exec(st->db, pragmas, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, err_len, "cannot initialise %s: %s", cfg->path, msg ? msg : "?");
		sqlite3_free(msg);
		goto fail;
	}
	if (migrate(st, err, err_len) != 0)
		goto fail;
	/* journal_mode answers with the mode it got; a file system without shared memory says so. */
	sqlite3_stmt *jm = NULL;
	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode", -1, &jm, NULL) != SQLITE_OK ||
	    sqlite3_step(jm) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(jm, 0), "wal") != 0) {
		snprintf(err, err_len, "cannot put %s in WAL mode", cfg->path);
		sqlite3_finalize(jm);
		goto fail;
	}
	sqlite3_finalize(jm);
	for (int i = 0; i < Q__COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, query_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->q[i],
				       NULL) != SQLITE_OK) {
			snprintf(err, err_len, "cannot prepare \"%s\": %s", query_sql[i],
				 sqlite3_errmsg(st->db));
			goto fail;
		}
	}
	return st;
fail:
	emks_store_close(st);
	return NULL;
}

void emks_store_close(struct emks_store *st)
{
	if (!st)
		return;
	for (int i = 0; i < Q__COUNT; i++)
		sqlite3_finalize(st->q[i]);
	if (st->db)
		sqlite3_close(st->db);
	free(st);
}

static int rollback(struct emks_store *st)
{
	exec_simple(st, Q_ROLLBACK);
	return EMKS_STORE_ERROR;
}

int emks_store_put_subscriber(struct emks_store *st, const char *imsi, const char *const *app_ids,
			      size_t n_app, const char *const *emse_ids, size_t n_emse)
{
	return emks_store_put_subscriber_mode(st, imsi, app_ids, n_app, emse_ids, n_emse,
					      EMKS_KEY_ID_RAND);
}

int emks_store_put_subscriber_mode(struct emks_store *st, const char *imsi,
				   const char *const *app_ids, size_t n_app,
				   const char *const *emse_ids, size_t n_emse, int mode)
{
	if (exec_simple(st, Q_BEGIN) != 0)
		return EMKS_STORE_ERROR;
	sqlite3_stmt *s = q_get(st, Q_SUB_INSERT);
	sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
	if (q_done(st, s, "subscriber insert") != 0)
		return rollback(st);
	s = q_get(st, Q_SUB_MODE_SET);
	sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, mode == EMKS_KEY_ID_HASH);
	if (q_done(st, s, "subscriber mode") != 0)
		return rollback(st);
	s = q_get(st, Q_APP_DELETE_IMSI);
	sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
	if (q_done(st, s, "app id delete") != 0)
		return rollback(st);
	for (size_t i = 0; i < n_app; i++) {
		s = q_get(st, Q_APP_UPSERT);
		sqlite3_bind_text(s, 1, app_ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, imsi, -1, SQLITE_STATIC);
		if (q_done(st, s, "app id insert") != 0)
			return rollback(st);
	}
	s = q_get(st, Q_EMSE_DELETE_IMSI);
	sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
	if (q_done(st, s, "emse delete") != 0)
		return rollback(st);
	for (size_t i = 0; i < n_emse; i++) {
		s = q_get(st, Q_EMSE_INSERT);
		sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, emse_ids[i], -1, SQLITE_STATIC);
		if (q_done(st, s, "emse insert") != 0)
			return rollback(st);
	}
	if (exec_simple(st, Q_COMMIT) != 0)
		return rollback(st);
	return EMKS_STORE_OK;
}

int emks_store_push_key(struct emks_store *st, const char *imsi, uint32_t key_id,
			const uint8_t int_key[E2M_KEY_LEN], int64_t now)
{
	return emks_store_push(st, imsi, 1, key_id, int_key, now);
}

int emks_store_push(struct emks_store *st, const char *imsi, int has_key_id, uint32_t key_id,
		    const uint8_t int_key[E2M_KEY_LEN], int64_t now)
{
	uint32_t hash_id = e2m_key_id_hash(int_key);
	if (!has_key_id)
		key_id = hash_id;
	if (exec_simple(st, Q_BEGIN) != 0)
		return EMKS_STORE_ERROR;
	sqlite3_stmt *s;
	if (!has_key_id) {
		/* Another key under the same hash id: the newest wins, and the collision is counted
		 * (a retried push of the same key is not one). */
		s = q_get(st, Q_KEY_SAME_ID);
		sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, key_id);
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW && (sqlite3_column_bytes(s, 0) != E2M_KEY_LEN ||
					 CRYPTO_memcmp(sqlite3_column_blob(s, 0), int_key,
						       E2M_KEY_LEN) != 0))
			st->hash_collisions++;
		sqlite3_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			log_db(st, "key by id");
			return rollback(st);
		}
	}
	s = q_get(st, Q_KEY_DELETE_ID);
	sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, key_id);
	if (q_done(st, s, "key replace") != 0)
		return rollback(st);
	s = q_get(st, Q_KEY_INSERT);
	sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, key_id);
	/* STATIC: SQLite reads our buffer instead of keeping an unwiped copy of its own. */
	sqlite3_bind_blob(s, 3, int_key, E2M_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_int64(s, 5, now + st->expiry_s);
	sqlite3_bind_int64(s, 6, hash_id);
	if (q_done(st, s, "key insert") != 0)
		return rollback(st);
	s = q_get(st, Q_KEY_TRIM);
	sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, st->keys_per_ue);
	if (q_done(st, s, "key trim") != 0)
		return rollback(st);
	if (exec_simple(st, Q_COMMIT) != 0)
		return rollback(st);
	return EMKS_STORE_OK;
}

int emks_store_remove_context(struct emks_store *st, const char *imsi)
{
	sqlite3_stmt *s = q_get(st, Q_KEY_DELETE_IMSI);
	sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
	return q_done(st, s, "remove context") == 0 ? EMKS_STORE_OK : EMKS_STORE_ERROR;
}

int emks_store_lookup(struct emks_store *st, const char *app_id, uint32_t key_id,
		      const char *emse_id, int64_t now, uint8_t int_key[E2M_KEY_LEN],
		      int64_t *expiry)
{
	return emks_store_lookup_ue(st, EMKS_UE_BY_APP_ID, app_id, key_id, emse_id, now, int_key,
				    expiry);
}

/* The subscriber's key id mode into *mode: OK, NO_KEY if there is no subscriber, or ERROR. */
static int sub_mode(struct emks_store *st, const char *imsi, int *mode)
{
	sqlite3_stmt *s = q_get(st, Q_SUB_MODE);
	sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	*mode = rc == SQLITE_ROW && sqlite3_column_int(s, 0) == EMKS_KEY_ID_HASH ? EMKS_KEY_ID_HASH
									       : EMKS_KEY_ID_RAND;
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return EMKS_STORE_NO_KEY;
	if (rc != SQLITE_ROW) {
		log_db(st, "subscriber mode");
		return EMKS_STORE_ERROR;
	}
	return EMKS_STORE_OK;
}

int emks_store_key_id_mode(struct emks_store *st, const char *imsi)
{
	int mode;
	int rc = sub_mode(st, imsi, &mode);
	return rc == EMKS_STORE_ERROR ? rc : mode;
}

/* The app id's IMSI into imsi: OK, NO_KEY (unknown) or ERROR. */
static int imsi_of(struct emks_store *st, const char *app_id, char imsi[EMKS_IMSI_MAX + 1])
{
	sqlite3_stmt *s = q_get(st, Q_APP_LOOKUP);
	sqlite3_bind_text(s, 1, app_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return EMKS_STORE_NO_KEY;
	}
	if (rc != SQLITE_ROW || sqlite3_column_bytes(s, 0) > EMKS_IMSI_MAX) {
		log_db(st, "app id lookup");
		sqlite3_reset(s);
		return EMKS_STORE_ERROR;
	}
	snprintf(imsi, EMKS_IMSI_MAX + 1, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	return EMKS_STORE_OK;
}

int emks_store_lookup_ue(struct emks_store *st, enum emks_ue_by by, const char *ue,
			 uint32_t key_id, const char *emse_id, int64_t now,
			 uint8_t int_key[E2M_KEY_LEN], int64_t *expiry)
{
	char imsi[EMKS_IMSI_MAX + 1];
	int rc;
	if (by == EMKS_UE_BY_IMSI) {
		if (strlen(ue) > EMKS_IMSI_MAX)
			return EMKS_STORE_NO_KEY;
		memcpy(imsi, ue, strlen(ue) + 1);
	} else if ((rc = imsi_of(st, ue, imsi)) != EMKS_STORE_OK) {
		return rc;
	}
	int mode;
	if ((rc = sub_mode(st, imsi, &mode)) != EMKS_STORE_OK)
		return rc;

	/* Authorisation before the key lookup: an EMSE that may not serve the UE learns nothing
	 * about which key ids exist. */
	sqlite3_stmt *s = q_get(st, Q_EMSE_CHECK);
	sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, emse_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return EMKS_STORE_FORBIDDEN;
	if (rc != SQLITE_ROW) {
		log_db(st, "emse check");
		return EMKS_STORE_ERROR;
	}

	s = q_get(st, mode == EMKS_KEY_ID_HASH ? Q_KEY_BY_HASH : Q_KEY_LOOKUP);
	sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, key_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return EMKS_STORE_NO_KEY;
	}
	if (rc != SQLITE_ROW || sqlite3_column_bytes(s, 0) != E2M_KEY_LEN) {
		log_db(st, "key lookup");
		sqlite3_reset(s);
		return EMKS_STORE_ERROR;
	}
	int64_t exp = sqlite3_column_int64(s, 1);
	if (exp <= now) {
		sqlite3_reset(s);
		return EMKS_STORE_NO_KEY;
	}
	memcpy(int_key, sqlite3_column_blob(s, 0), E2M_KEY_LEN);
	*expiry = exp;
	/* A second row under the same hash: an older key of this UE shares the id. */
	if (mode == EMKS_KEY_ID_HASH && sqlite3_step(s) == SQLITE_ROW)
		st->hash_collisions++;
	sqlite3_reset(s);
	return EMKS_STORE_OK;
}

int emks_store_bind_emse(struct emks_store *st, const char *cert_fp, const char *emse_id)
{
	sqlite3_stmt *s = q_get(st, Q_BIND_SET);
	sqlite3_bind_text(s, 1, cert_fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, emse_id, -1, SQLITE_STATIC);
	return q_done(st, s, "emse binding") == 0 ? EMKS_STORE_OK : EMKS_STORE_ERROR;
}

int emks_store_bound_emse(struct emks_store *st, const char *cert_fp,
			  char emse_id[E2M_EMSE_ID_MAX + 1])
{
	sqlite3_stmt *s = q_get(st, Q_BIND_GET);
	sqlite3_bind_text(s, 1, cert_fp, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	int out = EMKS_STORE_ERROR;
	if (rc == SQLITE_DONE) {
		out = EMKS_STORE_NO_KEY;
	} else if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) >= 1 &&
		   sqlite3_column_bytes(s, 0) <= E2M_EMSE_ID_MAX) {
		memcpy(emse_id, sqlite3_column_text(s, 0), (size_t)sqlite3_column_bytes(s, 0) + 1);
		out = EMKS_STORE_OK;
	} else {
		log_db(st, "emse binding lookup");
	}
	sqlite3_reset(s);
	return out;
}

uint64_t emks_store_hash_collisions(const struct emks_store *st)
{
	return st->hash_collisions;
}

int emks_store_key_count(struct emks_store *st, const char *imsi)
{
	sqlite3_stmt *s = q_get(st, Q_KEY_COUNT);
	sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
	int n = -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return n;
}
