/* State-machine conformance (issue 17): an adversarial DTLS 1.2 PSK client, written here with its
 * own message builders and OpenSSL's SHA-256/HMAC/AES (nothing of emse's encoders, PRF or AEADs),
 * drives a real worker in-process: frames go in through emse_worker_rx, the worker's cookie, key
 * cache, parking and session table are the real ones, key fetches go through the real control
 * plane to a provider this test holds back or answers, and what the worker transmits is taken from
 * its TX queue. Both engines run the whole table: hs12.c (handshake_engine native) and wolfSSL
 * (dataplane/dtls/dtls.c), each ending in a compact record.c session.
 *
 * For every reachable state and every input of the alphabet, a fresh client (its own UDP port and
 * key id) is driven into the state, sends the input, and the answer and the next state are checked
 * against the table below (expect()), written from RFC 6347 / 5246 / 4279. The next state is
 * checked by white-box (the session table) and by a probe: from the state the table names, the
 * rest of a correct handshake must complete and an application record must echo. On every pair
 * also: no application data is delivered before a verified Finished (app_rx), and an
 * unauthenticated record leaves an established session's record state and deadline unchanged.
 * Any difference is a deviation; the test prints pairs covered and deviations and requires 0.
 * CONF_DEBUG=1 in the environment prints every pair and step on stderr. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "../../dtls12_client.h"
#include "../eal.h"
#include "emse/control_plane.h"
#include "emse/keyprov.h"
#include "emse/worker.h"

/* ---- the key provider: known identities are "e2m.<id>@ue.app"; answers can be held back ------- */

static const char APP_OK[] = "ue.app", APP_OTHER[] = "nobody.app";

static void key_of(uint32_t key_id, uint8_t key[32])
{
	uint8_t in[16] = "conformance";
	memcpy(in + 12, &key_id, 4);
	SHA256(in, sizeof(in), key);
}

struct tprov {
	struct emse_keyprov base;
	int hold;
	unsigned n_batches;
	uint64_t batch_id[8];
	unsigned n_items[8];
	struct emse_keyprov_item items[8][4];
};

static int tp_submit(struct emse_keyprov *p, uint64_t batch_id, const char *emse_id,
		     const struct emse_keyprov_item *items, unsigned n, uint64_t now_ms)
{
	(void)emse_id;
	(void)now_ms;
	struct tprov *t = (struct tprov *)p;
	if (t->n_batches == 8 || n > 4)
		return -1;
	t->batch_id[t->n_batches] = batch_id;
	t->n_items[t->n_batches] = n;
	memcpy(t->items[t->n_batches], items, n * sizeof(*items));
	t->n_batches++;
	return 0;
}

static unsigned tp_poll(struct emse_keyprov *p, uint64_t now_ms)
{
	(void)now_ms;
	struct tprov *t = (struct tprov *)p;
	if (t->hold || !t->n_batches)
		return 0;
	unsigned done = t->n_batches;
	for (unsigned b = 0; b < t->n_batches; b++) {
		struct emse_keyprov_result res[4];
		memset(res, 0, sizeof(res));
		for (unsigned i = 0; i < t->n_items[b]; i++) {
			const struct emse_keyprov_item *it = &t->items[b][i];
			if (it->app_id_len == strlen(APP_OK) && !memcmp(it->app_id, APP_OK, it->app_id_len)) {
				res[i].status = EMSE_FETCH_OK;
				res[i].expiry = (uint64_t)time(NULL) + 3600;
				key_of(it->key_id, res[i].key);
			} else {
				res[i].status = EMSE_FETCH_NO_KEY;
			}
		}
		p->done(p->done_ctx, t->batch_id[b], res, t->n_items[b]);
	}
	t->n_batches = 0;
	return done;
}

static void tp_stats(struct emse_keyprov *p, struct emse_keyprov_stats *out)
{
	(void)p;
	memset(out, 0, sizeof(*out));
}

static void tp_destroy(struct emse_keyprov *p) { free(p); }

static const struct emse_keyprov_ops tp_ops = {
	.name = "conformance", .submit = tp_submit, .poll = tp_poll, .stats = tp_stats,
	.destroy = tp_destroy,
};

/* ---- the worker under test ------------------------------------------------------------------- */

static const uint8_t SRV_MAC[6] = {2, 0, 0, 0, 0, 1}, CLI_MAC[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t SRV_IP[4] = {198, 18, 0, 1}, CLI_IP[4] = {198, 18, 0, 2};
#define SRV_PORT 4433

struct env {
	struct emse_config cfg;
	struct emse_runtime rt;
	struct tprov *prov;
	struct emse_worker *w;
	int native;
};
static struct env E;

static void env_up(int native)
{
	memset(&E, 0, sizeof(E));
	E.native = native;
	struct emse_config *c = &E.cfg;
	emse_config_defaults(c);
	c->max_sessions = 512;
	c->max_sessions_per_source = 0;
	c->half_open_max = 64;
	c->parked_max = 64;
	c->mbufs = 1023;
	c->flights_held = 64;
	c->suites = EMSE_SUITE_CCM8 | EMSE_SUITE_GCM;
	c->hs_native = native;
	memcpy(c->iface.mac, SRV_MAC, 6);
	c->iface.n4 = 1;
	memcpy(c->iface.ip4[0], SRV_IP, 4);
	c->n_listeners = 1;
	struct emse_listener_conf *l = &c->listeners[0];
	strcpy(l->name, "conf");
	l->addr.family = 4;
	memcpy(l->addr.a, SRV_IP, 4);
	l->port = SRV_PORT;
	strcpy(l->emse_id, "emse.conformance");
	l->emse_id_len = (uint8_t)strlen(l->emse_id);
	l->mode = EMSE_APP_ECHO;
	c->n_emse = 1;

	E.prov = calloc(1, sizeof(*E.prov));
	assert_non_null(E.prov);
	E.prov->base.ops = &tp_ops;
	struct emse_control_config cc;
	emse_control_config_default(&cc);
	cc.n_workers = 1;
	cc.n_emse = 1;
	cc.emse_ids[0] = l->emse_id;
	cc.cache_capacity = 1024;
	cc.batch_delay_ms = 0;
	cc.prov = &E.prov->base;
	char err[160] = "";
	E.rt.cfg = c;
	E.rt.iface = c->iface;
	E.rt.n_workers = 1;
	E.rt.hz = rte_get_tsc_hz();
	E.rt.tsc0 = rte_rdtsc();
	E.rt.unix0 = (uint64_t)time(NULL);
	E.rt.control = emse_control_create(&cc, err, sizeof(err));
	if (!E.rt.control)
		fail_msg("control: %s", err);
	E.rt.qsbr = emse_control_qsbr(E.rt.control);
	assert_int_equal(emse_dtls_global_init(), 0);
	E.w = emse_worker_create(&E.rt, 0, (int)rte_socket_id());
	assert_non_null(E.w);
	E.rt.workers[0] = E.w;
	emse_dtls_pool_bind(&E.w->pool);
	assert_int_equal(emse_control_worker_register(E.rt.control, 0), 0);
}

static void env_down(void)
{
	emse_control_worker_unregister(E.rt.control, 0);
	emse_worker_destroy(E.w);
	emse_control_destroy(E.rt.control);
}

/* Lets the control plane answer what the worker asked and the worker take the answers. */
static void settle(void)
{
	for (int i = 0; i < 200 && E.w->parked && !E.prov->hold; i++) {
		emse_control_run_once(E.rt.control, emse_control_now_ms());
		emse_worker_completions(E.w);
		if (E.w->parked)
			usleep(200);
	}
	emse_control_run_once(E.rt.control, emse_control_now_ms());
	/* what the worker's timer does: wolfSSL objects freed after a fatal error are replaced */
	emse_dtls_pool_refill(&E.w->pool, 64);
}

/* ---- the client: its own builders --------------------------------------------------------------- */

enum { CT_CCS = 20, CT_ALERT = 21, CT_HS = 22, CT_APP = 23 };
enum { HT_HELLO_REQUEST = 0, HT_CH = 1, HT_SH = 2, HT_HVR = 3, HT_SKE = 12, HT_SHD = 14,
       HT_CKE = 16, HT_FIN = 20 };

struct cli {
	uint16_t port;
	uint32_t key_id;
	uint8_t suite[2];
	int gcm;
	uint8_t crandom[32], srandom[32];
	uint16_t mseq;             /* our next handshake message_seq */
	uint64_t seq0, seq1;       /* next record sequence numbers, epochs 0 and 1 */
	uint8_t tr[2048];          /* handshake transcript from ClientHello 2 on */
	size_t trlen;
	int await_flight2;         /* the ClientHello just sent starts the handshake */
	int keyed;
	uint8_t ms[48], ckey[16], skey[16], civ[4], siv[4];
	uint8_t server_vd[12];
	uint8_t last[1500];        /* the last datagram sent, for duplicates */
	size_t last_len;
	uint8_t app_rec[256];      /* the last application record accepted, for replays */
	size_t app_rec_len;
};

static uint16_t next_port = 20000;
static uint32_t next_key_id = 1;

static void cli_init(struct cli *c, int gcm)
{
	memset(c, 0, sizeof(*c));
	c->port = next_port++;
	c->key_id = next_key_id++;
	c->gcm = gcm;
	c->suite[0] = gcm ? 0x00 : 0xc0;
	c->suite[1] = 0xa8;
	for (int i = 0; i < 32; i++)
		c->crandom[i] = (uint8_t)(rand() >> 3);
}

/* An epoch-1 record under the client's write key. */
static size_t seal1(struct cli *c, uint8_t *out, uint8_t type, uint64_t seq, const uint8_t *p,
		    size_t n)
{
	size_t r = dc_seal(c->gcm, c->ckey, c->civ, 1, seq, type, p, n, out);
	assert_true(r > 0);
	return r;
}

/* Opens a record of the server under its epoch-1 key; -1 if it does not authenticate. */
static int open1(const struct cli *c, const uint8_t *r, size_t rlen, uint8_t *out, size_t *n)
{
	return c->keyed ? dc_open(c->gcm, c->skey, c->siv, r, rlen, out, n) : -1;
}

static void tr_add(struct cli *c, const uint8_t *m, size_t n)
{
	assert_true(c->trlen + n <= sizeof(c->tr));
	memcpy(c->tr + c->trlen, m, n);
	c->trlen += n;
}

/* The cookie the server must accept (include/emse/dtls/cookie.h), computed from its documented
 * inputs with the worker's current secret. */
static void cookie_for(const struct cli *c, const uint8_t ver[2], const uint8_t *suites, size_t sl,
		       uint8_t out[32])
{
	uint8_t in[19 + 2 + 32 + 1 + 2 + 64 + 2], *p = in;
	*p++ = 4;
	*p++ = (uint8_t)(c->port >> 8);
	*p++ = (uint8_t)c->port;
	memset(p, 0, 16);
	memcpy(p, CLI_IP, 4);
	p += 16;
	*p++ = ver[0];
	*p++ = ver[1];
	memcpy(p, c->crandom, 32);
	p += 32;
	/* session id (empty), the suites and the compression methods, without their lengths */
	memcpy(p, suites, sl);
	p += sl;
	*p++ = 0;
	unsigned ol = 32;
	HMAC(EVP_sha256(), E.w->cookie.cur, 32, in, (size_t)(p - in), out, &ol);
}

/* A ClientHello record; cookie: 0 none, 1 valid. */
static size_t client_hello(struct cli *c, uint8_t *out, int with_cookie, const uint8_t ver[2],
			   const uint8_t *suites, size_t sl, uint16_t mseq)
{
	uint8_t body[256], *p = body, m[300];
	*p++ = ver[0];
	*p++ = ver[1];
	memcpy(p, c->crandom, 32);
	p += 32;
	*p++ = 0;
	if (with_cookie) {
		*p++ = 32;
		cookie_for(c, ver, suites, sl, p);
		p += 32;
	} else {
		*p++ = 0;
	}
	dc_put16(p, (unsigned)sl);
	memcpy(p + 2, suites, sl);
	p += 2 + sl;
	*p++ = 1;
	*p++ = 0;
	size_t n = dc_hsmsg(m, HT_CH, mseq, body, (size_t)(p - body));
	if (with_cookie && c->await_flight2)
		tr_add(c, m, n);
	return dc_record(out, CT_HS, 0, c->seq0++, m, n);
}

static const uint8_t V12[2] = {0xfe, 0xfd}, V10[2] = {0xfe, 0xff};

static size_t ch_plain(struct cli *c, uint8_t *out)
{
	return client_hello(c, out, 0, V12, c->suite, 2, 0);
}

/* Starts the handshake proper: ClientHello 2 (cookie), transcript from here. */
static size_t ch_cookie(struct cli *c, uint8_t *out)
{
	c->trlen = 0;
	c->keyed = 0;
	c->await_flight2 = 1;
	c->mseq = 2;
	return client_hello(c, out, 1, V12, c->suite, 2, 1);
}

static void derive(struct cli *c, const uint8_t *psk, size_t pl)
{
	struct dc_keys k;
	dc_derive(psk, pl, c->crandom, c->srandom, NULL, &k);
	memcpy(c->ms, k.ms, 48);
	memcpy(c->ckey, k.ckey, 16);
	memcpy(c->skey, k.skey, 16);
	memcpy(c->civ, k.civ, 4);
	memcpy(c->siv, k.siv, 4);
	c->keyed = 1;
}

/* A ClientKeyExchange record with this identity (app NULL: empty identity). commit: it is part
 * of our handshake (transcript, keys). */
static size_t cke(struct cli *c, uint8_t *out, const char *app, int commit)
{
	uint8_t body[80], m[100];
	char id[64] = "";
	if (app)
		snprintf(id, sizeof(id), "e2m.%08x@%s", c->key_id, app);
	size_t il = strlen(id);
	dc_put16(body, (unsigned)il);
	memcpy(body + 2, id, il);
	/* past our own ClientKeyExchange, another one takes its message_seq (a retransmission) */
	size_t n = dc_hsmsg(m, HT_CKE, c->keyed && !commit ? 2 : c->mseq, body, 2 + il);
	if (commit) {
		c->mseq++;
		tr_add(c, m, n);
		uint8_t psk[32];
		key_of(c->key_id, psk);
		derive(c, psk, 32);
	}
	return dc_record(out, CT_HS, 0, c->seq0++, m, n);
}

static size_t ccs(struct cli *c, uint8_t *out)
{
	static const uint8_t one = 1;
	return dc_record(out, CT_CCS, 0, c->seq0++, &one, 1);
}

/* The client's Finished (right, or with one bit of verify_data flipped), in epoch 1, or its
 * plaintext in epoch 0 (epoch0). commit: ours, so the server's Finished can be checked. */
static size_t finished(struct cli *c, uint8_t *out, int wrong, int epoch0, int commit)
{
	uint8_t th[32], vd[12], m[24];
	if (!c->keyed) { /* nothing derived yet: what a client with this transcript would send */
		uint8_t psk[32];
		key_of(c->key_id, psk);
		derive(c, psk, 32);
		c->keyed = 0;
	}
	SHA256(c->tr, c->trlen, th);
	dc_prf(c->ms, 48, "client finished", th, 32, NULL, 0, vd, 12);
	if (wrong)
		vd[5] ^= 0x10;
	size_t n = dc_hsmsg(m, HT_FIN, c->mseq, vd, 12);
	if (commit) {
		c->mseq++;
		tr_add(c, m, n);
		SHA256(c->tr, c->trlen, th);
		dc_prf(c->ms, 48, "server finished", th, 32, NULL, 0, c->server_vd, 12);
	}
	if (epoch0)
		return dc_record(out, CT_HS, 0, c->seq0++, m, n);
	return seal1(c, out, CT_HS, c->seq1++, m, n);
}

static const uint8_t APP_MSG[] = "conformance: application data";

static size_t app(struct cli *c, uint8_t *out, int epoch, uint64_t seq)
{
	if (epoch == 0)
		return dc_record(out, CT_APP, 0, c->seq0++, APP_MSG, sizeof(APP_MSG));
	int keyed = c->keyed;
	if (!keyed) {
		uint8_t psk[32];
		key_of(c->key_id, psk);
		derive(c, psk, 32);
	}
	size_t n = seal1(c, out, CT_APP, seq, APP_MSG, sizeof(APP_MSG));
	c->keyed = keyed;
	return n;
}

static size_t alert(struct cli *c, uint8_t *out, uint8_t level, uint8_t desc, int epoch)
{
	uint8_t a[2] = {level, desc};
	if (epoch == 0)
		return dc_record(out, CT_ALERT, 0, c->seq0++, a, 2);
	int keyed = c->keyed;
	if (!keyed) {
		uint8_t psk[32];
		key_of(c->key_id, psk);
		derive(c, psk, 32);
	}
	size_t n = seal1(c, out, CT_ALERT, c->seq1++, a, 2);
	c->keyed = keyed;
	return n;
}

static size_t hello_request(struct cli *c, uint8_t *out)
{
	uint8_t m[12];
	size_t n = dc_hsmsg(m, HT_HELLO_REQUEST, 0, NULL, 0);
	return dc_record(out, CT_HS, 0, c->seq0++, m, n);
}

/* ---- the wire ------------------------------------------------------------------------------------ */

struct answer {
	char cls[256];   /* what the server sent, record by record (classify) */
};

static void classify_into(struct cli *c, const uint8_t *d, size_t len, char *cls, size_t cap)
{
	for (size_t off = 0; off + 13 <= len;) {
		const uint8_t *r = d + off;
		size_t rl = dc_get16(r + 11);
		if (off + 13 + rl > len) {
			strncat(cls, "?,", cap - strlen(cls) - 1);
			return;
		}
		const uint8_t *f = r + 13;
		char one[32];
		unsigned ep = dc_get16(r + 3);
		snprintf(one, sizeof(one), "?%u/%u/%zu", r[0], ep, rl);
		if (ep == 0 && r[0] == CT_HS && rl >= 12) {
			switch (f[0]) {
			case HT_HVR: strcpy(one, "HVR"); break;
			case HT_SH:
				strcpy(one, "SH");
				if (c->await_flight2 && rl >= 12 + 34)
					memcpy(c->srandom, f + 12 + 2, 32);
				break;
			case HT_SKE: strcpy(one, "SKE"); break;
			case HT_SHD: strcpy(one, "SHD"); break;
			default: snprintf(one, sizeof(one), "HS%u", f[0]);
			}
			if (c->await_flight2 && (f[0] == HT_SH || f[0] == HT_SKE || f[0] == HT_SHD))
				tr_add(c, f, 12 + dc_get24(f + 1));
			if (c->await_flight2 && f[0] == HT_SHD)
				c->await_flight2 = 0;
		} else if (ep == 0 && r[0] == CT_CCS) {
			strcpy(one, "CCS");
		} else if (ep == 0 && r[0] == CT_ALERT && rl == 2) {
			snprintf(one, sizeof(one), "A%u.%u", f[0], f[1]);
		} else if (ep == 0 && r[0] == CT_ALERT) {
			/* not a plaintext alert: wolfSSL's after the client's ChangeCipherSpec (see
			 * the table); nobody can read it */
			strcpy(one, "A0?");
		} else if (ep == 1) {
			uint8_t p[2048];
			size_t n;
			if (rl + 13 > 13 + sizeof(p) || open1(c, r, 13 + rl, p, &n) != 0)
				strcpy(one, "E?");
			else if (r[0] == CT_HS && n == 24 && p[0] == HT_FIN)
				strcpy(one, memcmp(p + 12, c->server_vd, 12) ? "FIN!" : "FIN");
			else if (r[0] == CT_APP)
				strcpy(one, n == sizeof(APP_MSG) && !memcmp(p, APP_MSG, n) ? "ECHO" : "APP?");
			else if (r[0] == CT_ALERT && n == 2)
				snprintf(one, sizeof(one), "EA%u.%u", p[0], p[1]);
		}
		strncat(cls, one, cap - strlen(cls) - 1);
		strncat(cls, ",", cap - strlen(cls) - 1);
		off += 13 + rl;
	}
}

static struct emse_session *session_of(const struct cli *c)
{
	struct emse_flow f = {0};
	f.peer.family = 4;
	memcpy(f.peer.a, CLI_IP, 4);
	f.local.family = 4;
	memcpy(f.local.a, SRV_IP, 4);
	f.peer_port = c->port;
	f.local_port = SRV_PORT;
	struct emse_session_key k;
	emse_session_key_of(&f, 0, &k);
	return emse_session_find(&E.w->sessions, &k);
}

/* Sends one datagram from the client; returns what the server answered (after key fetches). */
static void xchg(struct cli *c, const uint8_t *dg, size_t len, struct answer *a)
{
	struct emse_worker *w = E.w;
	if (len <= sizeof(c->last)) {
		memcpy(c->last, dg, len);
		c->last_len = len;
	}
	struct emse_flow f = {0};
	f.peer.family = 4;
	memcpy(f.peer.a, SRV_IP, 4);
	f.local.family = 4;
	memcpy(f.local.a, CLI_IP, 4);
	f.peer_port = SRV_PORT;
	f.local_port = c->port;
	memcpy(f.peer_mac, SRV_MAC, 6);
	memcpy(f.local_mac, CLI_MAC, 6);
	struct emse_iface ci = {.hop_limit = 64};
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->mp);
	assert_non_null(m);
	uint16_t hl = emse_net_hdr_len(&f);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + len));
	assert_non_null(p);
	memcpy(p + hl, dg, len);
	emse_net_write_udp(&ci, &f, p, (uint16_t)len);
	w->now = rte_rdtsc();
	emse_worker_rx(w, m, true);
	settle();
	a->cls[0] = 0;
	for (uint16_t i = 0; i < w->n_tx; i++) {
		struct rte_mbuf *t = w->tx[i];
		const uint8_t *d = rte_pktmbuf_mtod(t, const uint8_t *);
		size_t tl = rte_pktmbuf_data_len(t);
		/* IPv4/UDP to this client only */
		if (tl >= 42 && d[12] == 0x08 && d[13] == 0x00 && dc_get16(d + 36) == c->port)
			classify_into(c, d + 42, tl - 42, a->cls, sizeof(a->cls));
		else
			strncat(a->cls, "X,", sizeof(a->cls) - strlen(a->cls) - 1);
		rte_pktmbuf_free(t);
	}
	w->n_tx = 0;
	size_t n = strlen(a->cls);
	if (n && a->cls[n - 1] == ',')
		a->cls[n - 1] = 0;
	if (!a->cls[0])
		strcpy(a->cls, "-");
}

/* ---- states, inputs, the table ----------------------------------------------------------------- */

enum state {
	S_NONE,      /* before the cookie: nothing sent */
	S_HVR,       /* after the HelloVerifyRequest (the server holds nothing) */
	S_SHD,       /* after ServerHelloDone: the server waits for the ClientKeyExchange */
	S_CKE,       /* the ClientKeyExchange in, key fetched: waiting for ChangeCipherSpec */
	S_PARKED,    /* the ClientKeyExchange in, its key fetch outstanding */
	S_CCS,       /* after the client's ChangeCipherSpec: waiting for Finished */
	S_EST0,      /* established, our Finished not yet acknowledged (flight held) */
	S_EST,       /* established, application data exchanged */
	S_CLOSED,    /* the client's close_notify answered: the session is gone */
	S_N,
	S_DEAD = S_N /* as a next state: no session (same as NONE for the server) */
};
static const char *const state_names[] = {"before-cookie", "after-HVR", "after-SHD", "after-CKE",
					   "parked", "after-CCS", "established-0", "established",
					   "closed", "dead"};

enum input {
	I_CH, I_CH_COOKIE, I_CH_SUITE, I_CH_VERSION, I_CKE, I_CKE_OTHER, I_CKE_EMPTY, I_CCS, I_FIN,
	I_FIN_BAD, I_FIN_EPOCH0, I_APP0, I_APP1, I_CN0, I_FATAL0, I_CN1, I_FATAL1, I_HELLO_REQ,
	I_DUP, I_REORDER, I_REPLAY, I_FUTURE, I_N
};
static const char *const input_names[] = {
	"CH", "CH+cookie", "CH+cookie/other-suite", "CH+cookie/DTLS1.0", "CKE", "CKE/other-id",
	"CKE/empty-id", "CCS", "Finished", "Finished/bad-vd", "Finished/epoch0", "App/epoch0",
	"App/epoch1", "close_notify/epoch0", "fatal/epoch0", "close_notify/epoch1", "fatal/epoch1",
	"HelloRequest", "duplicate", "reordered", "replayed-seq", "far-future-seq"};

struct expect {
	const char *out;     /* the server's records, classify()'s names; "-" nothing */
	int next;            /* enum state, or S_DEAD */
	int unauth;          /* the input is not authenticated for this session: state unchanged */
};

static struct expect expect_hs12(enum state s, enum input in);

/* Where wolfSSL (dataplane/dtls/dtls.c) answers otherwise than hs12.c, each a choice the RFCs leave
 * open unless said otherwise. Sessions either engine made are compact (record.c) once
 * established, so the rows differ only before. */
static struct expect expect(int native, enum state s, enum input in)
{
	struct expect x = expect_hs12(s, in);
	if (native || s < S_SHD || s > S_CCS)
		return x;
	switch (in) {
	/* RFC 6347 4.2.4: any ClientHello (and, past it, a repeated ClientKeyExchange: the
	 * client's flight 3 again) is taken as the client retransmitting: wolfSSL resends its
	 * last flight (2) whatever the message_seq; harmless, the state stays */
	case I_CH:
	case I_CH_COOKIE:
	case I_CH_SUITE:
	case I_CH_VERSION:
		return (struct expect){"SH,SHD", s, 1};
	case I_CKE:
	case I_CKE_OTHER:
	case I_CKE_EMPTY:
		return s == S_SHD ? x : (struct expect){"SH,SHD", s, 1};
	/* RFC 5246 7.4 / 7.2.2: a handshake message out of place is a fatal unexpected_message
	 * (10) for wolfSSL; hs12.c drops it (RFC 6347 4.1.2.7 allows either). An off-path
	 * spoofer can end a wolfSSL handshake this way, as it can either engine's with a
	 * plaintext fatal alert (docs/security.md) */
	case I_FIN_EPOCH0:
	case I_HELLO_REQ:
		return (struct expect){"A2.10", S_DEAD, 0};
	/* RFC 6347 4.1.2.6: wolfSSL keeps a replay window in epoch 0 too: the same ClientHello
	 * record again is dropped, not answered */
	case I_DUP:
		return s == S_SHD ? (struct expect){"-", S_SHD, 1} : x;
	default:
		break;
	}
	if (s == S_CCS) {
		switch (in) {
		/* KNOWN wolfSSL 5.7.2 DEFECT, left in place: after the client's ChangeCipherSpec
		 * its fatal alert is mostly a record of type alert, epoch 0, that is not the
		 * 2-byte plaintext RFC 6347 4.1 requires for epoch 0 and that does not open under
		 * its write key (A0?: the client cannot read it); sometimes the plaintext
		 * unexpected_message (10). The handshake ends either way, as RFC 5246 7.4.9 wants
		 * for a Finished that does not verify and for application data before it */
		case I_FIN_BAD:
		case I_APP1:
		case I_REPLAY:
			return (struct expect){"A0?|A2.10", S_DEAD, 0};
		default:
			break;
		}
	}
	return x;
}

/* The table for hs12.c (and for both engines where the group's rows are shared). Rows not listed
 * per state follow the defaults of the state's group. */
static struct expect expect_hs12(enum state s, enum input in)
{
	const char *F2 = "SH,SHD"; /* flight 2 without a hint */
	switch (s) {
	case S_NONE:
	case S_HVR:
	case S_CLOSED:
		/* RFC 6347 4.2.1: without a session, only a ClientHello is answered; state only for
		 * one with a valid cookie. Everything else is dropped. */
		switch (in) {
		case I_CH: return (struct expect){"HVR", s == S_CLOSED ? S_DEAD : s, 1};
		case I_DUP: return s == S_CLOSED ? (struct expect){"-", S_DEAD, 1}
						 : (struct expect){"HVR", s, 1};
		case I_CH_COOKIE: return (struct expect){F2, S_SHD, 0};
		/* RFC 5246 7.4.1.3: no suite in common: handshake_failure (40) */
		case I_CH_SUITE: return (struct expect){"A2.40", S_DEAD, 0};
		/* DTLS 1.0 is not hs12.c's: wolfSSL takes it. RFC 5246 E.1 lets the server go
		 * down to the client's version; none of our suites exists below 1.2 (RFC 5288,
		 * 6655), so none is in common: handshake_failure (40), not protocol_version (70)
		 * (a choice: E.1 does not require 70) */
		case I_CH_VERSION: return (struct expect){"A2.40", S_DEAD, 0};
		default: return (struct expect){"-", s == S_NONE || s == S_HVR ? s : S_DEAD, 1};
		}
	case S_SHD:
		switch (in) {
		/* RFC 6347 4.2.4: a repeated ClientHello (same message_seq) is answered with our
		 * flight 2 again; a ClientHello with another message_seq is not ours to answer */
		case I_CH: return (struct expect){"-", S_SHD, 1};
		case I_CH_COOKIE:
		case I_DUP: return (struct expect){F2, S_SHD, 1};
		case I_CH_SUITE:
		case I_CH_VERSION: return (struct expect){F2, S_SHD, 1};
		case I_CKE: return (struct expect){"-", S_CKE, 0};
		/* RFC 4279 2: an identity the server does not know: unknown_psk_identity (115) */
		case I_CKE_OTHER: return (struct expect){"A2.115", S_DEAD, 0};
		case I_CKE_EMPTY: return (struct expect){"A2.115", S_DEAD, 0};
		/* RFC 5246 7.2.1/7.2.2: the peer's close_notify or fatal alert ends the handshake */
		case I_CN0:
		case I_FATAL0: return (struct expect){"-", S_DEAD, 0};
		/* RFC 6347 4.1.2.7: everything else is dropped (epoch 1 does not exist yet) */
		/* RFC 6347 4.1: a record of a later epoch may be discarded: the Finished ahead
		 * of the flight is, the ClientKeyExchange and ChangeCipherSpec behind it go on */
		/* Finished, ChangeCipherSpec, ClientKeyExchange in one datagram: the Finished of an
		 * epoch not yet readable is discarded (RFC 6347 4.1), the ChangeCipherSpec ahead of
		 * the key exchange is out of order and dropped (4.1.2.7), the ClientKeyExchange
		 * goes on */
		case I_REORDER: return (struct expect){"-", S_CKE, 0};
		default: return (struct expect){"-", S_SHD, 1};
		}
	case S_CKE:
	case S_PARKED:
		switch (in) {
		case I_CCS: return (struct expect){"-", S_CCS, 0};
		case I_CN0:
		case I_FATAL0: return (struct expect){"-", S_DEAD, 0};
		case I_REORDER: return (struct expect){"-", S_CCS, 0};
		/* RFC 5246 7.4.9: the Finished must follow the ChangeCipherSpec; before it, epoch
		 * 1 is not the read epoch and its records are dropped (RFC 6347 4.1) */
		default: return (struct expect){"-", S_CKE, 1};
		}
	case S_CCS:
		switch (in) {
		case I_FIN:
		case I_REORDER: return (struct expect){"CCS,FIN", S_EST0, 0};
		/* RFC 5246 7.4.9: a Finished that does not verify: decrypt_error (51); the client
		 * cannot read epoch 1 yet, so the alert is in epoch 0 */
		case I_FIN_BAD: return (struct expect){"A2.51", S_DEAD, 0};
		case I_CN0:
		case I_FATAL0:
		case I_CN1:
		case I_FATAL1: return (struct expect){"-", S_DEAD, 0};
		/* authentic application data before the Finished is not delivered (RFC 5246 7.4.9:
		 * the Finished is the first message protected; RFC 6347 4.1.2.7: dropped) */
		case I_APP1:
		case I_REPLAY:
		case I_FUTURE: return (struct expect){"-", S_CCS, 0};
		default: return (struct expect){"-", S_CCS, 1};
		}
	case S_EST0:
	case S_EST:
		switch (in) {
		/* RFC 6347 4.2.8: a ClientHello on an established association: without a cookie
		 * a HelloVerifyRequest and the association stays; with a valid one, a new
		 * handshake replaces it */
		case I_CH: return (struct expect){"HVR", s, 1};
		case I_CH_COOKIE: return (struct expect){F2, S_SHD, 0};
		case I_CH_SUITE: return (struct expect){"A2.40", S_DEAD, 0};
		case I_CH_VERSION: return (struct expect){"A2.40", S_DEAD, 0};
		/* RFC 6347 4.2.4: the client repeating its Finished never got ours: resend it,
		 * until application data shows it did (then there is nothing to answer) */
		case I_FIN:
		case I_FIN_BAD: return (struct expect){s == S_EST0 ? "CCS,FIN" : "-", s, 0};
		/* the same datagram again: its record number is a replay (RFC 6347 4.1.2.6; a
		 * retransmission has a new one, 4.2.4) */
		case I_DUP: return (struct expect){"-", s, 1};
		case I_APP1:
		case I_FUTURE: return (struct expect){"ECHO", S_EST, 0};
		/* two records, the later sequence number first: the window takes both */
		case I_REORDER: return (struct expect){"ECHO,ECHO", S_EST, 0};
		/* RFC 6347 4.1.2.6: a replayed record is dropped (established-0: the datagram holds
		 * one record twice, the first is echoed) */
		case I_REPLAY: return s == S_EST0 ? (struct expect){"ECHO", S_EST, 0}
						  : (struct expect){"-", s, 1};
		/* RFC 5246 7.2.1: close_notify is answered with close_notify */
		case I_CN1: return (struct expect){"EA1.0", S_DEAD, 0};
		case I_FATAL1: return (struct expect){"-", S_DEAD, 0};
		/* RFC 6347 4.1.2.7: epoch-0 records after the handshake, alerts included, are not
		 * authenticated and are dropped: they change nothing */
		default: return (struct expect){"-", s, 1};
		}
	default:
		break;
	}
	return (struct expect){"?", S_DEAD, 0};
}


/* want: one answer, or alternatives separated by '|' */
static int matches(const char *got, const char *want)
{
	size_t gl = strlen(got);
	for (const char *p = want;;) {
		const char *e = strchr(p, '|');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == gl && !memcmp(p, got, l))
			return 1;
		if (!e)
			return 0;
		p = e + 1;
	}
}

/* ---- driving ------------------------------------------------------------------------------------- */

struct run {
	unsigned pairs, deviations;
	char log[64][200];
};

static int deviation(struct run *r, int native, enum state s, enum input in, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->deviations < 64)
		snprintf(r->log[r->deviations], sizeof(r->log[0]), "%s %s x %s: %s",
			 native ? "hs12" : "wolfSSL", state_names[s], input_names[in], msg);
	r->deviations++;
	return 1;
}

/* Sends dg and checks the answer; 0 on a match. */
static int step(struct cli *c, const uint8_t *dg, size_t len, const char *want, char *got)
{
	struct answer a;
	xchg(c, dg, len, &a);
	if (getenv("CONF_DEBUG")) {
		struct emse_session *se = session_of(c);
		fprintf(stderr, "  step %zu bytes -> %s (session state %d)\n", len, a.cls,
			se ? se->state : -1);
	}
	strcpy(got, a.cls);
	return strcmp(a.cls, want) != 0;
}

/* Drives a fresh client into state s. */
static int reach(struct cli *c, enum state s, char *why)
{
	uint8_t dg[1500];
	size_t n;
	char got[256];
	if (s == S_NONE)
		return 0;
	if (step(c, dg, ch_plain(c, dg), "HVR", got))
		return snprintf(why, 160, "ClientHello: %.120s", got), -1;
	if (s == S_HVR)
		return 0;
	if (step(c, dg, ch_cookie(c, dg), "SH,SHD", got))
		return snprintf(why, 160, "ClientHello 2: %.120s", got), -1;
	if (s == S_SHD)
		return 0;
	if (s == S_PARKED) {
		E.prov->hold = 1;
		step(c, dg, cke(c, dg, APP_OK, 1), "-", got);
		struct emse_session *se = session_of(c);
		if (!se || se->state != EMSE_S_PARKED)
			return snprintf(why, 160, "not parked"), -1;
		return 0;
	}
	n = cke(c, dg, APP_OK, 1);
	if (s == S_CKE)
		return step(c, dg, n, "-", got) ? (snprintf(why, 160, "CKE: %.120s", got), -1) : 0;
	n += ccs(c, dg + n);
	if (step(c, dg, n, "-", got))
		return snprintf(why, 160, "CKE+CCS: %.120s", got), -1;
	if (s == S_CCS)
		return 0;
	if (step(c, dg, finished(c, dg, 0, 0, 1), "CCS,FIN", got))
		return snprintf(why, 160, "Finished: %.120s", got), -1;
	if (s == S_EST0)
		return 0;
	n = app(c, dg, 1, c->seq1++);
	memcpy(c->app_rec, dg, n);
	c->app_rec_len = n;
	if (step(c, dg, n, "ECHO", got))
		return snprintf(why, 160, "App: %.120s", got), -1;
	if (s == S_EST)
		return 0;
	if (step(c, dg, alert(c, dg, 1, 0, 1), "EA1.0", got))
		return snprintf(why, 160, "close_notify: %.120s", got), -1;
	return 0;
}

/* The input's datagram. */
static size_t build(struct cli *c, enum state s, enum input in, uint8_t *dg)
{
	static const uint8_t other_suite[2] = {0x00, 0xa9}; /* PSK-AES256-GCM-SHA384: not ours */
	size_t n;
	switch (in) {
	case I_CH: return ch_plain(c, dg);
	case I_CH_COOKIE: {
		/* a new handshake where none runs; the same ClientHello 2 repeated where one does */
		if (s == S_SHD || s == S_CKE || s == S_PARKED || s == S_CCS)
			return client_hello(c, dg, 1, V12, c->suite, 2, 1);
		return ch_cookie(c, dg);
	}
	case I_CH_SUITE: return client_hello(c, dg, 1, V12, other_suite, 2, 1);
	case I_CH_VERSION: return client_hello(c, dg, 1, V10, c->suite, 2, 1);
	case I_CKE: return cke(c, dg, APP_OK, s == S_SHD);
	case I_CKE_OTHER: return cke(c, dg, APP_OTHER, 0);
	case I_CKE_EMPTY: return cke(c, dg, NULL, 0);
	case I_CCS: return ccs(c, dg);
	case I_FIN: return finished(c, dg, 0, 0, s == S_CCS);
	case I_FIN_BAD: return finished(c, dg, 1, 0, 0);
	case I_FIN_EPOCH0: return finished(c, dg, 0, 1, 0);
	case I_APP0: return app(c, dg, 0, 0);
	case I_APP1: return app(c, dg, 1, c->seq1++);
	case I_CN0: return alert(c, dg, 1, 0, 0);
	case I_FATAL0: return alert(c, dg, 2, 40, 0);
	case I_CN1: return alert(c, dg, 1, 0, 1);
	case I_FATAL1: return alert(c, dg, 2, 40, 1);
	case I_HELLO_REQ: return hello_request(c, dg);
	case I_DUP:
		if (s == S_NONE)
			return ch_plain(c, dg);
		memcpy(dg, c->last, c->last_len);
		return c->last_len;
	case I_REORDER:
		switch (s) {
		case S_SHD: { /* Finished, ChangeCipherSpec, ClientKeyExchange */
			uint8_t k[200], x[20];
			size_t kl = cke(c, k, APP_OK, 1), xl = ccs(c, x);
			n = finished(c, dg, 0, 0, 0);
			memcpy(dg + n, x, xl);
			memcpy(dg + n + xl, k, kl);
			return n + xl + kl;
		}
		case S_CKE:
		case S_PARKED:
		case S_CCS: { /* Finished before ChangeCipherSpec */
			size_t f = finished(c, dg, 0, 0, s == S_CCS);
			return f + ccs(c, dg + f);
		}
		case S_EST0:
		case S_EST: { /* application records, the later sequence number first */
			uint64_t q = c->seq1;
			c->seq1 += 2;
			n = app(c, dg, 1, q + 1);
			return n + app(c, dg + n, 1, q);
		}
		default: { /* ChangeCipherSpec ahead of a ClientHello: not a ClientHello datagram */
			n = ccs(c, dg);
			return n + ch_plain(c, dg + n);
		}
		}
	case I_REPLAY:
		if (c->app_rec_len) { /* the record the server opened in the prefix */
			memcpy(dg, c->app_rec, c->app_rec_len);
			return c->app_rec_len;
		}
		/* none yet: one record twice in the datagram, the second a replay */
		n = app(c, dg, 1, c->seq1++);
		memcpy(dg + n, dg, n);
		return 2 * n;
	case I_FUTURE:
		/* only a record the server can open moves its window; before that, the client's
		 * numbers go on from where they were */
		if (s >= S_CCS)
			c->seq1 = (1ull << 47) + 1;
		return app(c, dg, 1, 1ull << 47);
	default:
		return 0;
	}
}

/* Probe: from state s the rest of a correct exchange must work. 0 if it does. */
static int probe(struct cli *c, int s, char *why)
{
	uint8_t dg[1500];
	char got[256];
	size_t n;
	struct emse_session *se = session_of(c);
	if (s == S_DEAD || s == S_NONE || s == S_HVR || s == S_CLOSED)
		return se ? (snprintf(why, 160, "a session remains (state %u)", se->state), -1) : 0;
	if (!se)
		return snprintf(why, 160, "no session"), -1;
	/* hs12.c's phase, where the engine shows it */
	if (se->state == EMSE_S_HANDSHAKE && se->u.hs.native) {
		static const int phase_of[] = {[S_SHD] = EMSE_HS12_WAIT_CKE, [S_CKE] = EMSE_HS12_WAIT_CCS,
					       [S_CCS] = EMSE_HS12_WAIT_FIN};
		if (s > S_CCS || se->u.hs.x->n.phase != phase_of[s])
			return snprintf(why, 160, "hs12 phase %u", se->u.hs.x->n.phase), -1;
	}
	switch (s) {
	case S_SHD:
	case S_CKE:
	case S_CCS:
		/* what a client does when its flight 3 is not answered: all of it again, in one
		 * datagram with new record numbers (RFC 6347 4.2.4) */
		n = cke(c, dg, APP_OK, s == S_SHD);
		n += ccs(c, dg + n);
		n += finished(c, dg + n, 0, 0, 1);
		/* wolfSSL answers the repeated ClientKeyExchange with its flight 2 first */
		if (step(c, dg, n, "CCS,FIN", got) && (E.native || strcmp(got, "SH,SHD,CCS,FIN")))
			return snprintf(why, 160, "probe flight 3: %.120s", got), -1;
		/* fall through */
	case S_EST0:
	case S_EST:
		if (step(c, dg, app(c, dg, 1, c->seq1++), "ECHO", got))
			return snprintf(why, 160, "probe App: %.120s", got), -1;
		return 0;
	default:
		return snprintf(why, 160, "no probe for %d", s), -1;
	}
}

static void run_pair(struct run *r, int native, int gcm, enum state s, enum input in)
{
	struct cli c;
	char why[160] = "";
	cli_init(&c, gcm);
	E.prov->hold = 0;
	r->pairs++;
	if (getenv("CONF_DEBUG"))
		fprintf(stderr, "PAIR %s %s x %s\n", native ? "hs12" : "wolfSSL", state_names[s],
			input_names[in]);
	if (reach(&c, s, why)) {
		deviation(r, native, s, in, "cannot reach the state: %s", why);
		return;
	}
	struct expect x = expect(native, s, in);
	struct cli before = c;
	struct emse_session *se = session_of(&c);
	struct emse_record_state rec0;
	memset(&rec0, 0, sizeof(rec0));
	uint64_t deadline0 = se ? se->deadline : 0;
	if (se && se->state == EMSE_S_ESTABLISHED)
		rec0 = se->u.rec;
	uint64_t app_rx0 = E.w->stats.app_rx;

	uint8_t dg[1500];
	size_t n = build(&c, s, in, dg);
	struct answer a;
	xchg(&c, dg, n, &a);
	if (s == S_PARKED) {
		/* the input is held with the ClientKeyExchange: nothing may be sent before the key
		 * comes; then the held datagrams are processed in order */
		struct answer b;
		if (strcmp(a.cls, "-") && deviation(r, native, s, in, "answered while parked: %s", a.cls))
			return;
		E.prov->hold = 0;
		settle();
		b.cls[0] = 0;
		/* what the resumed handshake sent is in the TX queue: classify it */
		struct emse_worker *w = E.w;
		for (uint16_t i = 0; i < w->n_tx; i++) {
			const uint8_t *d = rte_pktmbuf_mtod(w->tx[i], const uint8_t *);
			size_t tl = rte_pktmbuf_data_len(w->tx[i]);
			if (tl >= 42)
				classify_into(&c, d + 42, tl - 42, b.cls, sizeof(b.cls));
			rte_pktmbuf_free(w->tx[i]);
		}
		w->n_tx = 0;
		size_t bl = strlen(b.cls);
		if (bl && b.cls[bl - 1] == ',')
			b.cls[bl - 1] = 0;
		strcpy(a.cls, bl ? b.cls : "-");
	}
	if (!matches(a.cls, x.out)) {
		deviation(r, native, s, in, "answered %s, table says %s", a.cls, x.out);
		return;
	}
	/* No application data before a verified Finished. */
	if (s < S_EST0 && E.w->stats.app_rx != app_rx0 &&
	    deviation(r, native, s, in, "application data delivered before the Finished"))
		return;
	/* An unauthenticated record changes nothing of an established session. */
	if (x.unauth && (s == S_EST0 || s == S_EST)) {
		struct emse_session *se2 = session_of(&c);
		if (se2 != se || !se2 || se2->state != EMSE_S_ESTABLISHED ||
		    memcmp(&se2->u.rec, &rec0, sizeof(rec0)) || se2->deadline != deadline0) {
			deviation(r, native, s, in, "an unauthenticated record changed the session");
			return;
		}
	}
	/* The client goes on from where the table says the server is. Inputs that are not a
	 * step of the client's own handshake are forgotten (its record numbers stay used). */
	int advanced = x.next != (int)s && x.next != S_DEAD;
	if (!advanced) {
		uint64_t q0 = c.seq0, q1 = c.seq1;
		size_t al = c.app_rec_len;
		uint8_t ar[256];
		memcpy(ar, c.app_rec, sizeof(ar));
		c = before;
		c.seq0 = q0;
		c.seq1 = q1;
		c.app_rec_len = al;
		memcpy(c.app_rec, ar, sizeof(ar));
	}
	/* wolfSSL drops a record 2^47 ahead during the handshake without opening it (stricter
	 * than RFC 6347 4.1.2.6, which opens it): the client's numbers need not follow it */
	if (in == I_FUTURE && !native && s < S_EST0)
		c.seq1 = before.seq1;
	int next = x.next == S_PARKED ? S_CKE : x.next;
	if (probe(&c, next, why))
		deviation(r, native, s, in, "next state is not %s: %s", state_names[x.next], why);
}

static void run_engine(int native, int gcm)
{
	struct run *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	env_up(native);
	for (int s = 0; s < (int)S_N; s++)
		for (int in = 0; in < (int)I_N; in++)
			run_pair(r, native, gcm, (enum state)s, (enum input)in);
	printf("conformance %s %s: %u (state, input) pairs, %u deviations\n",
	       native ? "hs12" : "wolfSSL", gcm ? "GCM" : "CCM-8", r->pairs, r->deviations);
	for (unsigned i = 0; i < r->deviations && i < 64; i++)
		printf("  deviation: %s\n", r->log[i]);
	fflush(stdout);
	env_down();
	unsigned dev = r->deviations;
	free(r);
	assert_int_equal(dev, 0);
}

static void test_native_gcm(void **state) { (void)state; run_engine(1, 1); }
static void test_native_ccm8(void **state) { (void)state; run_engine(1, 0); }
static void test_wolfssl_gcm(void **state) { (void)state; run_engine(0, 1); }
static void test_wolfssl_ccm8(void **state) { (void)state; run_engine(0, 0); }

int main(void)
{
	srand(17);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_native_gcm),
		cmocka_unit_test(test_native_ccm8),
		cmocka_unit_test(test_wolfssl_gcm),
		cmocka_unit_test(test_wolfssl_ccm8),
	};
	return cmocka_run_group_tests(tests, eal_up, eal_down);
}
