/* A worker's sessions: a fixed array (max_sessions), a free list, an rte_hash from (peer address,
 * peer port, listener) to slot, and two FIFO lists that double as timer wheels: handshakes (all
 * share one timeout, so insertion order is deadline order) and established sessions (LRU: touched
 * sessions move to the tail, so the head is the next idle timeout). Nothing here allocates after
 * emse_sessions_init. */
#ifndef EMSE_SESSION_H
#define EMSE_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include "emse/e2m.h"
#include "emse/dtls/hs12.h"
#include "emse/net/net.h"
#include "emse/dtls/record.h"

struct rte_mbuf;
struct rte_hash;
typedef struct WOLFSSL WOLFSSL;

#define EMSE_PARK_DGRAMS 4
#define EMSE_NIL UINT32_MAX

enum emse_session_state {
	EMSE_S_FREE = 0,
	EMSE_S_HANDSHAKE,   /* wolfSSL or hs12.c is running the handshake */
	EMSE_S_PARKED,      /* waiting for the key; datagrams held in parked[] */
	EMSE_S_ESTABLISHED,         /* compact: records opened and sealed by record.c */
	EMSE_S_ESTABLISHED_WOLFSSL, /* a suite record.c does not handle: wolfSSL keeps it */
};

struct emse_session_key {
	uint8_t family;
	uint8_t listener;
	uint16_t port;
	uint8_t addr[16];
};

/* What only a handshake needs: its held datagrams, the PSK and the identity. A per-worker table of
 * half_open_max of these, so that an established session does not carry them. */
struct emse_hs_extra {
	struct rte_mbuf *parked[EMSE_PARK_DGRAMS];
	uint8_t key[E2M_KEY_LEN];
	struct e2m_identity id;
	struct emse_hs12 n;   /* the native engine's handshake (hs12.h), when it runs this one */
};

/* While wolfSSL runs the handshake (and for the rest of a session whose suite the compact record
 * layer does not handle: CBC, where x is NULL once established). */
struct emse_hs_state {
	WOLFSSL *ssl;
	const uint8_t *in;  /* the datagram wolfSSL's receive callback hands over next */
	uint64_t rtx_at;    /* tsc: next retransmission of our last flight; parked: its deadline */
	struct emse_hs_extra *x;
	uint16_t in_len;
	uint8_t have_key;
	uint8_t n_parked;
	uint8_t native;     /* hs12.c runs the handshake (ssl is NULL) */
};

struct emse_session {
	struct emse_flow flow;
	uint64_t deadline; /* tsc: handshake/parked/idle deadline, by state */
	uint32_t gen;      /* bumped at each reuse: stale control completions are ignored */
	uint32_t prev, next;
	uint32_t id_ref;   /* established: the identity in the worker's arena (idarena.h), 0 if none */
	uint8_t state;
	uint8_t listener;
	uint16_t fwd_port; /* forward mode: our port towards the backend for this session */
	uint8_t peer_cid[EMSE_REC_PEER_CID_MAX]; /* RFC 9146: the client's CID (u.rec's flags say
						  * its length), in what was padding */
	union {
		struct emse_hs_state hs;     /* HANDSHAKE, PARKED, ESTABLISHED_WOLFSSL */
		struct emse_record_state rec; /* ESTABLISHED: compact, no wolfSSL object */
	} u;
};

struct emse_list {
	uint32_t head, tail, n;
};

static inline int emse_session_established(const struct emse_session *s)
{
	return s->state == EMSE_S_ESTABLISHED || s->state == EMSE_S_ESTABLISHED_WOLFSSL;
}

struct emse_sessions {
	struct emse_session *s;
	uint32_t max;
	uint32_t max_per_source; /* sessions one source address may hold (0: no limit) */
	struct rte_hash *per_src;
	uint32_t *free_stack;
	uint32_t n_free;
	struct rte_hash *h;
	struct emse_list hs;   /* HANDSHAKE and PARKED */
	struct emse_list est;  /* ESTABLISHED, LRU */
};

int emse_sessions_init(struct emse_sessions *t, const char *name, uint32_t max,
		       uint32_t max_per_source, int socket);
void emse_sessions_free(struct emse_sessions *t);

void emse_session_key_of(const struct emse_flow *f, uint8_t listener, struct emse_session_key *k);
struct emse_session *emse_session_find(struct emse_sessions *t, const struct emse_session_key *k);
/* Takes a free slot and indexes it under k; NULL when full (or the source address holds
 * max_per_source sessions: *per_source_full is set). State is HANDSHAKE, in the hs list. */
struct emse_session *emse_session_new(struct emse_sessions *t, const struct emse_session_key *k,
				      uint64_t deadline, bool *per_source_full);
/* emse_session_new, but in slot i (a session restored with its RFC 9146 CID, which names the
 * slot: persist.c). NULL also when slot i is not free. Start-up only: the slot is looked for in
 * the free stack at pos[i] when pos (an index the caller keeps, see emse_sessions_free_pos), else
 * where emse_sessions_init put it, else by a scan. */
struct emse_session *emse_session_new_at(struct emse_sessions *t, const struct emse_session_key *k,
					 uint64_t deadline, uint32_t i, uint32_t *pos,
					 bool *per_source_full);
/* pos[slot] = the slot's place in the free stack, for each free slot (pos: t->max entries). */
/* Pages of the first n slots populated now (before a bulk restore), not fault by fault. */
void emse_sessions_populate(struct emse_sessions *t, uint32_t n);
void emse_sessions_free_pos(const struct emse_sessions *t, uint32_t *pos);
/* RFC 9146 6: the session's peer moved to flow f (same listener): the 5-tuple index and the
 * per-source count follow. The new key must be free (the caller ends a session holding it).
 * Returns 0, or -1 (index full: nothing changed). */
int emse_session_move(struct emse_sessions *t, struct emse_session *s, const struct emse_flow *f);
/* An established CID session s leaves the 5-tuple index (its address is another session's now,
 * RFC 9146 6: a NAT gave its old port to another UE); it lives on, reached by its CID, and is
 * indexed again by its next move (EMSE_REC_F_UNINDEXED). */
void emse_session_detach(struct emse_sessions *t, struct emse_session *s);
/* Unindexes, wipes the key, returns the slot. The caller has dealt with ssl and parked[]. */
void emse_session_release(struct emse_sessions *t, struct emse_session *s);

static inline uint32_t emse_session_idx(const struct emse_sessions *t, const struct emse_session *s)
{
	return (uint32_t)(s - t->s);
}

void emse_list_push(struct emse_sessions *t, struct emse_list *l, struct emse_session *s);
void emse_list_remove(struct emse_sessions *t, struct emse_list *l, struct emse_session *s);
static inline struct emse_session *emse_list_head(struct emse_sessions *t, struct emse_list *l)
{
	return l->head == EMSE_NIL ? NULL : &t->s[l->head];
}
static inline struct emse_session *emse_list_next(struct emse_sessions *t, struct emse_session *s)
{
	return s->next == EMSE_NIL ? NULL : &t->s[s->next];
}

#endif
