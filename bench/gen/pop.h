/* The simulated UE population: who the UEs are (PSK identity) and the DTLS PSK each one holds.
 * Three sources, so the generator and the peers can agree with whatever provisioned the server:
 * emks-hss's JSON lines, a plain key file, or a synthetic population derived here the way a
 * real UE derives it (K, OPc -> Milenage -> CK, IK -> e2m_int_key -> e2m_key). */
#ifndef BENCH_POP_H
#define BENCH_POP_H

#include <stddef.h>
#include <stdint.h>
#include "emse/e2m.h"

struct pop_ue {
	uint8_t key[E2M_KEY_LEN];
	uint8_t id_len;
	char identity[E2M_PSK_IDENTITY_MAX + 1];
};

struct pop {
	struct pop_ue *ue;
	size_t n, cap;
	/* identity -> index, open addressing, for servers looking a key up by identity */
	uint32_t *index;
	size_t index_cap;
};

/* Each returns 0, or -1 with a message on stderr. All append to p. */
int pop_load_keyfile(struct pop *p, const char *path);   /* "<psk_identity> <64 hex>" per line */
/* emks-hss output: one JSON object per UE per line; emse_id picks the EMSE_Id entry (NULL: the
 * only one, or the first). */
int pop_load_hss(struct pop *p, const char *path, const char *emse_id);
/* Loads path as JSON lines if its first non-blank character is '{', else as a key file. */
int pop_load_auto(struct pop *p, const char *path, const char *emse_id);
int pop_synthetic(struct pop *p, size_t n, uint64_t seed, const char *emse_id);

/* Writes the population as a key file (for a peer that should accept these UEs). */
int pop_write_keyfile(const struct pop *p, const char *path);

/* Builds the identity index; then pop_find works. */
int pop_index(struct pop *p);
const struct pop_ue *pop_find(const struct pop *p, const char *identity, size_t len);

void pop_free(struct pop *p);

#endif
