/* libFuzzer: dataplane/aesccm.c against wolfCrypt's AES-CCM (8-byte tag, 12-byte nonce) on
 * arbitrary inputs. The input is key(16) || nonce(12) || aad length(1) || flip(2) || aad ||
 * message. Both seal the message and must agree on ciphertext and tag; both then open the record
 * with one bit flipped at position `flip` (past the end: nothing flipped) and must agree on
 * accept or refuse, and on the plaintext when they accept; a refused open leaves the output as it
 * was. In place and out of place. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>

#include "aead_input.h"
#include "emse/aesccm.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define MAXN 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static Aes w;
	static int init;
	if (!emse_ccm_available())
		return 0;
	if (!init) {
		CHECK(wc_AesInit(&w, NULL, INVALID_DEVID) == 0);
		init = 1;
	}
	struct aead_input in;
	if (aead_input_parse(data, size, MAXN, &in) != 0)
		return 0;
	const uint8_t *key = in.key, *nonce = in.nonce, *aad = in.aad, *msg = in.msg;
	size_t an = in.an, n = in.n;

	static uint8_t c1[MAXN], c2[MAXN], p1[MAXN], p2[MAXN], io[MAXN], a2[256];
	uint8_t t1[8], t2[8];
	struct emse_ccm_key k;
	emse_ccm_init(&k, key);
	CHECK(wc_AesCcmSetKey(&w, key, 16) == 0);
	CHECK(wc_AesCcmEncrypt(&w, c1, msg, (word32)n, nonce, 12, t1, 8, an ? aad : NULL,
			       (word32)an) == 0);
	CHECK(emse_ccm8_seal(&k, nonce, aad, an, msg, n, c2, t2) == 0);
	CHECK(memcmp(c1, c2, n) == 0 && memcmp(t1, t2, 8) == 0);
	memcpy(io, msg, n);
	CHECK(emse_ccm8_seal(&k, nonce, aad, an, io, n, io, t2) == 0);
	CHECK(memcmp(io, c1, n) == 0 && memcmp(t1, t2, 8) == 0);

	aead_input_flip(&in, a2, c1, t1, 8);
	int rw = wc_AesCcmDecrypt(&w, p1, c1, (word32)n, nonce, 12, t1, 8, an ? a2 : NULL,
				  (word32)an);
	memset(p2, 0xa5, n);
	int ro = emse_ccm8_open(&k, nonce, a2, an, c1, n, p2, t1);
	CHECK((rw == 0) == (ro == 0));
	if (ro == 0)
		CHECK(memcmp(p1, p2, n) == 0 && memcmp(p2, msg, n) == 0);
	else
		for (size_t i = 0; i < n; i++)
			CHECK(p2[i] == 0xa5);
	memcpy(io, c1, n);
	CHECK(emse_ccm8_open(&k, nonce, a2, an, io, n, io, t1) == ro);
	CHECK(ro != 0 ? memcmp(io, c1, n) == 0 : memcmp(io, msg, n) == 0);
	emse_ccm_wipe(&k);
	return 0;
}
