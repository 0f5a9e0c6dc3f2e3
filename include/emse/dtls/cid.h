/* RFC 9146 Connection IDs we issue (docs/cid.md). Fixed layout, after the idea of
 * draft-ietf-quic-load-balancers:
 *
 *   octet 0      node_id, in the clear: a load balancer reads it at UDP payload byte 11 of a
 *                tls12_cid record (type 1, version 2, epoch 2, seq 6, then the CID)
 *   octets 1..   a keyed permutation (4-round Feistel, AES-128 round function) of the
 *                (len-1)*8-bit plaintext  worker (6 bits) | slot (slot_bits) | check (<= 16 bits)
 *                | zeros (the rest), least significant first
 *
 * Uniqueness per node is structural: a live session is one (worker, slot). The check bits are
 * random per session and stored in it; a CID is accepted only if it decodes to a live slot of a
 * CID session whose check bits equal and whose zero bits are zero, so a guess hits with probability
 * live sessions / 2^((len-1)*8) (docs/cid.md has the table).
 *
 * Pure: no DPDK, no allocation. The codec is read-only once made; workers share it. */
#ifndef EMSE_CID_H
#define EMSE_CID_H

#include <stddef.h>
#include <stdint.h>

#define EMSE_CID_MIN 4
#define EMSE_CID_MAX 16
#define EMSE_CID_KEY_LEN 32       /* AES-128 key || 16-byte round tweak */
#define EMSE_CID_WORKER_BITS 6    /* EMSE_MAX_WORKERS = 64 */
#define EMSE_CID_CHECK_MAX 16     /* what the record state stores (cid_check) */

struct emse_cid_codec {
	uint8_t rk[11][16];       /* AES-128 encryption schedule (secret) */
	uint8_t tweak[16];        /* secret */
	uint8_t node_id;
	uint8_t slot_bits;        /* ceil(log2(max_sessions)) */
	int ni;                   /* AES-NI; else OpenSSL's AES_encrypt */
	void *wc;                 /* AES_KEY when !ni (owned, wiped) */
};

/* Check bits a CID of len octets carries with max_sessions slots; -1 if the worker and slot do
 * not fit (the configuration is refused). */
int emse_cid_check_bits(unsigned len, uint32_t max_sessions);

/* key: EMSE_CID_KEY_LEN bytes (copied; the caller wipes its copy). Returns 0 or -1. */
int emse_cid_codec_init(struct emse_cid_codec *c, const uint8_t key[EMSE_CID_KEY_LEN],
			uint8_t node_id, uint32_t max_sessions);
/* Wipes the key schedule and tweak. */
void emse_cid_codec_wipe(struct emse_cid_codec *c);

/* Our CID for (worker, slot, check) into out[len]. check is truncated to the length's check bits
 * (emse_cid_check_bits). len 4..16. */
void emse_cid_encode(const struct emse_cid_codec *c, unsigned len, unsigned worker, uint32_t slot,
		     uint32_t check, uint8_t *out);
/* Decodes cid[len]: 0 and the fields when the node octet is ours and the zero bits are zero, else
 * -1 (not ours, or forged: the caller counts it). *check is the check bits to compare. */
int emse_cid_decode(const struct emse_cid_codec *c, unsigned len, const uint8_t *cid,
		    unsigned *worker, uint32_t *slot, uint32_t *check);
/* The check bits as emse_cid_encode keeps them, for the comparison after decode. */
uint32_t emse_cid_check_mask(const struct emse_cid_codec *c, unsigned len);

/* Tests: switches a codec to the software AES (to compare it with AES-NI). */
void emse_cid_test_force_soft(struct emse_cid_codec *c, const uint8_t key[EMSE_CID_KEY_LEN]);

/* Reads a key file: exactly EMSE_CID_KEY_LEN bytes. Returns 0, or -1 with a message in err. */
int emse_cid_key_load(const char *path, uint8_t key[EMSE_CID_KEY_LEN], char *err, size_t err_size);

#endif
