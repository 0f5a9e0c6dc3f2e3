/* Own AEAD records for --blast (record.h). DTLS 1.2 AEAD (RFC 5288 / 6655 with RFC 6347):
 * nonce = salt(4) || explicit(8), explicit = epoch(2) || seq(6); AAD = epoch || seq || type ||
 * version || plaintext length. With a Connection ID (RFC 9146), the tls12_cid record: the CID after
 * the sequence number, the real type inside the plaintext, and the AAD of its section 5. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/kdf.h>

#include <stdlib.h>
#include <string.h>

#include "emse/dtls/aesccm.h"
#include "emse/dtls/aesgcm.h"
#include "record.h"

void rec_keep(void *ssl)
{
	wolfSSL_KeepArrays(ssl);
}

static void *aes_new(void)
{
	/* AES-NI code wants the key schedule aligned */
	void *a = aligned_alloc(64, (sizeof(Aes) + 63) & ~(size_t)63);
	if (a && wc_AesInit(a, NULL, INVALID_DEVID) != 0) {
		free(a);
		a = NULL;
	}
	return a;
}

/* emse's own key of one direction, whichever suite */
struct rec_own {
	union {
		struct emse_gcm_key gcm;
		struct emse_ccm_key ccm;
	} k;
};

static struct rec_own *own_new(void)
{
	return aligned_alloc(64, (sizeof(struct rec_own) + 63) & ~(size_t)63);
}

static int keys_set(struct rec_keys *k, const uint8_t kb[32])
{
	if (k->own) {
		if ((!k->own_w && !(k->own_w = own_new())) || (!k->own_r && !(k->own_r = own_new())))
			return -1;
		if (k->ccm) {
			emse_ccm_init(&k->own_w->k.ccm, kb);
			emse_ccm_init(&k->own_r->k.ccm, kb + 16);
		} else {
			emse_gcm_init(&k->own_w->k.gcm, kb);
			emse_gcm_init(&k->own_r->k.gcm, kb + 16);
		}
		return 0;
	}
	if ((!k->aes_w && !(k->aes_w = aes_new())) || (!k->aes_r && !(k->aes_r = aes_new())))
		return -1;
	return k->ccm ? wc_AesCcmSetKey(k->aes_w, kb, 16) | wc_AesCcmSetKey(k->aes_r, kb + 16, 16)
		      : wc_AesGcmSetKey(k->aes_w, kb, 16) | wc_AesGcmSetKey(k->aes_r, kb + 16, 16);
}

int rec_setup_kb(struct rec_keys *k, int ccm, const uint8_t kb[40], uint64_t seq)
{
	k->ccm = (uint8_t)(ccm != 0);
	k->tag_len = ccm ? 8 : 16;
	k->own = (uint8_t)(ccm ? emse_ccm_available() : emse_gcm_available());
	int rc = keys_set(k, kb);
	memcpy(k->salt_w, kb + 32, 4);
	memcpy(k->salt_r, kb + 36, 4);
	k->seq = seq;
	return rc == 0 ? 0 : -1;
}

int rec_derive(void *vssl, uint8_t kb[40], int *ccm_out)
{
	WOLFSSL *ssl = vssl;
	const char *suite = wolfSSL_get_cipher_name(ssl);
	int ccm = suite && strstr(suite, "CCM") != NULL, gcm = suite && strstr(suite, "GCM") != NULL;
	unsigned char *ms, *sr, *cr;
	unsigned int ms_len, sr_len, cr_len;
	if ((!ccm && !gcm) || wolfSSL_get_keys(ssl, &ms, &ms_len, &sr, &sr_len, &cr, &cr_len) != WOLFSSL_SUCCESS ||
	    ms_len != 48 || sr_len != 32 || cr_len != 32) {
		wolfSSL_FreeArrays(ssl);
		return -1;
	}
	/* key block = PRF(master, "key expansion", server_random || client_random):
	 * client_write_key, server_write_key, client_write_IV (salt), server_write_IV */
	uint8_t seed[64];
	static const char label[] = "key expansion";
	memcpy(seed, sr, 32);
	memcpy(seed + 32, cr, 32);
	int rc = wc_PRF_TLS(kb, 40, ms, ms_len, (const byte *)label, sizeof(label) - 1, seed,
			    sizeof(seed), 1, sha256_mac, NULL, INVALID_DEVID);
	wolfSSL_FreeArrays(ssl);
	*ccm_out = ccm;
	return rc == 0 ? 0 : -1;
}

int rec_setup(void *ssl, struct rec_keys *k)
{
	uint8_t kb[40];
	int ccm;
	/* wolfSSL wrote the Finished (sequence 0) and any retransmissions of it in epoch 1: start
	 * well past them, the server's replay window only moves forward */
	int rc = rec_derive(ssl, kb, &ccm) == 0 ? rec_setup_kb(k, ccm, kb, 16) : -1;
	memset(kb, 0, sizeof(kb));
	return rc;
}

static void put48(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 6; i++)
		p[i] = (uint8_t)(v >> (40 - 8 * i));
}

size_t rec_cid_aad(uint8_t *aad, const uint8_t *hdr, const uint8_t *cid, uint8_t cid_len,
		   uint16_t inner_len)
{
	/* seq_num_placeholder || tls12_cid || cid_length || tls12_cid || version || epoch ||
	 * sequence_number || cid || length_of_DTLSInnerPlaintext */
	memset(aad, 0xff, 8);
	aad[8] = REC_CT_CID;
	aad[9] = cid_len;
	aad[10] = REC_CT_CID;
	memcpy(aad + 11, hdr + 1, 10); /* version, epoch, sequence number */
	memcpy(aad + 21, cid, cid_len);
	aad[21 + cid_len] = (uint8_t)(inner_len >> 8);
	aad[22 + cid_len] = (uint8_t)inner_len;
	return 23u + cid_len;
}

static int aead_seal(struct rec_keys *k, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		     const uint8_t *pt, uint16_t len, uint8_t *ct, uint8_t *tag)
{
	if (k->own && k->ccm)
		return emse_ccm8_seal(&k->own_w->k.ccm, nonce, aad, aad_len, pt, len, ct, tag);
	if (k->own) {
		emse_gcm_seal(&k->own_w->k.gcm, nonce, aad, aad_len, pt, len, ct, tag);
		return 0;
	}
	return k->ccm ? wc_AesCcmEncrypt(k->aes_w, ct, pt, len, nonce, 12, tag, k->tag_len, aad, (word32)aad_len)
		      : wc_AesGcmEncrypt(k->aes_w, ct, pt, len, nonce, 12, tag, k->tag_len, aad, (word32)aad_len);
}

static int aead_open(struct rec_keys *k, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		     const uint8_t *ct, uint16_t len, uint8_t *pt, const uint8_t *tag)
{
	if (k->own && k->ccm)
		return emse_ccm8_open(&k->own_r->k.ccm, nonce, aad, aad_len, ct, len, pt, tag);
	if (k->own)
		return emse_gcm_open(&k->own_r->k.gcm, nonce, aad, aad_len, ct, len, pt, tag);
	return k->ccm ? wc_AesCcmDecrypt(k->aes_r, pt, ct, len, nonce, 12, tag, k->tag_len, aad, (word32)aad_len)
		      : wc_AesGcmDecrypt(k->aes_r, pt, ct, len, nonce, 12, tag, k->tag_len, aad, (word32)aad_len);
}

int rec_seal(struct rec_keys *k, uint8_t type, const uint8_t *pt, uint16_t len, uint8_t *out)
{
	uint8_t nonce[12], aad[23 + REC_CID_MAX];
	uint64_t seq = k->seq++;
	uint8_t cl = k->cid_w_len;
	out[0] = cl ? REC_CT_CID : type;
	out[1] = 0xfe, out[2] = 0xfd;
	out[3] = 0, out[4] = 1; /* epoch 1 */
	put48(out + 5, seq);
	memcpy(out + 11, k->cid_w, cl);
	uint8_t *lenp = out + 11 + cl, *body = lenp + 2;
	/* tls12_cid: the plaintext is DTLSInnerPlaintext = content || real type (no padding) */
	uint16_t inner = (uint16_t)(len + (cl ? 1 : 0));
	uint16_t rl = (uint16_t)(REC_EXPLICIT + inner + k->tag_len);
	lenp[0] = (uint8_t)(rl >> 8), lenp[1] = (uint8_t)rl;
	memcpy(body, out + 3, REC_EXPLICIT); /* explicit nonce = epoch || seq */
	memcpy(nonce, k->salt_w, 4);
	memcpy(nonce + 4, out + 3, 8);
	uint8_t *ct = body + REC_EXPLICIT, *tag = ct + inner;
	size_t aad_len;
	if (cl) {
		aad_len = rec_cid_aad(aad, out, k->cid_w, cl, inner);
		/* sealed in place: the content first, its real type after it */
		memmove(ct, pt, len);
		ct[len] = type;
		pt = ct;
	} else {
		memcpy(aad, out + 3, 8);
		aad[8] = type, aad[9] = 0xfe, aad[10] = 0xfd;
		aad[11] = (uint8_t)(len >> 8), aad[12] = (uint8_t)len;
		aad_len = 13;
	}
	int rc = aead_seal(k, nonce, aad, aad_len, pt, inner, ct, tag);
	return rc == 0 ? (int)(body - out) + rl : -1;
}

int rec_open(struct rec_keys *k, const uint8_t *rec, uint16_t len, uint8_t *pt, uint8_t *type)
{
	if (len < REC_HDR)
		return -1;
	uint8_t cl = rec[0] == REC_CT_CID ? k->cid_r_len : 0;
	/* a server that gave us no CID to use sends plain records, and one that did, tls12_cid */
	if ((rec[0] == REC_CT_CID) != (k->cid_r_len != 0))
		return -1;
	size_t hdr = REC_HDR + cl;
	if (len < hdr + REC_EXPLICIT + k->tag_len || rec[3] != 0 || rec[4] != 1)
		return -1;
	uint16_t rl = (uint16_t)(rec[hdr - 2] << 8 | rec[hdr - 1]);
	if (hdr + rl > len || rl < REC_EXPLICIT + k->tag_len + (cl ? 1 : 0))
		return -1;
	uint16_t plen = (uint16_t)(rl - REC_EXPLICIT - k->tag_len);
	uint8_t nonce[12], aad[23 + REC_CID_MAX];
	size_t aad_len;
	memcpy(nonce, k->salt_r, 4);
	memcpy(nonce + 4, rec + hdr, 8);
	if (cl) {
		aad_len = rec_cid_aad(aad, rec, rec + REC_HDR - 2, cl, plen);
	} else {
		memcpy(aad, rec + 3, 8);
		aad[8] = rec[0], aad[9] = rec[1], aad[10] = rec[2];
		aad[11] = (uint8_t)(plen >> 8), aad[12] = (uint8_t)plen;
		aad_len = 13;
	}
	const uint8_t *ct = rec + hdr + REC_EXPLICIT, *tag = ct + plen;
	if (aead_open(k, nonce, aad, aad_len, ct, plen, pt, tag) != 0)
		return -1;
	if (!cl) {
		if (type)
			*type = rec[0];
		return plen;
	}
	/* RFC 9146 4: the real type is the last non-zero octet; none is an error */
	while (plen && pt[plen - 1] == 0)
		plen--;
	if (!plen)
		return -1;
	if (type)
		*type = pt[plen - 1];
	return plen - 1;
}

void rec_free(struct rec_keys *k)
{
	if (k->aes_w)
		wc_AesFree(k->aes_w);
	if (k->aes_r)
		wc_AesFree(k->aes_r);
	free(k->aes_w);
	free(k->aes_r);
	k->aes_w = k->aes_r = NULL;
	if (k->own_w)
		explicit_bzero(k->own_w, sizeof(*k->own_w));
	if (k->own_r)
		explicit_bzero(k->own_r, sizeof(*k->own_r));
	free(k->own_w);
	free(k->own_r);
	k->own_w = k->own_r = NULL;
}
