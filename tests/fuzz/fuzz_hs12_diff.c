/* libFuzzer, differential (issue 17): emse's handshake engine (dataplane/dtls/hs12.c) against the
 * wolfSSL engine (dataplane/dtls/dtls.c: a pooled object, the worker's custom I/O) on the same client
 * behaviour. The fuzzer's bytes choose the server's suites and PSK hint, the client's suites,
 * extensions (EMS, renegotiation_info, an unknown one), PSK identity and key, a server-side
 * wrong key, and corruptions of the ClientHello and of flight 3; the client (tests/dtls12_client.h, OpenSSL) runs the same plan
 * against each engine, answering the flight 2 each one sent. Both go through the worker's own
 * steps in front of them (ClientHello parse, cookie check, identity peek).
 * Required: the same verdict per flight (flight 2 sent or not; handshake completed or not) where
 * hs12.c takes the ClientHello (the worker gives wolfSSL what it declines), and on completion
 * the same session: both key blocks equal to the one the client derived from what it saw
 * (hs12's record state; wolfSSL's through record.c's import, as the worker compacts it), equal
 * to each other when both drew the same server random (the RNG stream is seeded alike for both)
 * and no extended master secret makes them depend on the differing session ids, the same
 * suite and EMS decision, and the server Finished verified. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../dtls12_client.h"
#include "emse/config.h"
#include "emse/dtls/cookie.h"
#include "emse/dtls/dtls.h"
#include "emse/dtls/dtls_peek.h"
#include "emse/e2m.h"
#include "emse/dtls/hs12.h"
#include "emse/dtls/record.h"
#include "emse/rng.h"
#include "emse/session.h"

#define FAIL(...) do { fprintf(stderr, "fuzz_hs12_diff: " __VA_ARGS__); fputc('\n', stderr); \
			 __builtin_trap(); } while (0)

static const uint8_t PEER[19] = {4, 0x30, 0x39, 198, 18, 0, 2};

struct capture {
	uint8_t buf[4096];
	size_t len;
};
static struct capture cap;

static int cap_send(void *worker, struct emse_session *s, const uint8_t *data, size_t len)
{
	(void)worker, (void)s;
	if (cap.len + len <= sizeof(cap.buf)) {
		memcpy(cap.buf + cap.len, data, len);
		cap.len += len;
	}
	return 0;
}

static struct emse_record_ctx rc;
static struct emse_dtls_pool pool;
static struct emse_cookie_keys ck;
static uint32_t srv_suites_set[4] = {EMSE_SUITE_CCM8 | EMSE_SUITE_GCM, EMSE_SUITE_GCM,
				     EMSE_SUITE_CCM8, EMSE_SUITE_CCM8 | EMSE_SUITE_GCM};
static WOLFSSL_CTX *ctxs[8]; /* suite set x (no hint, "e2m") */

static void init_once(void)
{
	if (rc.scratch)
		return;
	if (emse_record_ctx_init(&rc, 4) != 0 || emse_dtls_global_init() != 0)
		__builtin_trap();
	for (int i = 0; i < 8; i++)
		if (!(ctxs[i] = emse_dtls_ctx_new(srv_suites_set[i & 3], i & 4 ? "e2m" : "")))
			__builtin_trap();
	memset(&ck, 0x5c, sizeof(ck));
	ck.has_prev = 0;
}

/* The plan the fuzzer's bytes describe. */
struct plan {
	uint8_t offer;       /* bit0 GCM, 1 CCM-8, 2 CBC, 3 an unknown suite, 4 EMS, 5 SCSV,
			      * 6 renegotiation_info, 7 the server holds another key */
	uint8_t srv;         /* which server suite set (bits 0-1), a PSK hint (bit 2) */
	uint32_t key_id;
	char app[24];
	uint8_t psk[32], srv_psk[32];
	uint8_t unknown_ext[16];
	size_t unknown_len;
	uint8_t random[32];
	struct { uint8_t target; uint16_t off; uint8_t x; } mut[4];
	unsigned n_mut;
};

static int plan_of(const uint8_t *d, size_t n, struct plan *p)
{
	if (n < 2 + 4 + 1 + 16)
		return -1;
	memset(p, 0, sizeof(*p));
	p->offer = d[0];
	if (!(p->offer & 3))
		p->offer |= 1;
	p->srv = d[1] & 7;
	memcpy(&p->key_id, d + 2, 4);
	size_t al = 1 + d[6] % 20, i = 7;
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789.-";
	for (size_t k = 0; k < al; k++)
		p->app[k] = chars[(i + k < n ? d[i + k] : k) % (sizeof(chars) - 1)];
	i += al;
	if (n < i + 16)
		return -1;
	SHA256(d + i, 16, p->psk);
	memcpy(p->srv_psk, p->psk, 32);
	if (p->offer & 0x80)
		p->srv_psk[0] ^= 1;
	memcpy(p->random, p->psk + 1, 31);
	p->random[31] = 0x17;
	i += 16;
	if (i < n) {
		p->unknown_len = d[i] % 17;
		i++;
		for (size_t k = 0; k < p->unknown_len; k++)
			p->unknown_ext[k] = i + k < n ? d[i + k] : 0;
		i += p->unknown_len;
	}
	for (; i + 4 <= n && p->n_mut < 4; i += 4) {
		p->mut[p->n_mut].target = d[i] & 3;
		p->mut[p->n_mut].off = (uint16_t)(d[i + 1] << 8 | d[i + 2]);
		p->mut[p->n_mut].x = d[i + 3] ? d[i + 3] : 1;
		p->n_mut++;
	}
	return 0;
}

/* Whether byte i of datagram b is a record header field where the engines differ by design, not
 * compared (docs/security.md):
 * - an epoch-0 record's sequence number: wolfSSL keeps a replay window in epoch 0 and drops a
 *   record far ahead of it, hs12.c orders the handshake by message_seq alone (RFC 6347 4.1.2.6
 *   makes the window a SHOULD);
 * - the record's version: hs12.c takes a header with another version as unframeable and drops
 *   the rest of the datagram (RFC 6347 4.1.2.7), wolfSSL 5.7.2 reads such a ChangeCipherSpec. */
static int header_choice_byte(const uint8_t *b, size_t len, size_t i)
{
	for (size_t off = 0; off + 13 <= len; off += 13 + dc_get16(b + off + 11))
		if (i >= off && i < off + 13)
			return (i >= off + 1 && i < off + 3) ||
			       (i >= off + 5 && i < off + 11 && dc_get16(b + off + 3) == 0);
	return 0;
}

/* Where the ClientHello's extensions begin. hs12.c reads only the three it acts on (EMS,
 * renegotiation_info, supported_versions) and ignores the others as RFC 5246 7.4.1.4 lets a
 * server that does not implement them; wolfSSL checks the ones it implements (an empty
 * server_name is a decode_error there). Corrupted extensions are therefore not compared; the
 * plan still varies which extensions there are. */
static size_t ch_ext_at;

/* target 0: the ClientHello; 1: flight 3 (xor a byte); 2: flight 3 cut at off */
static size_t mutate(const struct plan *p, unsigned target, uint8_t *b, size_t len)
{
	for (unsigned i = 0; i < p->n_mut; i++) {
		if (len == 0)
			break;
		size_t at = p->mut[i].off % len;
		if (target == 0 && ch_ext_at && at >= ch_ext_at)
			continue;
		if (p->mut[i].target == target && !header_choice_byte(b, len, at))
			b[at] ^= p->mut[i].x;
		else if (target == 1 && p->mut[i].target == 2 && p->mut[i].off % 97 < len)
			len = p->mut[i].off % 97 + 1;
	}
	return len;
}

static size_t client_hello(const struct plan *p, const uint8_t *cookie, size_t cl, uint16_t mseq,
			   uint8_t *out)
{
	uint8_t body[300], *q = body, m[320];
	*q++ = 0xfe;
	*q++ = 0xfd;
	memcpy(q, p->random, 32);
	q += 32;
	*q++ = 0;
	*q++ = (uint8_t)cl;
	if (cl)
		memcpy(q, cookie, cl);
	q += cl;
	uint8_t *sl = q;
	q += 2;
	if (p->offer & 2)
		*q++ = 0xc0, *q++ = 0xa8;
	if (p->offer & 1)
		*q++ = 0x00, *q++ = 0xa8;
	if (p->offer & 4)
		*q++ = 0x00, *q++ = 0xae;
	if (p->offer & 8)
		*q++ = 0x00, *q++ = 0xa9;
	if (p->offer & 0x20)
		*q++ = 0x00, *q++ = 0xff;
	dc_put16(sl, (unsigned)(q - sl - 2));
	*q++ = 1;
	*q++ = 0;
	uint8_t *el = q;
	q += 2;
	if (p->offer & 0x10)
		memcpy(q, "\x00\x17\x00\x00", 4), q += 4;
	if (p->offer & 0x40)
		memcpy(q, "\xff\x01\x00\x01\x00", 5), q += 5;
	if (p->unknown_len) {
		dc_put16(q, 0x3a3a);
		dc_put16(q + 2, (unsigned)p->unknown_len);
		memcpy(q + 4, p->unknown_ext, p->unknown_len);
		q += 4 + p->unknown_len;
	}
	ch_ext_at = (size_t)(el - body) + 13 + 12;
	if (q == el + 2)
		q = el; /* no extensions at all */
	else
		dc_put16(el, (unsigned)(q - el - 2));
	size_t n = dc_hsmsg(m, DC_CH, mseq, body, (size_t)(q - body));
	return dc_record(out, DC_HS, 0, mseq, m, n);
}

/* What the client learns from a flight 2; 0 if it holds a ServerHello and a ServerHelloDone. */
struct flight2 {
	uint8_t random[32], suite[2];
	int ems;
	int hint;         /* a ServerKeyExchange with this hint was sent */
	uint8_t tr[1024]; /* its handshake messages, for the transcript */
	size_t trlen;
};

static int read_flight2(const uint8_t *b, size_t len, struct flight2 *f)
{
	int sh = 0, shd = 0;
	memset(f, 0, sizeof(*f));
	for (size_t off = 0; off + 13 <= len;) {
		const uint8_t *r = b + off;
		size_t rl = dc_get16(r + 11);
		if (off + 13 + rl > len)
			return -1;
		off += 13 + rl;
		if (r[0] != DC_HS || dc_get16(r + 3) != 0 || rl < 12)
			continue;
		const uint8_t *m = r + 13;
		size_t ml = 12 + dc_get24(m + 1);
		if (ml > rl || f->trlen + ml > sizeof(f->tr))
			return -1;
		if (m[0] == DC_SH && ml >= 12 + 2 + 32 + 1) {
			const uint8_t *s = m + 12 + 2;
			memcpy(f->random, s, 32);
			size_t sid = s[32];
			if (12 + 2 + 32 + 1 + sid + 3 > ml)
				return -1;
			memcpy(f->suite, s + 33 + sid, 2);
			/* extensions: look for extended_master_secret */
			size_t e = 12 + 2 + 32 + 1 + sid + 3;
			if (e + 2 <= ml) {
				size_t end = e + 2 + dc_get16(m + e);
				for (e += 2; e + 4 <= end && end <= ml; e += 4 + dc_get16(m + e + 2))
					if (dc_get16(m + e) == 0x17)
						f->ems = 1;
			}
			sh = 1;
		}
		if (m[0] == DC_SH || m[0] == DC_SKE || m[0] == DC_SHD) {
			memcpy(f->tr + f->trlen, m, ml);
			f->trlen += ml;
		}
		if (m[0] == DC_SHD)
			shd = 1;
		if (m[0] == DC_SKE)
			f->hint = ml == 12 + 2 + 3 && !memcmp(m + 12, "\x00\x03" "e2m", 5);
	}
	return sh && shd ? 0 : -1;
}

/* The client's flight 3 for this flight 2: ClientKeyExchange, ChangeCipherSpec, Finished.
 * Also what the server's Finished must say. */
static size_t flight3(const struct plan *p, const uint8_t *ch, size_t chl, const struct flight2 *f,
		      struct dc_keys *k, uint8_t server_vd[12], uint8_t *out)
{
	uint8_t tr[2048], th[32], vd[12], m[200], body[100];
	size_t tl = 0;
	memcpy(tr, ch + 13, chl - 13);
	tl = chl - 13;
	memcpy(tr + tl, f->tr, f->trlen);
	tl += f->trlen;
	char id[64];
	int il = snprintf(id, sizeof(id), "e2m.%08x@%s", p->key_id, p->app);
	dc_put16(body, (unsigned)il);
	memcpy(body + 2, id, (size_t)il);
	/* our message_seq: ClientHellos 0 and 1, then 2 and 3 (RFC 6347 4.2.2) */
	size_t ml = dc_hsmsg(m, DC_CKE, 2, body, 2 + (size_t)il);
	memcpy(tr + tl, m, ml);
	tl += ml;
	size_t n = dc_record(out, DC_HS, 0, 2, m, ml);
	SHA256(tr, tl, th);
	int ems = (p->offer & 0x10) && f->ems;
	dc_derive(p->psk, 32, p->random, f->random, ems ? th : NULL, k);
	static const uint8_t one = 1;
	n += dc_record(out + n, DC_CCS, 0, 3, &one, 1);
	dc_prf(k->ms, 48, "client finished", th, 32, NULL, 0, vd, 12);
	ml = dc_hsmsg(m, DC_FIN, 3, vd, 12);
	memcpy(tr + tl, m, ml);
	tl += ml;
	SHA256(tr, tl, th);
	dc_prf(k->ms, 48, "server finished", th, 32, NULL, 0, server_vd, 12);
	int gcm = f->suite[0] == 0x00;
	size_t sl = dc_seal(gcm, k->ckey, k->civ, 1, 0, DC_HS, m, ml, out + n);
	if (!sl)
		__builtin_trap();
	return n + sl;
}

/* The server's Finished in out (epoch 1) verifies under the client's keys. */
static int server_finished_ok(const uint8_t *b, size_t len, int gcm, const struct dc_keys *k,
			      const uint8_t vd[12])
{
	for (size_t off = 0; off + 13 <= len;) {
		const uint8_t *r = b + off;
		size_t rl = dc_get16(r + 11);
		if (off + 13 + rl > len)
			return 0;
		off += 13 + rl;
		uint8_t p[64];
		size_t n;
		if (dc_get16(r + 3) == 1 && r[0] == DC_HS && rl < 64 &&
		    dc_open(gcm, k->skey, k->siv, r, 13 + rl, p, &n) == 0)
			return n == 24 && p[0] == DC_FIN && !memcmp(p + 12, vd, 12);
	}
	return 0;
}

struct outcome {
	int flight2;             /* the engine sent flight 2 */
	int done;                /* the handshake completed */
	uint8_t srandom[32];
	struct emse_record_state st;
	struct dc_keys k;
	int fin_ok;
	int gcm;
	int ems;                 /* extended master secret negotiated */
	int hint;                /* the hint "e2m" sent in a ServerKeyExchange */
};

/* The worker's own steps before an engine sees flight 3: the identity and its key. */
static int key_for(const struct plan *p, const uint8_t *f3, size_t len, struct e2m_identity *id)
{
	const uint8_t *idp;
	uint16_t idl;
	char want[64];
	int wl = snprintf(want, sizeof(want), "e2m.%08x@%s", p->key_id, p->app);
	if (dtls_peek_psk_identity(f3, len, &idp, &idl) != DTLS_PEEK_OK ||
	    e2m_identity_parse(idp, idl, id) != E2M_ID_OK)
		return -1;
	return idl == wl && !memcmp(idp, want, idl) ? 0 : -1; /* the store knows this one only */
}

static void run_hs12(const struct plan *p, const uint8_t *ch2, size_t chl,
		     const struct dtls_client_hello *ch, struct outcome *o)
{
	static struct emse_hs12 h;
	struct emse_hs12_hello hello;
	memset(o, 0, sizeof(*o));
	if (emse_hs12_parse_hello(ch, srv_suites_set[p->srv & 3], &hello) != EMSE_HS12_OK)
		__builtin_trap(); /* the caller checked */
	emse_rng_seed_thread(17, 1);
	if (emse_hs12_start(&h, &hello, p->srv & 4 ? "e2m" : "") != 0)
		__builtin_trap();
	emse_rng_unseed_thread();
	struct flight2 f;
	o->flight2 = read_flight2(h.flight, h.flight_len, &f) == 0;
	if (!o->flight2)
		FAIL("hs12 flight 2 does not parse");
	memcpy(o->srandom, f.random, 32);
	o->gcm = f.suite[0] == 0x00;
	o->ems = (p->offer & 0x10) && f.ems;
	o->hint = f.hint;
	uint8_t f3[512], vd[12], out[EMSE_HS12_OUT_MAX];
	size_t n = mutate(p, 1, f3, flight3(p, ch2, chl, &f, &o->k, vd, f3)), ol;
	struct e2m_identity id;
	enum emse_hs_fail why;
	if (key_for(p, f3, n, &id) == 0 &&
	    emse_hs12_input(&h, &rc, p->srv_psk, 32, f3, n, out, &ol, &why) == EMSE_HS12_DONE) {
		o->done = 1;
		o->st = h.rec;
		o->fin_ok = server_finished_ok(out, ol, o->gcm, &o->k, vd);
	}
	emse_record_wipe(&rc, &h.rec);
	emse_hs12_wipe(&h);
}

static void run_wolf(const struct plan *p, const uint8_t *ch2, size_t chl, const uint8_t *secret,
		     struct outcome *o)
{
	static struct emse_session s;
	static struct emse_hs_extra x;
	memset(o, 0, sizeof(*o));
	memset(&s, 0, sizeof(s));
	memset(&x, 0, sizeof(x));
	s.u.hs.x = &x;
	if (emse_dtls_pool_init(&pool, ctxs[p->srv], 1, NULL, cap_send) != 0)
		__builtin_trap();
	WOLFSSL *ssl = emse_dtls_pool_get(&pool, &s, secret, EMSE_COOKIE_SECRET_LEN, PEER,
					  sizeof(PEER));
	if (!ssl)
		__builtin_trap();
	s.u.hs.ssl = ssl;
	int err = 0, fatal = 0;
	cap.len = 0;
	emse_rng_seed_thread(17, 1);
	enum emse_dtls_rc r = emse_dtls_handshake(ssl, &s, ch2, chl, &err);
	emse_rng_unseed_thread();
	struct flight2 f;
	o->flight2 = r == EMSE_DTLS_WANT && read_flight2(cap.buf, cap.len, &f) == 0;
	fatal = r == EMSE_DTLS_FATAL;
	if (getenv("DIFF_DEBUG"))
		fprintf(stderr, "wolfSSL flight 2: rc %d err %d, %zu bytes out (%02x %02x %02x)\n", r,
			err, cap.len, cap.len > 14 ? cap.buf[0] : 0, cap.len > 14 ? cap.buf[13] : 0,
			cap.len > 14 ? cap.buf[14] : 0);
	if (o->flight2) {
		memcpy(o->srandom, f.random, 32);
		o->gcm = f.suite[0] == 0x00;
		o->ems = (p->offer & 0x10) && f.ems;
		o->hint = f.hint;
		uint8_t f3[512], vd[12];
		size_t n = mutate(p, 1, f3, flight3(p, ch2, chl, &f, &o->k, vd, f3));
		if (key_for(p, f3, n, &x.id) == 0) {
			memcpy(x.key, p->srv_psk, 32);
			s.u.hs.have_key = 1;
			cap.len = 0;
			r = emse_dtls_handshake(ssl, &s, f3, n, &err);
			if (getenv("DIFF_DEBUG"))
				fprintf(stderr, "wolfSSL flight 3: rc %d err %d ems %d suite %02x%02x "
					"out %zu bytes\n", r, err, o->ems, f.suite[0], f.suite[1], cap.len);
			if (r == EMSE_DTLS_DONE) {
				o->done = 1;
				if (emse_record_import(&o->st, ssl) != 0)
					FAIL("wolfSSL session does not import");
				o->fin_ok = server_finished_ok(cap.buf, cap.len, o->gcm, &o->k, vd);
			}
			fatal = r == EMSE_DTLS_FATAL;
		}
	}
	emse_dtls_pool_put(&pool, ssl, fatal || !o->done, 0);
	emse_dtls_pool_fini(&pool);
}

static void same_keys(const char *who, const struct outcome *o)
{
	if (memcmp(o->st.rkey, o->k.ckey, 16) || memcmp(o->st.wkey, o->k.skey, 16) ||
	    memcmp(o->st.rsalt, o->k.civ, 4) || memcmp(o->st.wsalt, o->k.siv, 4))
		FAIL("%s: the session's keys are not the handshake's key block", who);
	if (o->st.repoch != 1 || o->st.wepoch != 1)
		FAIL("%s: session epochs %u/%u", who, o->st.repoch, o->st.wepoch);
	if (!o->fin_ok)
		FAIL("%s: its Finished does not verify at the client", who);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plan p;
	init_once();
	if (plan_of(data, size, &p) != 0)
		return 0;
	/* ClientHello 1 and the HelloVerifyRequest: the worker's, shared by both engines */
	uint8_t ch1[400], hvr[EMSE_HVR_MAX], ch2[400];
	size_t n1 = client_hello(&p, NULL, 0, 0, ch1);
	struct dtls_client_hello ch;
	if (dtls_parse_client_hello(ch1, n1, &ch) != DTLS_PEEK_OK)
		return 0;
	size_t hl = emse_cookie_build_hvr(ck.cur, PEER, sizeof(PEER), &ch, hvr);
	if (hl < 13 + 12 + 3 + 32)
		__builtin_trap();
	size_t n2 = mutate(&p, 0, ch2, client_hello(&p, hvr + 13 + 12 + 3, 32, 1, ch2));
	/* the worker's checks in front of both engines */
	if (dtls_parse_client_hello(ch2, n2, &ch) != DTLS_PEEK_OK)
		return 0;
	const uint8_t *secret = emse_cookie_verify(&ck, PEER, sizeof(PEER), &ch);
	struct emse_hs12_hello hello;
	if (!secret || emse_hs12_parse_hello(&ch, srv_suites_set[p.srv & 3], &hello) != EMSE_HS12_OK)
		return 0; /* not hs12's: the worker gives it to wolfSSL alone */
	/* KNOWN wolfSSL 5.7.2 DIFFERENCE (found here): a ClientHello with both the SCSV and an
	 * empty renegotiation_info extension is refused by wolfSSL (SECURE_RENEGOTIATION_E,
	 * handshake_failure); RFC 5746 3.6 makes either one set secure_renegotiation, and 3.4 only
	 * advises clients against sending both. hs12.c accepts it, as the RFC wants. */
	if ((p.offer & 0x60) == 0x60)
		return 0;
	struct outcome a, b;
	run_hs12(&p, ch2, n2, &ch, &a);
	run_wolf(&p, ch2, n2, secret, &b);
	if (a.flight2 != b.flight2)
		FAIL("flight 2: hs12 %s, wolfSSL %s", a.flight2 ? "sent" : "refused",
		     b.flight2 ? "sent" : "refused");
	if (a.flight2 && (a.hint != b.hint || a.hint != !!(p.srv & 4)))
		FAIL("PSK hint: hs12 %d, wolfSSL %d, configured %d", a.hint, b.hint, !!(p.srv & 4));
	if (a.done != b.done)
		FAIL("flight 3: hs12 %s, wolfSSL %s", a.done ? "completed" : "refused",
		     b.done ? "completed" : "refused");
	if (a.done) {
		same_keys("hs12", &a);
		same_keys("wolfSSL", &b);
		if (a.st.cipher != b.st.cipher || memcmp(a.st.suite, b.st.suite, 2))
			FAIL("different suites");
		if (a.ems != b.ems)
			FAIL("extended master secret: hs12 %d, wolfSSL %d", a.ems, b.ems);
		/* Both draw the server random from the same seeded stream; without EMS the keys
		 * then depend on nothing else (with it, on the transcript: wolfSSL sends a
		 * session id, hs12 none) */
		if (!memcmp(a.srandom, b.srandom, 32) && !a.ems &&
		    (memcmp(a.st.rkey, b.st.rkey, 16) || memcmp(a.st.wkey, b.st.wkey, 16) ||
		     memcmp(a.st.rsalt, b.st.rsalt, 4) || memcmp(a.st.wsalt, b.st.wsalt, 4)))
			FAIL("same randoms, different keys");
	}
	return 0;
}
