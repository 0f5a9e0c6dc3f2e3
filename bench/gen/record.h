/* The generator's own DTLS 1.2 AEAD record layer for --blast: after wolfSSL's handshake, the
 * session keys are derived again from the master secret and records are sealed here (~0.1 us
 * instead of ~1-2 us through wolfSSL_write; with emse's own dataplane/aesgcm.c and aesccm.c where
 * the CPU has AES-NI), so one generator core can offer a server millions of records per second. Echoes are counted, and the first of each session is opened to prove
 * the keys and the server's echo right. */
#ifndef BENCH_RECORD_H
#define BENCH_RECORD_H

#include <stdint.h>

#define REC_HDR 13
#define REC_EXPLICIT 8
#define REC_MAX_OVERHEAD (REC_HDR + REC_EXPLICIT + 16)

struct rec_own;
struct rec_keys {
	/* client write (ours) and server write: emse's aesgcm.c / aesccm.c keys where the CPU
	 * runs them (own), else wolfCrypt Aes */
	struct rec_own *own_w, *own_r;
	void *aes_w, *aes_r;
	uint8_t own;
	uint8_t salt_w[4], salt_r[4];
	uint64_t seq;                 /* next sequence number we write in epoch 1 */
	uint8_t tag_len;              /* 8 for CCM-8, 16 for GCM */
	uint8_t ccm;
};

/* Call on the client object before its handshake: keeps the master secret and randoms. */
void rec_keep(void *ssl);
/* After the handshake: derives both directions' keys (AEAD suites only). 0 or -1. */
int rec_setup(void *ssl, struct rec_keys *k);
/* The same in two steps, for --hold-file / --resume-file: the key block (client_write_key,
 * server_write_key, client and server IV, 40 bytes) out of the finished handshake, and keys set
 * up again from it by another process. */
int rec_derive(void *ssl, uint8_t kb[40], int *ccm);
int rec_setup_kb(struct rec_keys *k, const uint8_t kb[40], int ccm);
/* Seals one record of type into out (len + REC_MAX_OVERHEAD bytes); returns its length. */
int rec_seal(struct rec_keys *k, uint8_t type, const uint8_t *pt, uint16_t len, uint8_t *out);
/* Opens a server record (epoch 1) into pt; returns the plaintext length or -1. */
int rec_open(struct rec_keys *k, const uint8_t *rec, uint16_t len, uint8_t *pt);
void rec_free(struct rec_keys *k);

#endif
