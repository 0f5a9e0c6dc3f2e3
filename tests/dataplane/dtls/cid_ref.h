/* RFC 9146 tls12_cid records built from the RFC's text alone, sealed by wolfCrypt: the reference
 * the CID unit tests compare record.c and hs12.c against. Include after cmocka.h. */
#ifndef EMSE_TEST_CID_REF_H
#define EMSE_TEST_CID_REF_H

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>

#include "emse/dtls/record.h"

/* wolfCrypt's AEAD, independent of record.c's own code */
static inline void ref_seal(uint8_t cipher, const uint8_t key[16], const uint8_t nonce[12],
		     const uint8_t *aad, size_t al, const uint8_t *in, size_t n, uint8_t *out,
		     uint8_t *tag)
{
	Aes a;
	assert_int_equal(wc_AesInit(&a, NULL, INVALID_DEVID), 0);
	if (cipher == EMSE_REC_AES128_GCM) {
		assert_int_equal(wc_AesGcmSetKey(&a, key, 16), 0);
		assert_int_equal(wc_AesGcmEncrypt(&a, out, in, (word32)n, nonce, 12, tag, 16, aad,
						  (word32)al), 0);
	} else {
		assert_int_equal(wc_AesCcmSetKey(&a, key, 16), 0);
		assert_int_equal(wc_AesCcmEncrypt(&a, out, in, (word32)n, nonce, 12, tag, 8, aad,
						  (word32)al), 0);
	}
	wc_AesFree(&a);
}

/* A tls12_cid record written from RFC 9146 sections 4 and 5 alone: epoch 1, seq, cid, inner =
 * content || real_type || pad zeros, under key/iv. Returns its length. */
static inline size_t ref_record(uint8_t cipher, const uint8_t key[16], const uint8_t iv[4], uint64_t seq,
			 const uint8_t *cid, unsigned cl, const uint8_t *content, size_t n,
			 uint8_t real_type, unsigned pad, uint8_t *rec)
{
	uint8_t inner[512], aad[64], nonce[12];
	size_t il = 0, tl = cipher == EMSE_REC_AES128_GCM ? 16 : 8;
	if (n)
		memcpy(inner, content, n);
	il = n;
	inner[il++] = real_type;
	memset(inner + il, 0, pad);
	il += pad;
	uint8_t epoch_seq[8] = {0, 1, (uint8_t)(seq >> 40), (uint8_t)(seq >> 32),
				(uint8_t)(seq >> 24), (uint8_t)(seq >> 16), (uint8_t)(seq >> 8),
				(uint8_t)seq};
	size_t a = 0;
	for (int i = 0; i < 8; i++)
		aad[a++] = 0xff;                  /* seq_num_placeholder */
	aad[a++] = 25;                            /* tls12_cid */
	aad[a++] = (uint8_t)cl;                   /* cid_length */
	aad[a++] = 25;                            /* tls12_cid */
	aad[a++] = 0xfe;                          /* DTLSCiphertext.version */
	aad[a++] = 0xfd;
	memcpy(aad + a, epoch_seq, 8);            /* epoch, sequence_number */
	a += 8;
	memcpy(aad + a, cid, cl);                 /* cid */
	a += cl;
	aad[a++] = (uint8_t)(il >> 8);            /* length_of_DTLSInnerPlaintext */
	aad[a++] = (uint8_t)il;
	memcpy(nonce, iv, 4);
	memcpy(nonce + 4, epoch_seq, 8);          /* explicit nonce: epoch || seq */
	size_t r = 0;
	rec[r++] = 25;
	rec[r++] = 0xfe;
	rec[r++] = 0xfd;
	memcpy(rec + r, epoch_seq, 8);
	r += 8;
	memcpy(rec + r, cid, cl);
	r += cl;
	size_t flen = 8 + il + tl;
	rec[r++] = (uint8_t)(flen >> 8);
	rec[r++] = (uint8_t)flen;
	memcpy(rec + r, epoch_seq, 8);
	r += 8;
	ref_seal(cipher, key, nonce, aad, a, inner, il, rec + r, rec + r + il);
	return r + il + tl;
}

#endif
