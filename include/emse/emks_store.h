/* The reference EMKS's durable state (SQLite, WAL): subscribers (IMSI -> application ids and
 * allowed EMSE_Ids) and the last N e2m_int_keys per UE. Single-threaded: one store per thread.
 * Times are seconds since the epoch, passed in by the caller so tests control the clock. */
#ifndef EMSE_EMKS_STORE_H
#define EMSE_EMKS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "emse/e2m.h"

#define EMKS_IMSI_MAX 15
#define EMKS_KEYS_PER_UE_MAX 64
#define EMKS_SUB_LIST_MAX 64  /* app ids / EMSE ids per subscriber */

struct emks_store;

struct emks_store_config {
	const char *path;        /* database file; created if missing */
	unsigned keys_per_ue;    /* N: 1..EMKS_KEYS_PER_UE_MAX, default 4 */
	int64_t expiry_s;        /* key expiry after its push, default 86400 */
	int sync_normal;         /* 0: synchronous=FULL (default); 1: NORMAL (see store.c) */
};

/* Returns NULL and a message in err on failure. */
struct emks_store *emks_store_open(const struct emks_store_config *cfg, char *err, size_t err_len);
void emks_store_close(struct emks_store *st);

enum emks_store_result {
	EMKS_STORE_OK = 0,
	EMKS_STORE_NO_KEY = 1,     /* unknown UE/app id, no key with that id, or expired */
	EMKS_STORE_FORBIDDEN = 2,  /* the UE's subscription does not list this EMSE */
	EMKS_STORE_ERROR = -1,     /* database error (logged) */
};

/* Replaces the subscriber's app ids and allowed EMSE ids (all NUL-terminated). An app id that
 * belonged to another IMSI moves to this one: the HSS is the authority on the mapping. */
int emks_store_put_subscriber(struct emks_store *st, const char *imsi, const char *const *app_ids,
			      size_t n_app, const char *const *emse_ids, size_t n_emse);

/* Stores a pushed key. A key with the same key_id for this IMSI is replaced (and counts as the
 * newest); beyond N keys the oldest by push order is dropped. Durable when it returns OK. */
int emks_store_push_key(struct emks_store *st, const char *imsi, uint32_t key_id,
			const uint8_t int_key[E2M_KEY_LEN], int64_t now);

/* Forgets the UE's keys (the subscription stays). */
int emks_store_remove_context(struct emks_store *st, const char *imsi);

/* The int key for (app id, key id) if emse_id may have it. On OK, int_key and *expiry are set;
 * the caller wipes int_key. */
int emks_store_lookup(struct emks_store *st, const char *app_id, uint32_t key_id,
		      const char *emse_id, int64_t now, uint8_t int_key[E2M_KEY_LEN],
		      int64_t *expiry);

/* ---- SPEC.md section 6: the seed's alternatives ---- */
enum { EMKS_KEY_ID_RAND = 0, EMKS_KEY_ID_HASH = 1 };

/* As emks_store_put_subscriber, with the subscriber's key id mode (put_subscriber sets RAND). */
int emks_store_put_subscriber_mode(struct emks_store *st, const char *imsi,
				   const char *const *app_ids, size_t n_app,
				   const char *const *emse_ids, size_t n_emse, int mode);
/* EMKS_KEY_ID_RAND or _HASH (RAND for an unknown IMSI), or EMKS_STORE_ERROR. */
int emks_store_key_id_mode(struct emks_store *st, const char *imsi);

/* A push; without a key id (has_key_id 0) the key is stored under its hash key id, replacing a
 * different key with the same hash (newest wins, counted). Every key's hash id is kept, so a UE
 * whose mode changes finds its stored keys under the new mode. */
int emks_store_push(struct emks_store *st, const char *imsi, int has_key_id, uint32_t key_id,
		    const uint8_t int_key[E2M_KEY_LEN], int64_t now);

/* The UE by its application identity (case 2, the EMKS translates) or by its IMSI (case 1).
 * For a hash-mode subscriber key_id is matched against the keys' hash ids, the newest first;
 * a second match is a collision (counted). Unknown UE: NO_KEY. Otherwise as emks_store_lookup. */
enum emks_ue_by { EMKS_UE_BY_APP_ID = 0, EMKS_UE_BY_IMSI = 1 };
int emks_store_lookup_ue(struct emks_store *st, enum emks_ue_by by, const char *ue,
			 uint32_t key_id, const char *emse_id, int64_t now,
			 uint8_t int_key[E2M_KEY_LEN], int64_t *expiry);

/* register-emse: binds a client certificate (its SHA-256 fingerprint, hex) to an EMSE_Id, durably;
 * a later binding replaces it. bound_emse: OK (emse_id set), NO_KEY (not bound) or ERROR. */
#define EMKS_CERT_FP_LEN 64
int emks_store_bind_emse(struct emks_store *st, const char *cert_fp, const char *emse_id);
int emks_store_bound_emse(struct emks_store *st, const char *cert_fp,
			  char emse_id[E2M_EMSE_ID_MAX + 1]);

/* Hash key id collisions seen (at a push without key id, or a lookup), since open. */
uint64_t emks_store_hash_collisions(const struct emks_store *st);

/* For tests and diagnostics: number of keys stored for an IMSI (-1 on error). */
int emks_store_key_count(struct emks_store *st, const char *imsi);

#endif
