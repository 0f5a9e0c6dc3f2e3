/* libFuzzer: dataplane/aesgcm.c against wolfCrypt's AES-GCM on arbitrary inputs. The input is
 * key(16) || nonce(12) || aad length(1) || flip(2) || aad || message. Both seal the message and
 * must agree on ciphertext and tag; both then open the record with one bit flipped at position
 * `flip` (a position past the end flips nothing) and must agree on accept or refuse, and on the
 * plaintext when they accept. In place and out of place, on both of aesgcm.c's paths. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>

#include "aead_input.h"
#include "emse/aesgcm.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define MAXN 4096

static void one(const uint8_t *data, size_t size);

/* each input through both paths where the CPU has the wide one */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!emse_gcm_available())
		return 0;
	int wide = emse_gcm_set_wide(0);
	one(data, size);
	if (emse_gcm_set_wide(1), emse_gcm_wide())
		one(data, size);
	emse_gcm_set_wide(wide);
	return 0;
}

static void one(const uint8_t *data, size_t size)
{
	static Aes w;
	static int init;
	if (!init) {
		CHECK(wc_AesInit(&w, NULL, INVALID_DEVID) == 0);
		init = 1;
	}
	struct aead_input in;
	if (aead_input_parse(data, size, MAXN, &in) != 0)
		return;
	const uint8_t *key = in.key, *nonce = in.nonce, *aad = in.aad, *msg = in.msg;
	size_t an = in.an, n = in.n;

	static uint8_t c1[MAXN], c2[MAXN], p1[MAXN], p2[MAXN], io[MAXN], a2[256];
	uint8_t t1[16], t2[16];
	struct emse_gcm_key k;
	emse_gcm_init(&k, key);
	CHECK(wc_AesGcmSetKey(&w, key, 16) == 0);
	CHECK(wc_AesGcmEncrypt(&w, c1, msg, (word32)n, nonce, 12, t1, 16, aad, (word32)an) == 0);
	emse_gcm_seal(&k, nonce, aad, an, msg, n, c2, t2);
	CHECK(memcmp(c1, c2, n) == 0 && memcmp(t1, t2, 16) == 0);
	memcpy(io, msg, n);
	emse_gcm_seal(&k, nonce, aad, an, io, n, io, t2);
	CHECK(memcmp(io, c1, n) == 0 && memcmp(t1, t2, 16) == 0);

	/* flip one bit of aad || ciphertext || tag */
	aead_input_flip(&in, a2, c1, t1, 16);
	int rw = wc_AesGcmDecrypt(&w, p1, c1, (word32)n, nonce, 12, t1, 16, a2, (word32)an);
	int ro = emse_gcm_open(&k, nonce, a2, an, c1, n, p2, t1);
	CHECK((rw == 0) == (ro == 0));
	if (ro == 0)
		CHECK(memcmp(p1, p2, n) == 0 && memcmp(p2, msg, n) == 0);
	memcpy(io, c1, n);
	CHECK(emse_gcm_open(&k, nonce, a2, an, io, n, io, t1) == ro);
	if (ro == 0)
		CHECK(memcmp(io, msg, n) == 0);
	emse_gcm_wipe(&k);
}
