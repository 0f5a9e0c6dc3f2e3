/* emse-bench's own DTLS 1.2 PSK client handshake (hs_client.h), from RFC 5246, 6347, 4279, 7627
 * and 9146. Only what a PSK client with an AEAD suite needs: one suite offered, no session id, no
 * renegotiation, unfragmented server messages (a PSK flight is far below any MTU). */
/* The transcript is copied to read its hash mid-way: the SHA256_CTX calls (deprecated in OpenSSL 3
 * but alloc-free) do that by assignment, as dataplane/dtls/hmac256.c does. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "emse/dtls/hmac256.h"
#include "hs_client.h"

enum { HSC_P_HELLO = 1, HSC_P_WAIT_DONE, HSC_P_WAIT_FIN, HSC_P_DONE };
enum {
	CT_CCS = 20, CT_ALERT = 21, CT_HANDSHAKE = 22,
	HT_CLIENT_HELLO = 1, HT_SERVER_HELLO = 2, HT_HELLO_VERIFY = 3, HT_SERVER_KEY_EXCHANGE = 12,
	HT_SERVER_HELLO_DONE = 14, HT_CLIENT_KEY_EXCHANGE = 16, HT_FINISHED = 20,
	EXT_EMS = 0x0017, EXT_CID = 0x0036,
	HDR = 13, HS_HDR = 12, VD = 12,
};

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((struct hsc *)0)->th_ctx), "transcript space");
#define TH(h) ((SHA256_CTX *)(void *)(h)->th_ctx)

static const uint8_t SUITE_CCM8[2] = { 0xc0, 0xa8 }, SUITE_GCM[2] = { 0x00, 0xa8 };

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static uint8_t *put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; return p + 2; }
static uint8_t *put24(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 16); return put16(p + 1, v); }
static uint8_t *put48(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 6; i++)
		p[i] = (uint8_t)(v >> (40 - 8 * i));
	return p + 6;
}

void hsc_prf(const uint8_t *secret, size_t slen, const char *label, const uint8_t *seed,
	     size_t seed_len, uint8_t *out, size_t out_len)
{
	struct emse_hmac256 k;
	emse_hmac256_key(&k, secret, slen);
	emse_tls12_prf_keyed(&k, label, seed, seed_len, NULL, 0, out, out_len);
	emse_hmac256_wipe(&k);
}

/* An epoch-0 plaintext record header for body_len octets; returns where the body goes. */
static uint8_t *record0(struct hsc *h, uint8_t *p, uint8_t type, size_t body_len)
{
	p[0] = type, p[1] = 0xfe, p[2] = 0xfd, p[3] = 0, p[4] = 0;
	put48(p + 5, h->seq0++);
	put16(p + 11, (uint32_t)body_len);
	return p + HDR;
}

/* A handshake message header (unfragmented). */
static uint8_t *hs_header(uint8_t *p, uint8_t type, uint32_t len, uint16_t mseq)
{
	p[0] = type;
	put24(p + 1, len);
	put16(p + 4, mseq);
	put24(p + 6, 0);
	return put24(p + 9, len) ;
}

static void build_client_hello(struct hsc *h)
{
	uint8_t *m = h->ch, *b = m + HS_HDR;
	b[0] = 0xfe, b[1] = 0xfd;
	memcpy(b + 2, h->client_random, 32);
	uint8_t *p = b + 34;
	*p++ = 0; /* session_id */
	*p++ = h->cookie_len;
	memcpy(p, h->cookie, h->cookie_len);
	p += h->cookie_len;
	p = put16(p, 2);
	memcpy(p, h->ccm ? SUITE_CCM8 : SUITE_GCM, 2);
	p += 2;
	*p++ = 1, *p++ = 0; /* compression: null */
	uint8_t *ext = p;
	p += 2;
	p = put16(put16(p, EXT_EMS), 0);
	if (h->cid_mode != HSC_CID_OFF) {
		/* RFC 9146 3: opaque cid<0..2^8-1> */
		p = put16(put16(p, EXT_CID), 1u + h->own_cid_len);
		*p++ = h->own_cid_len;
		memcpy(p, h->own_cid, h->own_cid_len);
		p += h->own_cid_len;
	}
	put16(ext, (uint32_t)(p - ext - 2));
	h->ch_len = (uint16_t)(p - m);
	hs_header(m, HT_CLIENT_HELLO, (uint32_t)(h->ch_len - HS_HDR), h->tx_mseq++);
	memcpy(record0(h, h->flight, CT_HANDSHAKE, h->ch_len), m, h->ch_len);
	h->flight_len = (uint16_t)(HDR + h->ch_len);
}

int hsc_start(struct hsc *h, int ccm, const char *identity, size_t id_len,
	      const uint8_t psk[E2M_KEY_LEN], enum hsc_cid cid, const uint8_t client_random[32],
	      const uint8_t *own_cid, uint8_t own_cid_len)
{
	if (id_len == 0 || id_len > sizeof(h->identity) || own_cid_len > HSC_OWN_CID_MAX ||
	    (cid == HSC_CID_ON && own_cid_len == 0))
		return -1;
	memset(h, 0, offsetof(struct hsc, ch));
	h->ccm = (uint8_t)(ccm != 0);
	h->cid_mode = (uint8_t)cid;
	h->own_cid_len = cid == HSC_CID_ON ? own_cid_len : 0;
	if (h->own_cid_len)
		memcpy(h->own_cid, own_cid, h->own_cid_len);
	memcpy(h->client_random, client_random, 32);
	memcpy(h->identity, identity, id_len);
	h->id_len = (uint8_t)id_len;
	memcpy(h->psk, psk, E2M_KEY_LEN);
	h->phase = HSC_P_HELLO;
	build_client_hello(h);
	return 0;
}

static enum hsc_rc fail_why(struct hsc *h, enum hsc_why why)
{
	h->phase = 0;
	h->why = (uint8_t)why;
	return HSC_FAIL;
}

static enum hsc_rc fail(struct hsc *h)
{
	h->phase = 0;
	h->why = HSC_WHY_PROTOCOL;
	return HSC_FAIL;
}

/* ServerHello body: version, random, session_id, suite, compression, extensions. */
static int on_server_hello(struct hsc *h, const uint8_t *b, size_t n)
{
	if (n < 38 || b[0] != 0xfe || b[1] != 0xfd)
		return -1;
	memcpy(h->server_random, b + 2, 32);
	size_t off = 34 + 1 + (size_t)b[34];
	if (off + 3 > n || memcmp(b + off, h->ccm ? SUITE_CCM8 : SUITE_GCM, 2) != 0 || b[off + 2] != 0)
		return -1;
	off += 3;
	if (off == n)
		return 0; /* no extensions */
	if (off + 2 > n || off + 2 + be16(b + off) != n)
		return -1;
	for (off += 2; off < n;) {
		if (off + 4 > n)
			return -1;
		uint16_t type = be16(b + off), elen = be16(b + off + 2);
		const uint8_t *e = b + off + 4;
		if (off + 4 + elen > n)
			return -1;
		off += 4u + elen;
		if (type == EXT_EMS) {
			if (elen != 0)
				return -1;
			h->ems = 1;
		} else if (type == EXT_CID) {
			/* only as an answer to our offer (RFC 9146 3); the server's CID, for our records */
			if (h->cid_mode == HSC_CID_OFF || elen < 1 || e[0] != elen - 1 || e[0] > REC_CID_MAX ||
			    h->cid_negotiated)
				return -1;
			h->cid_negotiated = 1;
			h->peer_cid_len = e[0];
			memcpy(h->peer_cid, e + 1, e[0]);
		}
	}
	return 0;
}

/* Flight 3: ClientKeyExchange, ChangeCipherSpec, Finished (epoch 1). Derives everything. */
static int send_key_exchange(struct hsc *h, struct rec_keys *k)
{
	uint8_t cke[HS_HDR + 2 + E2M_PSK_IDENTITY_MAX], th[SHA256_DIGEST_LENGTH], kb[40];
	uint8_t pms[2 + E2M_KEY_LEN + 2 + E2M_KEY_LEN], fin[HS_HDR + VD];
	size_t cke_len = HS_HDR + 2 + h->id_len;
	memcpy(put16(hs_header(cke, HT_CLIENT_KEY_EXCHANGE, 2u + h->id_len, h->tx_mseq++), h->id_len),
	       h->identity, h->id_len);
	SHA256_Update(TH(h), cke, cke_len);
	SHA256_CTX t = *TH(h);
	SHA256_Final(th, &t);
	/* RFC 4279 2: other_secret = N zero octets, then the PSK, each with its length */
	uint8_t *p = put16(pms, E2M_KEY_LEN);
	memset(p, 0, E2M_KEY_LEN);
	memcpy(put16(p + E2M_KEY_LEN, E2M_KEY_LEN), h->psk, E2M_KEY_LEN);
	if (h->ems) {
		hsc_prf(pms, sizeof(pms), "extended master secret", th, sizeof(th), h->ms, 48);
	} else {
		uint8_t seed[64];
		memcpy(seed, h->client_random, 32);
		memcpy(seed + 32, h->server_random, 32);
		hsc_prf(pms, sizeof(pms), "master secret", seed, 64, h->ms, 48);
	}
	uint8_t seed[64];
	memcpy(seed, h->server_random, 32);
	memcpy(seed + 32, h->client_random, 32);
	hsc_prf(h->ms, 48, "key expansion", seed, 64, kb, sizeof(kb));
	/* verify_data = PRF(master_secret, "client finished", Hash(handshake_messages))[0..11] */
	hs_header(fin, HT_FINISHED, VD, h->tx_mseq++);
	hsc_prf(h->ms, 48, "client finished", th, sizeof(th), fin + HS_HDR, VD);
	SHA256_Update(TH(h), fin, sizeof(fin));
	t = *TH(h);
	SHA256_Final(th, &t);
	hsc_prf(h->ms, 48, "server finished", th, sizeof(th), h->server_vd, VD);
	int rc = rec_setup_kb(k, h->ccm, kb, 0);
	k->cid_w_len = h->cid_negotiated ? h->peer_cid_len : 0;
	memcpy(k->cid_w, h->peer_cid, k->cid_w_len);
	k->cid_r_len = h->cid_negotiated ? h->own_cid_len : 0;
	explicit_bzero(pms, sizeof(pms));
	explicit_bzero(kb, sizeof(kb));
	explicit_bzero(&t, sizeof(t));
	if (rc != 0)
		return -1;
	uint8_t *q = h->flight;
	memcpy(record0(h, q, CT_HANDSHAKE, cke_len), cke, cke_len);
	q += HDR + cke_len;
	*record0(h, q, CT_CCS, 1) = 1;
	q += HDR + 1;
	int n = rec_seal(k, CT_HANDSHAKE, fin, sizeof(fin), q); /* epoch 1, sequence 0 */
	explicit_bzero(fin, sizeof(fin));
	if (n < 0)
		return -1;
	h->flight_len = (uint16_t)(q + n - h->flight);
	return 0;
}

/* One unfragmented handshake message of the server's (m: header and body). */
static enum hsc_rc on_message(struct hsc *h, const uint8_t *m, size_t mlen, struct rec_keys *k)
{
	uint8_t type = m[0];
	uint16_t mseq = be16(m + 4);
	const uint8_t *b = m + HS_HDR;
	size_t n = mlen - HS_HDR;
	if (type == HT_HELLO_VERIFY) {
		/* RFC 6347 4.2.1: server_version, cookie<0..2^8-1>; the ClientHello again, with it */
		if (h->phase != HSC_P_HELLO || n < 3 || b[2] != n - 3 || b[2] == 0)
			return HSC_WANT;
		h->cookie_len = b[2];
		memcpy(h->cookie, b + 3, b[2]);
		build_client_hello(h);
		return HSC_SEND;
	}
	if (type == HT_SERVER_HELLO && h->phase == HSC_P_HELLO) {
		if (on_server_hello(h, b, n) != 0)
			return fail(h);
		if (h->cid_mode != HSC_CID_OFF && !h->cid_negotiated)
			return fail_why(h, HSC_WHY_NO_CID); /* this run measures CID sessions */
		/* The transcript starts with the ClientHello the server answered (RFC 6347 4.2.1: not
		 * the one before a HelloVerifyRequest). */
		SHA256_Init(TH(h));
		SHA256_Update(TH(h), h->ch, h->ch_len);
		SHA256_Update(TH(h), m, mlen);
		h->rx_mseq = (uint16_t)(mseq + 1);
		h->rx_started = 1;
		h->phase = HSC_P_WAIT_DONE;
		return HSC_WANT;
	}
	if (h->phase != HSC_P_WAIT_DONE || !h->rx_started || mseq != h->rx_mseq)
		return HSC_WANT; /* a retransmission, or out of order: the next flight repeats it */
	if (type == HT_SERVER_KEY_EXCHANGE) {
		/* RFC 4279 2: psk_identity_hint<0..2^16-1>; the hint is not used */
		if (n < 2 || (size_t)be16(b) + 2 != n)
			return fail(h);
		SHA256_Update(TH(h), m, mlen);
		h->rx_mseq++;
		return HSC_WANT;
	}
	if (type == HT_SERVER_HELLO_DONE) {
		if (n != 0)
			return fail(h);
		SHA256_Update(TH(h), m, mlen);
		h->rx_mseq++;
		if (send_key_exchange(h, k) != 0)
			return fail(h);
		h->phase = HSC_P_WAIT_FIN;
		return HSC_SEND;
	}
	return fail(h); /* a certificate, a CertificateRequest: not a PSK server */
}

enum hsc_rc hsc_input(struct hsc *h, const uint8_t *dg, size_t len, struct rec_keys *k)
{
	enum hsc_rc result = HSC_WANT;
	if (!h->phase || h->phase == HSC_P_DONE)
		return HSC_WANT;
	for (size_t off = 0; off + HDR <= len;) {
		const uint8_t *r = dg + off;
		/* tls12_cid records carry our CID before the length */
		size_t hl = r[0] == REC_CT_CID ? HDR + k->cid_r_len : HDR;
		if (off + hl > len)
			break;
		size_t rl = be16(r + hl - 2), used = hl + rl;
		if (off + used > len || r[1] != 0xfe)
			break;
		off += used;
		uint16_t epoch = be16(r + 3);
		const uint8_t *body = r + hl;
		if (epoch == 0 && r[0] == CT_ALERT) {
			if (rl == 2 && (body[0] == 2 || body[1] == 0)) {
				h->alert = body[1];
				h->phase = 0;
				return HSC_ALERT;
			}
		} else if (epoch == 0 && r[0] == CT_HANDSHAKE) {
			if (rl < HS_HDR)
				continue;
			uint32_t mlen = be24(body + 1);
			if (be24(body + 6) != 0 || be24(body + 9) != mlen || HS_HDR + mlen != rl)
				continue; /* fragmented: a PSK server flight never is */
			enum hsc_rc x = on_message(h, body, rl, k);
			if (x < 0)
				return x;
			if (x == HSC_SEND)
				result = HSC_SEND;
		} else if (epoch == 1 && h->phase == HSC_P_WAIT_FIN) {
			uint8_t pt[256], type; /* the Finished, padded as the server likes (RFC 9146 4) */
			int n = used <= sizeof(pt) ? rec_open(k, r, (uint16_t)used, pt, &type) : -1;
			if (n < 0)
				continue;
			if (type == CT_ALERT && n == 2) {
				h->alert = pt[1];
				h->phase = 0;
				return HSC_ALERT;
			}
			uint8_t hdr[HS_HDR];
			hs_header(hdr, HT_FINISHED, VD, h->rx_mseq);
			if (type != CT_HANDSHAKE || n != HS_HDR + VD || memcmp(pt, hdr, HS_HDR) != 0 ||
			    CRYPTO_memcmp(pt + HS_HDR, h->server_vd, VD) != 0)
				return fail_why(h, HSC_WHY_FINISHED);
			k->seq = 1; /* our Finished was epoch 1, sequence 0 */
			h->phase = HSC_P_DONE;
			hsc_wipe(h);
			return HSC_DONE;
		}
	}
	return result;
}

void hsc_wipe(struct hsc *h)
{
	explicit_bzero(h->psk, sizeof(h->psk));
	explicit_bzero(h->ms, sizeof(h->ms));
	explicit_bzero(h->server_vd, sizeof(h->server_vd));
	explicit_bzero(h->th_ctx, sizeof(h->th_ctx));
}
