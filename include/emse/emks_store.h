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

/* For tests and diagnostics: number of keys stored for an IMSI (-1 on error). */
int emks_store_key_count(struct emks_store *st, const char *imsi);

#endif
