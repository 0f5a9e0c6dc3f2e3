/* emse's own DTLS 1.2 PSK server handshake (include/emse/dtls/hs12.h): RFC 6347 over RFC 5246 with
 * RFC 4279 PSK key exchange, RFC 7627 extended master secret and RFC 5746 renegotiation_info for the
 * initial handshake. Crypto: wolfCrypt SHA-256/HMAC (SHA-NI here), records through record.c. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <openssl/crypto.h>
#include <string.h>

#include "emse/dtls/ct.h"
#include "emse/dtls/hmac256.h"
#include "emse/dtls/hs12.h"
#include "emse/rng.h"

enum {
	HS_SERVER_HELLO = 2, HS_SERVER_KEY_EXCHANGE = 12, HS_SERVER_HELLO_DONE = 14,
	HS_FINISHED = 20,
	EXT_EMS = 0x0017, EXT_SUPPORTED_VERSIONS = 0x002b, EXT_RENEGOTIATION_INFO = 0xff01,
	EXT_CONNECTION_ID = 54, /* RFC 9146 */
	ALERT_UNEXPECTED_MESSAGE = 10, ALERT_BAD_RECORD_MAC = 20, ALERT_DECODE_ERROR = 50,
	ALERT_DECRYPT_ERROR = 51,
	FINISHED_LEN = 12,
};

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}
static inline void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	put16(p + 1, v);
}
static inline void put48(uint8_t *p, uint64_t v)
{
	for (int i = 5; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- TLS 1.2 PRF ------------------------------------------------------------------------------ */

int emse_tls12_prf(const uint8_t *secret, size_t slen, const char *label, const uint8_t *seed1,
		   size_t s1len, const uint8_t *seed2, size_t s2len, uint8_t *out, size_t outlen)
{
	struct emse_hmac256 k;
	emse_hmac256_key(&k, secret, slen);
	emse_tls12_prf_keyed(&k, label, seed1, s1len, seed2, s2len, out, outlen);
	emse_hmac256_wipe(&k);
	return 0;
}

/* ---- the ClientHello -------------------------------------------------------------------------- */

static const struct {
	uint32_t bit;
	uint8_t id[2];
	uint8_t cipher; /* 0: not served here */
} server_order[] = {
	/* wolfSSL's list in dtls.c, in the same order, so both engines pick alike */
	{EMSE_SUITE_CCM8, {0xc0, 0xa8}, EMSE_REC_AES128_CCM8},
	{EMSE_SUITE_GCM, {0x00, 0xa8}, EMSE_REC_AES128_GCM},
	{EMSE_SUITE_CBC, {0x00, 0xae}, 0},
};

static int offers(const uint8_t *list, size_t len, uint8_t a, uint8_t b)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		if (list[i] == a && list[i + 1] == b)
			return 1;
	return 0;
}

enum emse_hs12_skip emse_hs12_parse_hello(const struct dtls_client_hello *ch, uint32_t suites,
					  struct emse_hs12_hello *out)
{
	memset(out, 0, sizeof(*out));
	if (ch->version[0] != 0xfe || ch->version[1] != 0xfd)
		return EMSE_HS12_SKIP_VERSION;
	if (!memchr(ch->compression, 0, ch->compression_len))
		return EMSE_HS12_SKIP_COMPRESSION;

	unsigned i;
	for (i = 0; i < sizeof(server_order) / sizeof(server_order[0]); i++)
		if ((suites & server_order[i].bit) &&
		    offers(ch->suites, ch->suites_len, server_order[i].id[0], server_order[i].id[1]))
			break;
	if (i == sizeof(server_order) / sizeof(server_order[0]) || !server_order[i].cipher)
		return EMSE_HS12_SKIP_SUITE; /* wolfSSL answers: handshake_failure, or CBC */
	memcpy(out->suite, server_order[i].id, 2);
	out->cipher = server_order[i].cipher;
	out->ri = (uint8_t)offers(ch->suites, ch->suites_len, 0x00, 0xff); /* the SCSV */

	/* The ClientHello parser has checked that the extensions tile their block. */
	const uint8_t *p = ch->extensions, *end = p ? p + ch->extensions_len : NULL;
	unsigned seen = 0; /* the four we act on may appear once each */
	while (p && end - p >= 4) {
		uint16_t type = be16(p), elen = be16(p + 2);
		const uint8_t *e = p + 4;
		if (elen > end - e)
			return EMSE_HS12_SKIP_EXTENSIONS;
		p = e + elen;
		unsigned bit = type == EXT_EMS ? 1u : type == EXT_RENEGOTIATION_INFO ? 2u
			     : type == EXT_SUPPORTED_VERSIONS ? 4u : type == EXT_CONNECTION_ID ? 8u
			     : 0u;
		if (bit & seen)
			return EMSE_HS12_SKIP_EXTENSIONS;
		seen |= bit;
		if (type == EXT_EMS) {
			if (elen != 0)
				return EMSE_HS12_SKIP_EXTENSIONS;
			out->ems = 1;
		} else if (type == EXT_RENEGOTIATION_INFO) {
			/* initial handshake: an empty renegotiated_connection */
			if (elen != 1 || e[0] != 0)
				return EMSE_HS12_SKIP_EXTENSIONS;
			out->ri = 1;
		} else if (type == EXT_SUPPORTED_VERSIONS) {
			if (elen < 1 || e[0] != elen - 1 || (e[0] & 1))
				return EMSE_HS12_SKIP_EXTENSIONS;
			if (offers(e + 1, e[0], 0xfe, 0xfc))
				return EMSE_HS12_SKIP_VERSION; /* DTLS 1.3: wolfSSL's */
		} else if (type == EXT_CONNECTION_ID) {
			/* opaque cid<0..2^8-1> */
			if (elen < 1 || e[0] != elen - 1)
				return EMSE_HS12_SKIP_EXTENSIONS;
			/* a client CID longer than the session keeps: left unanswered (legal:
			 * the client then runs without CIDs) */
			if (e[0] <= EMSE_REC_PEER_CID_MAX) {
				out->cid_offered = 1;
				out->peer_cid_len = e[0];
				out->peer_cid = e + 1;
			}
		}
	}
	out->msg = ch->msg;
	out->msg_len = ch->msg_len;
	out->random = ch->random;
	out->record_seq = ch->record_seq;
	out->message_seq = ch->message_seq;
	return EMSE_HS12_OK;
}

/* ---- our messages ----------------------------------------------------------------------------- */

/* The header of our next plaintext (epoch 0) record; returns where its fragment goes. */
static uint8_t *put_record0(struct emse_hs12 *h, uint8_t *p, uint8_t type, size_t len)
{
	p[0] = type;
	p[1] = 0xfe;
	p[2] = 0xfd;
	put16(p + 3, 0);
	put48(p + 5, h->tx_seq++);
	put16(p + 11, (uint32_t)len);
	return p + DTLS_RECORD_HDR;
}

/* One handshake message in its own epoch-0 record at p; added to the transcript. */
static uint8_t *put_message(struct emse_hs12 *h, uint8_t *p, uint8_t type, uint16_t mseq,
			    const uint8_t *body, size_t blen)
{
	uint8_t *m = put_record0(h, p, DTLS_CT_HANDSHAKE, DTLS_HS_HDR + blen);
	m[0] = type;
	put24(m + 1, (uint32_t)blen);
	put16(m + 4, mseq);
	put24(m + 6, 0);
	put24(m + 9, (uint32_t)blen);
	if (blen)
		memcpy(m + DTLS_HS_HDR, body, blen);
	wc_Sha256Update(&h->transcript, m, (word32)(DTLS_HS_HDR + blen));
	return m + DTLS_HS_HDR + blen;
}

/* What a full and an abbreviated handshake share: the randoms, the transcript from the ClientHello,
 * the record and message sequence numbers, the suite; and the ServerHello, the one place our
 * session id and our CID (RFC 9146, when offered and cid_len is 4..16) are written. Returns where
 * the next message goes. */
static uint8_t *begin(struct emse_hs12 *h, const struct emse_hs12_hello *hello, const uint8_t *sid,
		      const uint8_t *cid, unsigned cid_len)
{
	memset(h, 0, sizeof(*h));
	if (emse_random(h->server_random, 32) != 0 || wc_InitSha256(&h->transcript) != 0)
		return NULL;
	if (sid) {
		memcpy(h->sid, sid, sizeof(h->sid));
		h->sid_len = sizeof(h->sid);
	}
	memcpy(h->client_random, hello->random, 32);
	wc_Sha256Update(&h->transcript, hello->msg, (word32)hello->msg_len);
	h->ch_msg_seq = hello->message_seq;
	h->rx_msg_seq = (uint16_t)(hello->message_seq + 1);
	/* RFC 6347 4.2.1: the ServerHello continues from the ClientHello's record sequence number,
	 * so it is always newer than the HelloVerifyRequest that answered ClientHello 1. */
	h->tx_seq = hello->record_seq;
	h->ems = hello->ems;
	h->rec.cipher = hello->cipher;
	memcpy(h->rec.suite, hello->suite, 2);

	int use_cid = hello->cid_offered && cid_len >= 4 && cid_len <= sizeof(h->cid);
	if (use_cid) {
		h->cid_len = (uint8_t)cid_len;
		memcpy(h->cid, cid, cid_len);
		memcpy(h->peer_cid, hello->peer_cid, hello->peer_cid_len);
		h->rec.flags = (uint8_t)(EMSE_REC_F_CID |
					 hello->peer_cid_len << EMSE_REC_PEER_CID_SHIFT);
	}
	uint8_t sh[2 + 32 + 1 + 32 + 2 + 1 + 2 + 5 + 4 + 5 + 16], *q = sh;
	*q++ = 0xfe;
	*q++ = 0xfd;
	memcpy(q, h->server_random, 32);
	q += 32;
	*q++ = h->sid_len; /* empty: nothing to resume */
	memcpy(q, h->sid, h->sid_len);
	q += h->sid_len;
	*q++ = hello->suite[0];
	*q++ = hello->suite[1];
	*q++ = 0; /* null compression */
	size_t ext = (hello->ri ? 5 : 0) + (hello->ems ? 4 : 0) + (use_cid ? 5 + cid_len : 0);
	if (ext) {
		put16(q, (uint32_t)ext);
		q += 2;
		if (hello->ri) {
			static const uint8_t ri[5] = {0xff, 0x01, 0x00, 0x01, 0x00};
			memcpy(q, ri, sizeof(ri));
			q += sizeof(ri);
		}
		if (hello->ems) {
			static const uint8_t ems[4] = {0x00, 0x17, 0x00, 0x00};
			memcpy(q, ems, sizeof(ems));
			q += sizeof(ems);
		}
		if (use_cid) { /* RFC 9146 3: our CID, the one the client's records will carry */
			put16(q, EXT_CONNECTION_ID);
			put16(q + 2, 1 + cid_len);
			q[4] = (uint8_t)cid_len;
			memcpy(q + 5, cid, cid_len);
			q += 5 + cid_len;
		}
	}
	h->tx_msg_seq = (uint16_t)(hello->message_seq + 1);
	return put_message(h, h->flight, HS_SERVER_HELLO, hello->message_seq, sh, (size_t)(q - sh));
}

int emse_hs12_start(struct emse_hs12 *h, const struct emse_hs12_hello *hello, const char *hint)
{
	return emse_hs12_start_sid_cid(h, hello, hint, NULL, NULL, 0);
}

int emse_hs12_start_sid(struct emse_hs12 *h, const struct emse_hs12_hello *hello, const char *hint,
			const uint8_t *sid)
{
	return emse_hs12_start_sid_cid(h, hello, hint, sid, NULL, 0);
}

int emse_hs12_start_cid(struct emse_hs12 *h, const struct emse_hs12_hello *hello, const char *hint,
			const uint8_t *cid, unsigned cid_len)
{
	return emse_hs12_start_sid_cid(h, hello, hint, NULL, cid, cid_len);
}

int emse_hs12_start_sid_cid(struct emse_hs12 *h, const struct emse_hs12_hello *hello,
			    const char *hint, const uint8_t *sid, const uint8_t *cid,
			    unsigned cid_len)
{
	size_t hl = strlen(hint);
	if (hl > EMSE_HS12_HINT_MAX)
		return -1;
	uint8_t *p = begin(h, hello, sid, cid, cid_len);
	if (!p)
		return -1;
	uint16_t mseq = h->tx_msg_seq;
	if (hl) {
		uint8_t ske[2 + EMSE_HS12_HINT_MAX];
		put16(ske, (uint32_t)hl);
		memcpy(ske + 2, hint, hl);
		p = put_message(h, p, HS_SERVER_KEY_EXCHANGE, mseq++, ske, 2 + hl);
	}
	p = put_message(h, p, HS_SERVER_HELLO_DONE, mseq++, NULL, 0);
	h->flight_len = (uint16_t)(p - h->flight);
	h->tx_msg_seq = mseq;
	h->phase = EMSE_HS12_WAIT_CKE;
	return 0;
}

const uint8_t *emse_hs12_flight(struct emse_hs12 *h, size_t *len)
{
	/* RFC 6347 4.2.4: a retransmitted record gets a new sequence number (else the client's
	 * replay window could drop it as a copy of one it already has). */
	for (size_t off = 0; off + DTLS_RECORD_HDR <= h->flight_len;) {
		/* a resumption's Finished (epoch 1) is sealed over its sequence number: resent as is */
		if (be16(h->flight + off + 3) == 0)
			put48(h->flight + off + 5, h->tx_seq++);
		/* a tls12_cid Finished has the client's CID before its length */
		size_t hl = DTLS_RECORD_HDR + (h->flight[off] == EMSE_REC_CT_CID
						       ? emse_rec_peer_cid_len(&h->rec)
						       : 0);
		if (off + hl > h->flight_len)
			break;
		off += hl + be16(h->flight + off + hl - 2);
	}
	*len = h->flight_len;
	return h->flight;
}

size_t emse_hs12_alert(struct emse_hs12 *h, uint8_t description, uint8_t *out)
{
	uint8_t *a = put_record0(h, out, DTLS_CT_ALERT, 2);
	a[0] = 2; /* fatal */
	a[1] = description;
	return DTLS_RECORD_HDR + 2;
}

void emse_hs12_wipe(struct emse_hs12 *h)
{
	wc_Sha256Free(&h->transcript);
	explicit_bzero(h, sizeof(*h));
}

/* ---- the client's flight ---------------------------------------------------------------------- */

static void put_finished_header(uint8_t *m, uint16_t mseq)
{
	m[0] = HS_FINISHED;
	put24(m + 1, FINISHED_LEN);
	put16(m + 4, mseq);
	put24(m + 6, 0);
	put24(m + 9, FINISHED_LEN);
}

/* The epoch-1 record state from the key block: client_write_key, server_write_key,
 * client_write_IV, server_write_IV. */
static void set_keys(struct emse_hs12 *h, const uint8_t kb[40])
{
	memcpy(h->rec.rkey, kb, 16);
	memcpy(h->rec.wkey, kb + 16, 16);
	memcpy(h->rec.rsalt, kb + 32, 4);
	memcpy(h->rec.wsalt, kb + 36, 4);
	h->rec.repoch = h->rec.wepoch = 1;
	h->rec.rnext = h->rec.window = h->rec.wseq = 0;
	/* the CID state begin() set stays */
	h->rec.flags = (uint8_t)((h->rec.flags & (EMSE_REC_F_CID | EMSE_REC_F_PEER_CID)) |
				 EMSE_REC_F_HANDSHAKE);
}

/* Once the ClientKeyExchange is in the transcript, everything else follows from the PSK (RFC 4279
 * 2, RFC 7627 4, RFC 5246 6.3 and 7.4.9): the epoch-1 keys, the client's Finished we expect and
 * the one we answer with (its transcript is ours plus the client's Finished, which is known once
 * we know what it must say). Two HMAC key set-ups in all; the master secret and the transcript
 * are not needed afterwards and are wiped here. */
static int derive_keys(struct emse_hs12 *h, const uint8_t *psk, size_t psk_len)
{
	uint8_t pms[2 + 64 + 2 + 64], ms[48], kb[40], th[WC_SHA256_DIGEST_SIZE];
	uint8_t fin[DTLS_HS_HDR + FINISHED_LEN];
	struct emse_hmac256 k;
	wc_Sha256 t2;
	int r = -1;
	if (psk_len == 0 || psk_len > 64)
		return -1;
	put16(pms, (uint32_t)psk_len);
	memset(pms + 2, 0, psk_len);
	size_t n = 2 + psk_len;
	put16(pms + n, (uint32_t)psk_len);
	memcpy(pms + n + 2, psk, psk_len);
	n += 2 + psk_len;
	if (wc_Sha256GetHash(&h->transcript, th) != 0) /* up to the ClientKeyExchange */
		goto out;
	emse_hmac256_key(&k, pms, n);
	if (h->ems)
		emse_tls12_prf_keyed(&k, "extended master secret", th, sizeof(th), NULL, 0, ms,
				     sizeof(ms));
	else
		emse_tls12_prf_keyed(&k, "master secret", h->client_random, 32, h->server_random, 32,
				     ms, sizeof(ms));
	emse_hmac256_key(&k, ms, sizeof(ms));
	emse_tls12_prf_keyed(&k, "key expansion", h->server_random, 32, h->client_random, 32, kb,
			     sizeof(kb));
	emse_tls12_prf_keyed(&k, "client finished", th, sizeof(th), NULL, 0, h->client_vd,
			     FINISHED_LEN);
	put_finished_header(fin, (uint16_t)(h->rx_msg_seq + 1));
	memcpy(fin + DTLS_HS_HDR, h->client_vd, FINISHED_LEN);
	if (wc_Sha256Copy(&h->transcript, &t2) != 0)
		goto out;
	r = wc_Sha256Update(&t2, fin, sizeof(fin));
	r = r == 0 ? wc_Sha256Final(&t2, th) : r;
	wc_Sha256Free(&t2);
	if (r != 0)
		goto out;
	emse_tls12_prf_keyed(&k, "server finished", th, sizeof(th), NULL, 0, h->server_vd,
			     FINISHED_LEN);
	set_keys(h, kb);
	if (h->sid_len) /* for the resumption cache (the worker stores it, extra_give wipes it) */
		memcpy(h->ms, ms, sizeof(ms));
	wc_Sha256Free(&h->transcript);
	explicit_bzero(&h->transcript, sizeof(h->transcript));
out:
	emse_hmac256_wipe(&k);
	explicit_bzero(&t2, sizeof(t2));
	explicit_bzero(pms, sizeof(pms));
	explicit_bzero(ms, sizeof(ms));
	explicit_bzero(kb, sizeof(kb));
	explicit_bzero(th, sizeof(th));
	return r;
}

int emse_hs12_resume(struct emse_hs12 *h, struct emse_record_ctx *rc,
		     const struct emse_hs12_hello *hello, const uint8_t *sid, const uint8_t *ms,
		     const uint8_t *cid, unsigned cid_len)
{
	uint8_t *p = begin(h, hello, sid, cid, cid_len);
	if (!p)
		return -1;
	h->resumed = 1;
	uint8_t kb[40], th[WC_SHA256_DIGEST_SIZE], fin[DTLS_HS_HDR + FINISHED_LEN];
	struct emse_hmac256 k;
	int r = -1;
	/* RFC 5246 7.3 and 7.4.9: new randoms, the cached master secret; the server's Finished
	 * covers ClientHello + ServerHello, the client's those and our Finished */
	emse_hmac256_key(&k, ms, EMSE_HS12_MS_LEN);
	emse_tls12_prf_keyed(&k, "key expansion", h->server_random, 32, h->client_random, 32, kb,
			     sizeof(kb));
	set_keys(h, kb);
	if (wc_Sha256GetHash(&h->transcript, th) != 0)
		goto out;
	emse_tls12_prf_keyed(&k, "server finished", th, sizeof(th), NULL, 0, h->server_vd,
			     FINISHED_LEN);
	put_finished_header(fin, h->tx_msg_seq);
	memcpy(fin + DTLS_HS_HDR, h->server_vd, FINISHED_LEN);
	if (wc_Sha256Update(&h->transcript, fin, sizeof(fin)) != 0 ||
	    wc_Sha256GetHash(&h->transcript, th) != 0)
		goto out;
	emse_tls12_prf_keyed(&k, "client finished", th, sizeof(th), NULL, 0, h->client_vd,
			     FINISHED_LEN);
	put_record0(h, p, DTLS_CT_CCS, 1)[0] = 1;
	p += DTLS_RECORD_HDR + 1;
	size_t sealed;
	/* to the client's CID, if it has one (RFC 9146: from epoch 1 on) */
	if (emse_record_seal_cid(rc, &h->rec, DTLS_CT_HANDSHAKE, h->peer_cid, fin, sizeof(fin), p,
				 (size_t)(h->flight + sizeof(h->flight) - p), &sealed) != 0)
		goto out;
	h->flight_len = (uint16_t)(p + sealed - h->flight);
	h->phase = EMSE_HS12_WAIT_CCS;
	r = 0;
out:
	wc_Sha256Free(&h->transcript);
	explicit_bzero(&h->transcript, sizeof(h->transcript));
	emse_hmac256_wipe(&k);
	explicit_bzero(kb, sizeof(kb));
	explicit_bzero(th, sizeof(th));
	explicit_bzero(fin, sizeof(fin));
	return r;
}

static enum emse_hs12_rc fatal(struct emse_hs12 *h, uint8_t alert, enum emse_hs_fail reason,
			       uint8_t *out, size_t *out_len, enum emse_hs_fail *why)
{
	*out_len = alert ? emse_hs12_alert(h, alert, out) : 0;
	*why = reason;
	h->phase = 0;
	return EMSE_HS12_FATAL;
}

/* The ClientKeyExchange (one unfragmented message m of mlen bytes with its header). */
static enum emse_hs12_rc on_cke(struct emse_hs12 *h, const uint8_t *m, size_t mlen,
				const uint8_t *psk, size_t psk_len, uint8_t *out, size_t *out_len,
				enum emse_hs_fail *why)
{
	size_t body = mlen - DTLS_HS_HDR;
	if (body < 2 || (size_t)be16(m + DTLS_HS_HDR) + 2 != body)
		return fatal(h, ALERT_DECODE_ERROR, EMSE_HS_FAIL_PROTOCOL, out, out_len, why);
	wc_Sha256Update(&h->transcript, m, (word32)mlen);
	if (derive_keys(h, psk, psk_len) != 0)
		return fatal(h, 0, EMSE_HS_FAIL_PROTOCOL, out, out_len, why);
	h->rx_msg_seq++;
	h->phase = EMSE_HS12_WAIT_CCS;
	return EMSE_HS12_WANT;
}

/* The client's Finished, opened: check it, answer with ChangeCipherSpec + our Finished. */
static enum emse_hs12_rc on_finished(struct emse_hs12 *h, struct emse_record_ctx *rc,
				     const uint8_t *fin, size_t n, uint8_t *out, size_t *out_len,
				     enum emse_hs_fail *why)
{
	uint8_t hdr[DTLS_HS_HDR], msg[DTLS_HS_HDR + FINISHED_LEN];
	put_finished_header(hdr, h->rx_msg_seq);
	if (n != DTLS_HS_HDR + FINISHED_LEN || memcmp(fin, hdr, DTLS_HS_HDR) != 0)
		return fatal(h, ALERT_UNEXPECTED_MESSAGE, EMSE_HS_FAIL_PROTOCOL, out, out_len, why);
	int bad = CRYPTO_memcmp(h->client_vd, fin + DTLS_HS_HDR, FINISHED_LEN);
	EMSE_CT_PUBLIC(bad);
	if (bad)
		return fatal(h, ALERT_DECRYPT_ERROR, EMSE_HS_FAIL_BAD_FINISHED, out, out_len, why);
	if (h->resumed) { /* the client's Finished is the last message of an abbreviated one */
		h->rec.flags &= (uint8_t)~EMSE_REC_F_HANDSHAKE;
		h->phase = 0;
		return EMSE_HS12_DONE;
	}
	put_finished_header(msg, h->tx_msg_seq);
	memcpy(msg + DTLS_HS_HDR, h->server_vd, FINISHED_LEN);
	/* ChangeCipherSpec (epoch 0), then Finished as the first record of epoch 1 */
	put_record0(h, out, DTLS_CT_CCS, 1)[0] = 1;
	size_t sealed;
	/* to the client's CID, if it has one (RFC 9146: from epoch 1 on) */
	int r = emse_record_seal_cid(rc, &h->rec, DTLS_CT_HANDSHAKE, h->peer_cid, msg, sizeof(msg),
				     out + 14, EMSE_HS12_OUT_MAX - 14, &sealed);
	explicit_bzero(msg, sizeof(msg));
	if (r != 0)
		return fatal(h, 0, EMSE_HS_FAIL_PROTOCOL, out, out_len, why);
	*out_len = 14 + sealed;
	h->rec.flags &= (uint8_t)~EMSE_REC_F_HANDSHAKE;
	h->phase = 0;
	return EMSE_HS12_DONE;
}

/* An epoch-1 record while we wait for the client's Finished (rp: the record, used bytes; a
 * tls12_cid one when CIDs were negotiated). EMSE_HS12_WANT: not it, go on. */
static enum emse_hs12_rc on_epoch1(struct emse_hs12 *h, struct emse_record_ctx *rc,
				   const uint8_t *rp, size_t used, uint8_t *out, size_t *out_len,
				   enum emse_hs_fail *why)
{
	uint8_t plain[96]; /* a GCM Finished with a 16-octet CID: 13 + 16 + 8 + 25 + 16 */
	size_t used1, n;
	uint8_t type;
	enum emse_rec_drop drop;
	if (used > sizeof(plain))
		return EMSE_HS12_WANT; /* no Finished is this long */
	switch (emse_record_open_cid(rc, &h->rec, rp, used, h->cid_len, &used1, plain, &n, &type,
				     &drop)) {
	case EMSE_REC_HANDSHAKE:
		return on_finished(h, rc, plain, n, out, out_len, why);
	case EMSE_REC_ALERT:
		return fatal(h, 0, EMSE_HS_FAIL_ALERT, out, out_len, why);
	case EMSE_REC_DROP:
		/* under another key: the client holds a different PSK */
		if (drop == EMSE_REC_BAD_TAG)
			return fatal(h, ALERT_BAD_RECORD_MAC, EMSE_HS_FAIL_BAD_FINISHED, out,
				     out_len, why);
		break;
	default:
		break;
	}
	return EMSE_HS12_WANT;
}

enum emse_hs12_rc emse_hs12_input(struct emse_hs12 *h, struct emse_record_ctx *rc,
				  const uint8_t *psk, size_t psk_len, const uint8_t *dg,
				  size_t len, uint8_t *out, size_t *out_len,
				  enum emse_hs_fail *why)
{
	enum emse_hs12_rc result = EMSE_HS12_WANT;
	*out_len = 0;
	*why = EMSE_HS_FAIL_PROTOCOL;
	if (!h->phase)
		return EMSE_HS12_WANT; /* over: nothing more is read */
	for (size_t off = 0; off < len;) {
		struct dtls_record r;
		size_t used;
		const uint8_t *rp = dg + off;
		if (h->cid_len && rp[0] == EMSE_REC_CT_CID) {
			/* tls12_cid: framed with our CID after the sequence number */
			size_t hl = DTLS_RECORD_HDR + h->cid_len;
			if (len - off < hl || be16(rp + hl - 2) > len - off - hl)
				break;
			used = hl + be16(rp + hl - 2);
			off += used;
			if (be16(rp + 3) != 1 || h->phase != EMSE_HS12_WAIT_FIN ||
			    memcmp(rp + DTLS_RECORD_HDR - 2, h->cid, h->cid_len) != 0)
				continue;
			enum emse_hs12_rc x = on_epoch1(h, rc, rp, used, out, out_len, why);
			if (x != EMSE_HS12_WANT)
				return x;
			continue;
		}
		if (dtls_record_parse(dg + off, len - off, &r, &used) != DTLS_PEEK_OK)
			break; /* the rest of the datagram cannot be framed */
		off += used;
		if (r.epoch == 0 && r.type == DTLS_CT_HANDSHAKE && r.len >= DTLS_HS_HDR) {
			const uint8_t *m = r.frag;
			uint32_t mlen = be24(m + 1);
			uint16_t mseq = be16(m + 4);
			if (m[0] == DTLS_HS_CLIENT_HELLO) {
				if (mseq == h->ch_msg_seq &&
				    (h->phase == EMSE_HS12_WAIT_CKE || h->resumed))
					result = EMSE_HS12_RESEND;
				continue;
			}
			/* one unfragmented ClientKeyExchange, the next message */
			if (m[0] != DTLS_HS_CLIENT_KEY_EXCHANGE || h->phase != EMSE_HS12_WAIT_CKE ||
			    mseq != h->rx_msg_seq || be24(m + 6) != 0 || be24(m + 9) != mlen ||
			    DTLS_HS_HDR + mlen != r.len)
				continue;
			enum emse_hs12_rc x = on_cke(h, m, r.len, psk, psk_len, out, out_len, why);
			if (x != EMSE_HS12_WANT)
				return x;
			result = EMSE_HS12_WANT;
		} else if (r.epoch == 0 && r.type == DTLS_CT_CCS) {
			if (h->phase == EMSE_HS12_WAIT_CCS && r.len == 1 && r.frag[0] == 1)
				h->phase = EMSE_HS12_WAIT_FIN;
		} else if (r.epoch == 0 && r.type == DTLS_CT_ALERT) {
			/* fatal, or close_notify: the client gave up */
			if (r.len == 2 && (r.frag[0] == 2 || r.frag[1] == 0))
				return fatal(h, 0, EMSE_HS_FAIL_ALERT, out, out_len, why);
		} else if (r.epoch == 1 && h->phase == EMSE_HS12_WAIT_FIN) {
			enum emse_hs12_rc x = on_epoch1(h, rc, rp, used, out, out_len, why);
			if (x != EMSE_HS12_WANT)
				return x;
		}
	}
	return result;
}
