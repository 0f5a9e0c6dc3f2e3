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
	[Q_KEY_INSERT] = "INSERT INTO int_key(imsi, key_id, key, pushed_at, expiry) "
			 "VALUES (?1, ?2, ?3, ?4, ?5)",
	/* seq is AUTOINCREMENT, so it orders pushes even across deletions and restarts. */
	[Q_KEY_TRIM] = "DELETE FROM int_key WHERE imsi = ?1 AND seq NOT IN "
		       "(SELECT seq FROM int_key WHERE imsi = ?1 ORDER BY seq DESC LIMIT ?2)",
	[Q_KEY_DELETE_IMSI] = "DELETE FROM int_key WHERE imsi = ?1",
	[Q_APP_LOOKUP] = "SELECT imsi FROM app_id WHERE app_id = ?1",
	[Q_EMSE_CHECK] = "SELECT 1 FROM emse_allow WHERE imsi = ?1 AND emse_id = ?2",
	[Q_KEY_LOOKUP] = "SELECT key, expiry FROM int_key WHERE imsi = ?1 AND key_id = ?2",
	[Q_KEY_COUNT] = "SELECT count(*) FROM int_key WHERE imsi = ?1",
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

struct emks_store {
	sqlite3 *db;
	sqlite3_stmt *q[Q__COUNT];
	unsigned keys_per_ue;
	int64_t expiry_s;
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
	if (exec_simple(st, Q_BEGIN) != 0)
		return EMKS_STORE_ERROR;
	sqlite3_stmt *s = q_get(st, Q_SUB_INSERT);
	sqlite3_bind_text(s, 1, imsi, -1, SQLITE_STATIC);
	if (q_done(st, s, "subscriber insert") != 0)
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
	if (exec_simple(st, Q_BEGIN) != 0)
		return EMKS_STORE_ERROR;
	sqlite3_stmt *s = q_get(st, Q_KEY_DELETE_ID);
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
	char imsi[EMKS_IMSI_MAX + 1];
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
	snprintf(imsi, sizeof(imsi), "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);

	/* Authorisation before the key lookup: an EMSE that may not serve the UE learns nothing
	 * about which key ids exist. */
	s = q_get(st, Q_EMSE_CHECK);
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

	s = q_get(st, Q_KEY_LOOKUP);
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
	sqlite3_reset(s);
	return EMKS_STORE_OK;
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
