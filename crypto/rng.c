/* The random source behind wolfSSL (built with CUSTOM_RAND_GENERATE_BLOCK=emse_rand_block) and
 * behind our cookie secrets. Why not wolfSSL's Hash_DRBG: it costs a /dev/urandom read plus DRBG
 * instantiation per WOLFSSL object (~83% of wolfSSL_new+free, WOLFSSL-NOTES.md). OpenSSL 3 keeps a
 * per-thread DRBG seeded from getrandom and reseeded on its own, so a draw is a few hundred ns. */
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>

#include "emse/rng.h"

/* Replay mode only: a deterministic AES-256-CTR keystream per thread. */
static _Thread_local EVP_CIPHER_CTX *det_ctx;
#define FAST_REKEY_BYTES (1u << 20)
static _Thread_local EVP_CIPHER_CTX *fast_ctx;
static _Thread_local size_t fast_left;

int emse_rng_seed_thread(uint64_t seed, uint32_t stream)
{
	uint8_t material[12], key[32], iv[16] = {0};
	for (int i = 0; i < 8; i++)
		material[i] = (uint8_t)(seed >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		material[8 + i] = (uint8_t)(stream >> (24 - 8 * i));
	SHA256(material, sizeof(material), key);
	emse_rng_unseed_thread();
	det_ctx = EVP_CIPHER_CTX_new();
	int ok = det_ctx && EVP_EncryptInit_ex(det_ctx, EVP_aes_256_ctr(), NULL, key, iv) == 1;
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok) {
		emse_rng_unseed_thread();
		return -1;
	}
	return 0;
}

void emse_rng_unseed_thread(void)
{
	EVP_CIPHER_CTX_free(det_ctx);
	det_ctx = NULL;
}

int emse_random(void *out, size_t len)
{
	if (det_ctx) {
		int outl;
		memset(out, 0, len);
		while (len > 0) {
			int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
			if (EVP_EncryptUpdate(det_ctx, out, &outl, out, chunk) != 1)
				return -1;
			out = (uint8_t *)out + chunk;
			len -= (size_t)chunk;
		}
		return 0;
	}
	/* Live: a per-thread AES-256-CTR stream keyed from OpenSSL's DRBG (which seeds from
	 * getrandom) and re-keyed every 1 MiB. RAND_bytes itself costs a getpid() system call per
	 * draw (OpenSSL's fork check), and wolfSSL draws several times per handshake. */
	if (!fast_ctx || fast_left < len) {
		uint8_t key[32], iv[16];
		if (!fast_ctx && !(fast_ctx = EVP_CIPHER_CTX_new()))
			return -1;
		if (RAND_bytes(key, sizeof(key)) != 1 || RAND_bytes(iv, sizeof(iv)) != 1 ||
		    EVP_EncryptInit_ex(fast_ctx, EVP_aes_256_ctr(), NULL, key, iv) != 1) {
			OPENSSL_cleanse(key, sizeof(key));
			return -1;
		}
		OPENSSL_cleanse(key, sizeof(key));
		fast_left = FAST_REKEY_BYTES;
	}
	if (len > fast_left)
		return RAND_bytes(out, (int)len) == 1 ? 0 : -1; /* larger than a whole period */
	int outl;
	memset(out, 0, len);
	if (EVP_EncryptUpdate(fast_ctx, out, &outl, out, (int)len) != 1)
		return -1;
	fast_left -= len;
	return 0;
}

int emse_rand_block(unsigned char *out, unsigned int sz)
{
	return emse_random(out, sz) == 0 ? 0 : -1;
}

/* wolfSSL's OpenSSL compatibility layer (RAND_poll, its global RNG) asks for a seed directly. */
int wc_GenerateSeed(OS_Seed *os, byte *output, word32 sz)
{
	(void)os;
	return emse_random(output, sz) == 0 ? 0 : -1;
}
