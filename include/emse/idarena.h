/* Where an established session keeps its PSK identity: a per-worker arena of 32-byte chunks, so
 * an identity costs what it is long (a typical "e2m.<8 hex>@<app id>" of ~25 octets takes one
 * chunk) instead of the 124 bytes of a struct e2m_identity in every session. Single-threaded
 * (one per worker); allocated once, nothing allocated afterwards. */
#ifndef EMSE_IDARENA_H
#define EMSE_IDARENA_H

#include <stdint.h>
#include "emse/e2m.h"

#define EMSE_IDCHUNK 32
#define EMSE_IDCHUNK_DATA (EMSE_IDCHUNK - 4)

struct emse_idarena {
	uint8_t (*chunk)[EMSE_IDCHUNK]; /* chunk i: next index + 1 (4 bytes, 0 = last), data */
	uint32_t *free;
	uint32_t n_free, cap;
};

int emse_idarena_init(struct emse_idarena *a, uint32_t chunks, int socket);
void emse_idarena_fini(struct emse_idarena *a);
/* Stores id; returns a reference (never 0), or 0 when the arena has no room. */
uint32_t emse_idarena_put(struct emse_idarena *a, const struct e2m_identity *id);
/* Reads the identity behind ref back; -1 for a bad reference. */
int emse_idarena_get(const struct emse_idarena *a, uint32_t ref, struct e2m_identity *id);
void emse_idarena_drop(struct emse_idarena *a, uint32_t ref);

#endif
