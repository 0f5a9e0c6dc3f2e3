/* Session resumption cache (RFC 5246 7.3 abbreviated handshake by session id; issue 14): per
 * worker, a direct-mapped table of resume_max entries allocated once. The session id is 32
 * random octets chosen by hs12.c for the ServerHello; its first four octets pick the slot, so a
 * lookup is one slot and one constant-time compare; a new entry evicts whatever held its slot
 * (counted). An entry holds what resuming needs: the master secret, the suite, whether the session
 * used the extended master secret, a reference to the identity in the worker's arena, and its
 * expiry. Master secrets are wiped on eviction, expiry and at the end. Single-threaded (one per
 * worker); nothing allocates after emse_resume_init. Memory: emse_resume_bytes(), reported apart
 * from the per-session budget. */
#ifndef EMSE_RESUME_H
#define EMSE_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "emse/e2m.h"
#include "emse/idarena.h"

#define EMSE_SID_LEN 32
#define EMSE_MS_LEN 48

struct emse_resume_entry {
	uint8_t sid[EMSE_SID_LEN];
	uint8_t ms[EMSE_MS_LEN];
	uint64_t expires;          /* unix s; 0: free */
	uint32_t id_ref;           /* the identity in the worker's arena (0: none) */
	uint8_t suite[2];
	uint8_t cipher;            /* enum emse_rec_cipher */
	uint8_t ems;
};

struct emse_resume_stats {
	uint64_t offered;          /* ClientHellos with a session id (cache on) */
	uint64_t accepted;         /* abbreviated handshakes started */
	uint64_t misses;           /* offered, but unknown, expired, or another suite / EMS state */
	uint64_t evictions;        /* a live entry overwritten by a new one */
	uint64_t stored;
};

struct emse_resume {
	struct emse_resume_entry *e;
	uint32_t max;              /* 0: resumption off */
	uint32_t lifetime_s;
	uint32_t sweep;            /* next slot emse_resume_sweep looks at */
	struct emse_resume_stats st;
};

/* max 0: off (no memory). Returns 0 or -1. */
int emse_resume_init(struct emse_resume *c, uint32_t max, uint32_t lifetime_s, int socket);
/* Wipes every master secret and drops the identities from ids (NULL: arena already gone). */
void emse_resume_fini(struct emse_resume *c, struct emse_idarena *ids);
size_t emse_resume_bytes(uint32_t max);
/* Stores a finished full handshake's session under sid; the identity is copied into ids. */
void emse_resume_put(struct emse_resume *c, struct emse_idarena *ids, const uint8_t *sid,
		     const uint8_t *ms, const uint8_t suite[2], uint8_t cipher, uint8_t ems,
		     const struct e2m_identity *id, uint64_t now);
/* The live entry for sid (len octets), or NULL; an expired one is wiped on the way. */
const struct emse_resume_entry *emse_resume_find(struct emse_resume *c, struct emse_idarena *ids,
						 const uint8_t *sid, size_t len, uint64_t now);
/* Wipes expired entries, n slots a call (the worker's tick), so a master secret does not outlive
 * its lifetime by more than one sweep of the table. */
void emse_resume_sweep(struct emse_resume *c, struct emse_idarena *ids, uint64_t now, uint32_t n);

#endif
