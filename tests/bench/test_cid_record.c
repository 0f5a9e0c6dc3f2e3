/* The generator's TLS 1.2 PRF and its tls12_cid records (RFC 9146) against independent code: the
 * PRF against OpenSSL's TLS1-PRF (EVP_KDF), and a record sealed by bench/gen/record.c opened by
 * OpenSSL's AES-128-GCM with the additional data laid out here, field by field, from RFC 9146
 * section 5; then our own open of it, which must refuse a changed CID or a session without CID. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "emse/rng.h"
#include "../../bench/gen/hs_client.h"
#include "../../bench/gen/record.h"

/* ---- the PRF against OpenSSL's ----------------------------------------------------------------- */

static void openssl_prf(const uint8_t *secret, size_t slen, const char *label, const uint8_t *seed,
			size_t seed_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *c = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, slen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)label, strlen(label)),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed, seed_len),
		OSSL_PARAM_construct_end(),
	};
	assert_int_equal(EVP_KDF_derive(c, out, out_len, p), 1);
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(kdf);
}

static void prf_matches_openssl(void **state)
{
	(void)state;
	uint8_t secret[68], seed[64], a[104], b[104];
	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(i * 29 + 3);
	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(0xa5 ^ i);
	static const char *labels[] = { "master secret", "extended master secret", "key expansion",
					 "client finished", "server finished" };
	static const size_t lens[] = { 48, 48, 40, 12, 104 };
	for (unsigned i = 0; i < 5; i++) {
		hsc_prf(secret, sizeof(secret) - i * 9, labels[i], seed, 32 + i * 8, a, lens[i]);
		openssl_prf(secret, sizeof(secret) - i * 9, labels[i], seed, 32 + i * 8, b, lens[i]);
		assert_memory_equal(a, b, lens[i]);
	}
}

/* ---- tls12_cid records -------------------------------------------------------------------------- */

static void cid_record_opens_with_openssl(void **state)
{
	(void)state;
	uint8_t kb[40];
	for (int i = 0; i < 40; i++)
		kb[i] = (uint8_t)(i + 1);
	struct rec_keys k = { 0 };
	assert_int_equal(rec_setup_kb(&k, 0, kb, 0x0102030405ull), 0);
	static const uint8_t cid[6] = { 0xc1, 0xd0, 0x00, 0x07, 0xfe, 0x11 };
	k.cid_w_len = sizeof(cid);
	memcpy(k.cid_w, cid, sizeof(cid));
	uint8_t msg[37], rec[sizeof(msg) + REC_MAX_OVERHEAD];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i ^ 0x5a);
	int n = rec_seal(&k, 23, msg, sizeof(msg), rec);
	/* header: tls12_cid, DTLS 1.2, epoch 1, the sequence number, the CID, the length */
	static const uint8_t hdr[11] = { 25, 0xfe, 0xfd, 0, 1, 0, 1, 2, 3, 4, 5 };
	assert_memory_equal(rec, hdr, sizeof(hdr));
	assert_memory_equal(rec + 11, cid, sizeof(cid));
	size_t inner = sizeof(msg) + 1, rl = 8 + inner + 16;
	assert_int_equal(n, 11 + sizeof(cid) + 2 + rl);
	assert_int_equal(rec[17] << 8 | rec[18], rl);

	/* RFC 9146 5, written out field by field: 8 x 0xff, tls12_cid, cid_length, tls12_cid,
	 * version, epoch, sequence_number, cid, length_of_DTLSInnerPlaintext */
	uint8_t aad[64], *p = aad;
	memset(p, 0xff, 8), p += 8;
	*p++ = 25, *p++ = sizeof(cid), *p++ = 25, *p++ = 0xfe, *p++ = 0xfd, *p++ = 0, *p++ = 1;
	static const uint8_t seq[6] = { 0, 1, 2, 3, 4, 5 };
	memcpy(p, seq, 6), p += 6;
	memcpy(p, cid, sizeof(cid)), p += sizeof(cid);
	*p++ = 0, *p++ = (uint8_t)inner;
	uint8_t built[64];
	assert_int_equal(rec_cid_aad(built, rec, cid, sizeof(cid), (uint16_t)inner), (size_t)(p - aad));
	assert_memory_equal(built, aad, (size_t)(p - aad));

	uint8_t nonce[12], pt[64];
	memcpy(nonce, kb + 32, 4); /* client_write_IV, then the explicit nonce */
	memcpy(nonce + 4, rec + 19, 8);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l, fl;
	assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, kb, nonce), 1);
	assert_int_equal(EVP_DecryptUpdate(c, NULL, &l, aad, (int)(p - aad)), 1);
	assert_int_equal(EVP_DecryptUpdate(c, pt, &l, rec + 27, (int)inner), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, rec + 27 + inner), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, pt + l, &fl), 1);
	EVP_CIPHER_CTX_free(c);
	assert_memory_equal(pt, msg, sizeof(msg));
	assert_int_equal(pt[sizeof(msg)], 23); /* the real content type, after the content */

	/* our own open, as the server's direction: same format with the keys swapped */
	struct rec_keys r = { 0 };
	uint8_t kb2[40];
	memcpy(kb2, kb + 16, 16), memcpy(kb2 + 16, kb, 16), memcpy(kb2 + 32, kb + 36, 4), memcpy(kb2 + 36, kb + 32, 4);
	assert_int_equal(rec_setup_kb(&r, 0, kb2, 0), 0);
	r.cid_r_len = sizeof(cid);
	uint8_t type = 0, out[64];
	assert_int_equal(rec_open(&r, rec, (uint16_t)n, out, &type), sizeof(msg));
	assert_int_equal(type, 23);
	assert_memory_equal(out, msg, sizeof(msg));
	rec[12] ^= 0x40; /* the CID is authenticated */
	assert_int_equal(rec_open(&r, rec, (uint16_t)n, out, &type), -1);
	rec[12] ^= 0x40;
	r.cid_r_len = 0; /* a plain-record session does not take tls12_cid */
	assert_int_equal(rec_open(&r, rec, (uint16_t)n, out, &type), -1);
	rec_free(&k);
	rec_free(&r);
}

int main(void)
{
	int (*volatile rng)(unsigned char *, unsigned int) = emse_rand_block;
	(void)rng;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prf_matches_openssl), cmocka_unit_test(cid_record_opens_with_openssl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
