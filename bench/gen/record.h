/* The generator's own DTLS 1.2 AEAD record layer for --blast: after wolfSSL's handshake, the
 * session keys are derived again from the master secret and records are sealed here (~0.1 us
 * instead of ~1-2 us through wolfSSL_write; with emse's own dataplane/dtls/aesgcm.c and aesccm.c where
 * the CPU has AES-NI), so one generator core can offer a server millions of records per second. Echoes are counted, and the first of each session is opened to prove
 * the keys and the server's echo right. */
#ifndef BENCH_RECORD_H
#define BENCH_RECORD_H

#include <stdint.h>

#define REC_HDR 13
#define REC_EXPLICIT 8
#define REC_CID_MAX 32          /* the longest Connection ID we accept from a server */
#define REC_CT_CID 25           /* tls12_cid (RFC 9146) */
/* tls12_cid adds the CID and the inner content type (no padding is sent) */
#define REC_MAX_OVERHEAD (REC_HDR + REC_EXPLICIT + 16 + REC_CID_MAX + 1)

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
	/* RFC 9146: the CID the server chose (in every record we write: tls12_cid when non-empty)
	 * and the length of ours (in the server's records to us; 0: it sends plain records) */
	uint8_t cid_w_len, cid_r_len;
	uint8_t cid_w[REC_CID_MAX];
};

/* Call on the client object before its handshake: keeps the master secret and randoms. */
void rec_keep(void *ssl);
/* After the handshake: derives both directions' keys (AEAD suites only). 0 or -1. */
int rec_setup(void *ssl, struct rec_keys *k);
/* The first step of rec_setup, for --hold-file / --resume-file: the key block out of the finished
 * handshake, for another process to set the keys up again with rec_setup_kb. */
int rec_derive(void *ssl, uint8_t kb[40], int *ccm);
/* From a key block (RFC 5246 6.3: client_write_key, server_write_key, client IV, server IV; 40
 * octets) for the AEAD suite (ccm: CCM-8, else GCM); the next sequence number we write is seq.
 * For emse-bench's own handshake client (hs_client.h) and --resume-file. 0 or -1. */
int rec_setup_kb(struct rec_keys *k, int ccm, const uint8_t kb[40], uint64_t seq);
/* Seals one record of type into out (len + REC_MAX_OVERHEAD bytes); returns its length. A
 * tls12_cid record when the server gave us a CID (cid_w_len > 0). */
int rec_seal(struct rec_keys *k, uint8_t type, const uint8_t *pt, uint16_t len, uint8_t *out);
/* Opens a server record (epoch 1; tls12_cid with our CID when cid_r_len > 0) into pt; returns the
 * plaintext length or -1. *type (if not NULL) gets the content type (the inner one for
 * tls12_cid). */
int rec_open(struct rec_keys *k, const uint8_t *rec, uint16_t len, uint8_t *pt, uint8_t *type);
/* The additional data of a tls12_cid record (RFC 9146 5; 23 + cid_len octets). */
size_t rec_cid_aad(uint8_t *aad, const uint8_t *hdr, const uint8_t *cid, uint8_t cid_len,
		   uint16_t inner_len);
void rec_free(struct rec_keys *k);

#endif
