/* AES-128-CMAC (RFC 4493, NIST SP 800-38B) with a 16-octet tag: the MAC of the cluster envelope
 * (include/emse/cluster.h). Deterministic and nonce-free, so nodes sharing a key across restarts
 * cannot reuse anything; one AES block per 16 octets of message.
 *
 * On AES-NI (dataplane/dtls/aes_ni.h) where the CPU has it, else OpenSSL's AES_encrypt (alloc-free
 * and lock-free, unlike EVP_MAC; table-based, so timing-hardened only as far as OpenSSL makes it).
 * Checked against RFC 4493's vectors and OpenSSL's EVP_MAC "CMAC" on random keys
 * (tests/dataplane/dtls/test_aescmac.c, tests/fuzz/fuzz_aescmac.c). */
#ifndef EMSE_AESCMAC_H
#define EMSE_AESCMAC_H

#include <stddef.h>
#include <stdint.h>

#define EMSE_CMAC_LEN 16

/* Secret: wipe it with emse_cmac_wipe. Read-only once made (workers share it). */
struct emse_cmac_key {
	union {
		_Alignas(16) uint8_t rk[11][16]; /* the AES-128 schedule, for AES-NI */
		_Alignas(16) uint8_t ossl[256];  /* OpenSSL's AES_KEY (opaque here: its
						    <openssl/aes.h> clashes with wolfSSL's) */
	} s;
	_Alignas(16) uint8_t k1[16], k2[16]; /* the subkeys for a whole and a padded last block */
	int ni;                              /* which of the two s holds */
};

void emse_cmac_init(struct emse_cmac_key *k, const uint8_t key[16]);
/* ni = 0: the OpenSSL path even on an AES-NI CPU (the tests check both paths). */
void emse_cmac_init_impl(struct emse_cmac_key *k, const uint8_t key[16], int ni);
void emse_cmac_wipe(struct emse_cmac_key *k);
/* The tag of msg (n octets, any n). */
void emse_cmac(const struct emse_cmac_key *k, const uint8_t *msg, size_t n,
	       uint8_t tag[EMSE_CMAC_LEN]);

#endif
