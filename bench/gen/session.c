/* The simulated UEs' DTLS clients: one wolfSSL client object per session in flight, its records
 * carried in mbufs by the I/O callbacks below. Objects are pooled the way the server pools them
 * (WOLFSSL-NOTES.md: wolfSSL_clear alone leaves DTLS state behind, so also import the state of a
 * never-used object), so creating objects is not what limits the generator. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>

#include <stdlib.h>
#include <string.h>
#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_jhash.h>

#include "emse/rng.h"
#include "gen.h"

#define FAIL_TIMEOUT (-100000)
#define FAIL_NO_OBJECT (-100001)
#define FAIL_STORM (-100002)
#define FAIL_REC_SETUP (-100003)
#define FAIL_ECHO_BAD (-100004)
#define FAIL_OWN_CLIENT (-100005) /* - enum hsc_why */
/* A full handshake is 3 datagrams from the server plus a few retransmissions. Far more means the
 * two sides are answering each other's retransmissions (seen with a wrong PSK: the server cannot
 * open the Finished, each side resends its flight on the other's duplicate): end it. */
#define HS_RX_MAX 64

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	(void)ctx;
	if (!G.rx)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	int n = G.rx_len < sz ? G.rx_len : sz;
	memcpy(buf, G.rx, (size_t)n);
	G.rx = NULL;
	return n;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	struct sess *s = ctx;
	if (!s) { /* spoof_init capturing a ClientHello */
		if ((size_t)sz <= sizeof(G.spoof_ch) && !G.spoof_len) {
			memcpy(G.spoof_ch, buf, (size_t)sz);
			G.spoof_len = (uint16_t)sz;
		}
		return sz;
	}
	/* A full TX ring is loss on the wire, as for a real UE: DTLS retransmits. */
	port_queue(&s->flow, (const uint8_t *)buf, (uint16_t)sz);
	return sz;
}

static unsigned psk_cb(WOLFSSL *ssl, const char *hint, char *identity, unsigned id_max,
		       unsigned char *key, unsigned key_max)
{
	(void)hint;
	struct sess *s = wolfSSL_GetIOWriteCtx(ssl);
	/* a reload (key rotation) may have shrunk the population since the session started */
	const struct pop_ue *u = &G.pop.ue[s->ue % G.pop.n];
	if (id_max < (unsigned)u->id_len + 1 || key_max < E2M_KEY_LEN)
		return 0;
	memcpy(identity, u->identity, (size_t)u->id_len + 1);
	memcpy(key, u->key, E2M_KEY_LEN);
	return E2M_KEY_LEN;
}

static const char *suite_list(const char *s)
{
	if (!strcmp(s, "ccm8"))
		return "PSK-AES128-CCM-8";
	if (!strcmp(s, "gcm"))
		return "PSK-AES128-GCM-SHA256";
	if (!strcmp(s, "cbc"))
		return "PSK-AES128-CBC-SHA256";
	return NULL;
}

int sess_init(void)
{
	const char *list = suite_list(G.cfg.suite);
	if (!list) {
		fprintf(stderr, "--suite: ccm8, gcm or cbc\n");
		return -1;
	}
	wolfSSL_Init();
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfDTLSv1_2_client_method());
	if (!ctx || wolfSSL_CTX_set_cipher_list(ctx, list) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "wolfSSL client context: set-up failed\n");
		return -1;
	}
	wolfSSL_CTX_set_psk_client_callback(ctx, psk_cb);
	wolfSSL_CTX_SetIORecv(ctx, io_recv);
	wolfSSL_CTX_SetIOSend(ctx, io_send);
	wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF);
	G.ctx = ctx;

	uint32_t n = G.cfg.concurrency;
	G.sess = calloc(n, sizeof(*G.sess));
	G.free_list = malloc(n * sizeof(*G.free_list));
	G.active = malloc(n * sizeof(*G.active));
	G.ssl_pool = calloc(n, sizeof(*G.ssl_pool));
	G.next_port = malloc(G.cfg.ue_addrs * sizeof(*G.next_port));
	G.payload = malloc(G.cfg.size ? G.cfg.size : 1);
	if (!G.sess || !G.free_list || !G.active || !G.ssl_pool || !G.next_port || !G.payload)
		return -1;
	if (own_records() && !(G.recs = calloc(n, sizeof(*G.recs))))
		return -1;
	if (G.cfg.native && !(G.hsc = calloc(n, sizeof(*G.hsc))))
		return -1;
	if (G.cfg.resume && !(G.ue_sess = calloc(G.pop.n ? G.pop.n : 1, sizeof(*G.ue_sess))))
		return -1;
	for (uint32_t i = 0; i < n; i++)
		G.free_list[i] = n - 1 - i;
	G.nfree = n;
	for (uint32_t i = 0; i < G.cfg.ue_addrs; i++)
		G.next_port[i] = (uint16_t)(1024 + (i * 7919u) % 64000u);
	for (uint32_t i = 0; i < G.cfg.size; i++)
		G.payload[i] = (uint8_t)i;

	struct rte_hash_parameters hp = {
		.name = "gen_flows",
		.entries = n * 2 < 1024 ? 1024 : n * 2,
		.key_len = sizeof(uint64_t),
		.hash_func = rte_jhash,
		.socket_id = 0,
	};
	G.flows = rte_hash_create(&hp);
	if (!G.flows) {
		fprintf(stderr, "flow table: %u entries failed\n", hp.entries);
		return -1;
	}

	if (G.cfg.pool) {
		WOLFSSL *t = wolfSSL_new(ctx);
		unsigned sz = sizeof(G.blob);
		int r = t ? wolfSSL_dtls_export_state_only(t, G.blob, &sz) : -1;
		if (r <= 0) {
			fprintf(stderr, "wolfSSL_dtls_export_state_only: %d; objects will not be pooled\n", r);
			G.cfg.pool = false;
		} else {
			G.blob_len = (unsigned)r;
		}
		wolfSSL_free(t);
	}
	return 0;
}

static WOLFSSL *get_ssl(void)
{
	if (G.npool) {
		G.all.reused++;
		return G.ssl_pool[--G.npool];
	}
	G.all.created++;
	return wolfSSL_new(G.ctx);
}

static void put_ssl(WOLFSSL *ssl, bool clean)
{
	if (clean && G.cfg.pool && G.npool < G.cfg.concurrency &&
	    wolfSSL_clear(ssl) == WOLFSSL_SUCCESS && wolfSSL_dtls_import(ssl, G.blob, G.blob_len) > 0) {
		G.ssl_pool[G.npool++] = ssl;
		return;
	}
	wolfSSL_free(ssl);
}

static void active_remove(uint32_t idx)
{
	uint32_t pos = G.sess[idx].apos, last = G.active[--G.nactive];
	G.active[pos] = last;
	G.sess[last].apos = pos;
}

static void sess_end(uint32_t idx, bool clean)
{
	struct sess *s = &G.sess[idx];
	rte_hash_del_key(G.flows, &(uint64_t){ flow_key(s->addr_idx, s->port) });
	if (s->ssl)
		put_ssl(s->ssl, clean);
	s->ssl = NULL;
	if (G.hsc)
		hsc_wipe(&G.hsc[idx]);
	s->state = S_FREE;
	active_remove(idx);
	G.free_list[G.nfree++] = idx;
}

/* Events count in the window they happen in (a session started in the warm-up may finish in it). */
#define COUNT(field) do { G.all.field++; if (G.measuring) G.c.field++; } while (0)

static void fail(uint32_t idx, int code)
{
	struct sess *s = &G.sess[idx];
	COUNT(failures);
	if (G.measuring) {
		char name[64];
		if (code == FAIL_TIMEOUT) {
			snprintf(name, sizeof(name), "timeout");
		} else if (code == FAIL_NO_OBJECT) {
			snprintf(name, sizeof(name), "no wolfSSL object");
		} else if (code == FAIL_REC_SETUP) {
			snprintf(name, sizeof(name), "--blast: no keys (AEAD suites only)");
		} else if (code <= FAIL_OWN_CLIENT && code >= FAIL_OWN_CLIENT - HSC_WHY_FINISHED) {
			static const char *why[] = { "own client: set-up", "own client: protocol error",
						     "own client: the server gave no CID",
						     "own client: server Finished does not verify" };
			snprintf(name, sizeof(name), "%s", why[FAIL_OWN_CLIENT - code]);
		} else if (code == FAIL_ECHO_BAD) {
			snprintf(name, sizeof(name), "--blast: echo did not open or differs");
		} else if (code <= -200000 && code > -200256) {
			snprintf(name, sizeof(name), "alert %d (in a record)", -200000 - code);
		} else if (code == FAIL_STORM) {
			snprintf(name, sizeof(name), "retransmission storm (>%d datagrams)", HS_RX_MAX);
		} else if (!s->ssl) {
			snprintf(name, sizeof(name), "error %d", code);
		} else {
			WOLFSSL_ALERT_HISTORY h;
			if (code == FATAL_ERROR && wolfSSL_get_alert_history(s->ssl, &h) == WOLFSSL_SUCCESS &&
			    h.last_rx.code > 0) {
				/* wolfSSL has no name for RFC 4279's alert, the one a PSK server sends most */
				const char *d = h.last_rx.code == 115 ? "unknown_psk_identity" :
						wolfSSL_alert_desc_string_long(h.last_rx.code);
				if (d)
					snprintf(name, sizeof(name), "alert %s", d);
				else
					snprintf(name, sizeof(name), "alert %d", h.last_rx.code);
				code = -200000 - h.last_rx.code;
			} else {
				snprintf(name, sizeof(name), "%s", wolfSSL_ERR_reason_error_string((unsigned long)code));
			}
		}
		fail_count(&G.fails, code, name);
	}
	sess_end(idx, false);
}

static int fill_window(uint32_t idx, uint64_t now);

static void hold_write(uint32_t idx)
{
	struct sess *s = &G.sess[idx];
	struct held h;
	memset(&h, 0, sizeof(h));
	int ccm;
	if (rec_derive(s->ssl, h.kb, &ccm) != 0)
		return;
	h.flow = s->flow;
	h.addr_idx = s->addr_idx;
	h.port = s->port;
	h.ccm = (uint8_t)ccm;
	fwrite(&h, sizeof(h), 1, G.hold_out);
	memset(&h, 0, sizeof(h));
}

int sess_hold_open(const char *path)
{
	if (!(G.hold_out = fopen(path, "wb")))
		perror(path);
	return G.hold_out ? 0 : -1;
}

int sess_resume_load(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	rewind(f);
	G.n_held = (uint32_t)(size / (long)sizeof(struct held));
	G.held = calloc(G.n_held ? G.n_held : 1, sizeof(*G.held));
	int ok = G.held && fread(G.held, sizeof(*G.held), G.n_held, f) == G.n_held;
	fclose(f);
	return ok ? 0 : -1;
}

/* A held session continues in S_DATA (--blast records), on its old flow; the server's MAC is
 * today's (a restarted server may have another). */
int sess_resume_next(uint64_t now)
{
	if (G.next_held >= G.n_held || !G.nfree)
		return -1;
	const struct held *h = &G.held[G.next_held++];
	uint32_t idx = G.free_list[--G.nfree];
	struct sess *s = &G.sess[idx];
	memset(s, 0, sizeof(*s));
	s->flow = h->flow;
	memcpy(s->flow.local_mac, G.ifc.mac, 6);
	memcpy(s->flow.peer_mac, G.cfg.server_mac, 6);
	s->addr_idx = h->addr_idx;
	s->port = h->port;
	s->t_start = now;
	s->give_up = UINT64_MAX;
	s->state = S_DATA;
	s->dgrams_left = G.cfg.datagrams;
	COUNT(started);
	s->apos = G.nactive;
	G.active[G.nactive++] = idx;
	rte_hash_add_key_data(G.flows, &(uint64_t){ flow_key(s->addr_idx, s->port) },
			      (void *)(uintptr_t)idx);
	if (rec_setup_kb(&G.recs[idx], h->ccm, h->kb, 16) != 0) {
		fail(idx, FAIL_REC_SETUP);
		return 0;
	}
	fill_window(idx, now);
	return 0;
}

static void close_session(uint32_t idx)
{
	struct sess *s = &G.sess[idx];
	/* close_notify, without waiting for the server's: a UE that is done just goes */
	if (G.cfg.hold) {
		/* --hold: the UE goes quiet; the server keeps the session until its idle timeout */
		if (G.hold_out && s->ssl)
			hold_write(idx);
	} else if (own_records() && s->state == S_DATA) {
		/* wolfSSL's sequence numbers are behind ours: the alert must be our record */
		static const uint8_t close_notify[2] = { 1, 0 };
		uint8_t rec[2 + REC_MAX_OVERHEAD];
		int n = rec_seal(&G.recs[idx], 21, close_notify, 2, rec);
		if (n > 0)
			port_queue(&s->flow, rec, (uint16_t)n);
	} else {
		wolfSSL_shutdown(s->ssl);
	}
	sess_end(idx, true);
}

/* The next free source port on a UE address (and its flow key), or -1. */
static int pick_port(uint32_t addr_idx, uint16_t *port, uint64_t *key)
{
	for (int tries = 0; tries <= 64; tries++) {
		uint16_t p = G.next_port[addr_idx]++;
		if (G.next_port[addr_idx] < 1024)
			G.next_port[addr_idx] = 1024;
		*key = flow_key(addr_idx, p);
		if (rte_hash_lookup(G.flows, key) < 0) {
			*port = p;
			return 0;
		}
	}
	return -1;
}

/* The UE's NAT gave it a new source port: same session, same keys, a new flow. */
static int rebind(uint32_t idx)
{
	struct sess *s = &G.sess[idx];
	uint16_t p;
	uint64_t key;
	if (pick_port(s->addr_idx, &p, &key) != 0)
		return -1;
	rte_hash_del_key(G.flows, &(uint64_t){ flow_key(s->addr_idx, s->port) });
	rte_hash_add_key_data(G.flows, &key, (void *)(uintptr_t)idx);
	s->port = p;
	s->flow.local_port = p;
	COUNT(rebinds);
	return 0;
}

/* Sends datagrams until the window is full or none are left; returns -1 if the session ended. */
static int fill_window(uint32_t idx, uint64_t now)
{
	struct sess *s = &G.sess[idx];
	s->timer = now + (uint64_t)(G.cfg.dgram_timeout * (double)G.hz);
	while (s->dgrams_left && s->q_n < G.cfg.window) {
		uint32_t sent = G.cfg.datagrams - s->dgrams_left;
		if (G.cfg.rebind_every && sent && sent % G.cfg.rebind_every == 0 && s->rebound != sent) {
			/* echoes of what was sent from the old port would be lost: move once they are in */
			if (s->q_n)
				break;
			if (rebind(idx) != 0)
				break; /* no free port on this address now: try at the next record */
			s->rebound = sent;
		}
		if (own_records()) {
			uint8_t rec[1400 + REC_MAX_OVERHEAD];
			int n = rec_seal(&G.recs[idx], 23, G.payload, (uint16_t)G.cfg.size, rec);
			if (n < 0) {
				fail(idx, FAIL_REC_SETUP);
				return -1;
			}
			port_queue(&s->flow, rec, (uint16_t)n);
		} else {
			int r = wolfSSL_write(s->ssl, G.payload, (int)G.cfg.size);
			if (r != (int)G.cfg.size) {
				fail(idx, wolfSSL_get_error(s->ssl, r));
				return -1;
			}
		}
		s->q_sent[(s->q_head + s->q_n++) % DGRAM_WINDOW_MAX] = now;
		s->dgrams_left--;
		COUNT(dgram_sent);
	}
	if (!s->dgrams_left && !s->q_n) {
		close_session(idx);
		return -1;
	}
	return 0;
}

static void arm_retransmit(struct sess *s, uint64_t now)
{
	int t = wolfSSL_dtls_get_current_timeout(s->ssl);
	s->timer = now + (uint64_t)(t > 0 ? t : 1) * G.hz;
}

/* The handshake is over: start the datagrams or close. */
static void handshake_done(uint32_t idx, uint64_t now)
{
	struct sess *s = &G.sess[idx];
	COUNT(handshakes);
	if (G.cfg.resume && s->ssl && wolfSSL_session_reused(s->ssl)) {
		COUNT(resumed);
	} else if (G.cfg.resume && s->ssl && s->ue < G.pop.n) {
		/* a full handshake: the session the UE resumes next time */
		WOLFSSL_SESSION *x = wolfSSL_get1_session(s->ssl);
		if (x) {
			wolfSSL_SESSION_free(G.ue_sess[s->ue]);
			G.ue_sess[s->ue] = x;
		}
	}
	if (G.measuring)
		hist_add(&G.hs_lat, (now - s->t_start) * 1000000000ull / G.hz);
	if (G.cfg.native && G.hsc[idx].cid_negotiated)
		COUNT(cid_sessions);
	if (G.cfg.blast && !G.cfg.native && rec_setup(s->ssl, &G.recs[idx]) != 0) {
		fail(idx, FAIL_REC_SETUP);
		return;
	}
	if (G.cfg.native)
		s->state = S_DATA; /* our records from here on, the close_notify too */
	if (G.cfg.datagrams) {
		s->state = S_DATA;
		s->dgrams_left = G.cfg.datagrams;
		s->give_up = UINT64_MAX; /* from here on, each datagram has its own timeout */
		fill_window(idx, now);
	} else {
		close_session(idx);
	}
}

/* The own client's flight, now and on each timeout (1 s doubling, like wolfSSL's). */
static void own_send_flight(uint32_t idx, uint64_t now)
{
	struct sess *s = &G.sess[idx];
	uint16_t len;
	const uint8_t *f = hsc_flight(&G.hsc[idx], &len);
	port_queue(&s->flow, f, len);
	s->timer = now + (G.hz << s->rto_shift);
}

static void own_input(uint32_t idx, const uint8_t *data, uint16_t len, uint64_t now)
{
	struct sess *s = &G.sess[idx];
	switch (hsc_input(&G.hsc[idx], data, len, &G.recs[idx])) {
	case HSC_WANT:
		return;
	case HSC_SEND:
		s->rto_shift = 0;
		own_send_flight(idx, now);
		return;
	case HSC_DONE:
		handshake_done(idx, now);
		return;
	case HSC_ALERT:
		fail(idx, -200000 - G.hsc[idx].alert);
		return;
	case HSC_FAIL:
		fail(idx, FAIL_OWN_CLIENT - G.hsc[idx].why);
		return;
	}
}

/* Drives the handshake one step; on completion starts the datagrams or closes. */
static void handshake_step(uint32_t idx, uint64_t now)
{
	struct sess *s = &G.sess[idx];
	int r = wolfSSL_connect(s->ssl);
	if (r == WOLFSSL_SUCCESS) {
		handshake_done(idx, now);
		return;
	}
	int e = wolfSSL_get_error(s->ssl, r);
	if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) {
		arm_retransmit(s, now);
		return;
	}
	fail(idx, e);
}

int sess_start(uint64_t now, uint64_t t_sched)
{
	if (!G.nfree)
		return -1;
	uint32_t idx = G.free_list[--G.nfree];
	struct sess *s = &G.sess[idx];
	memset(s, 0, sizeof(*s));
	s->ue = G.next_ue++;
	if (G.next_ue >= G.pop.n)
		G.next_ue = 0;
	/* --hold: every session stays at the server, so spread them over all addresses (ports per
	 * address then grow slowly, and a source address limit at the server is not what is hit) */
	s->addr_idx = G.cfg.hold ? (uint32_t)(G.all.started % G.cfg.ue_addrs) : s->ue % G.cfg.ue_addrs;
	/* A fresh source port per session: the server may still hold the previous session's state
	 * (its close_notify can be lost), and a new 4-tuple is what a rebooted UE would use. */
	uint64_t key;
	if (pick_port(s->addr_idx, &s->port, &key) != 0) {
		G.free_list[G.nfree++] = idx;
		return -1;
	}
	s->flow.local.family = G.cfg.server_ip.family;
	ue_addr(s->addr_idx, &s->flow.local);
	s->flow.peer = G.cfg.server_ip;
	s->flow.local_port = s->port;
	s->flow.peer_port = G.cfg.server_port;
	memcpy(s->flow.local_mac, G.ifc.mac, 6);
	memcpy(s->flow.peer_mac, G.cfg.server_mac, 6);
	s->t_start = t_sched < now ? t_sched : now;
	s->give_up = now + (uint64_t)(G.cfg.timeout * (double)G.hz);
	s->state = S_HANDSHAKE;
	COUNT(started);
	s->apos = G.nactive;
	G.active[G.nactive++] = idx;
	rte_hash_add_key_data(G.flows, &key, (void *)(uintptr_t)idx);
	if (G.cfg.native) {
		const struct pop_ue *u = &G.pop.ue[s->ue % G.pop.n];
		uint8_t cr[32], cid[4];
		if (emse_random(cr, sizeof(cr)) != 0 || emse_random(cid, sizeof(cid)) != 0 ||
		    hsc_start(&G.hsc[idx], !strcmp(G.cfg.suite, "ccm8"), u->identity, u->id_len, u->key,
			      (enum hsc_cid)G.cfg.cid, cr, cid, sizeof(cid)) != 0) {
			fail(idx, FAIL_OWN_CLIENT);
			return 0;
		}
		own_send_flight(idx, now);
		return 0;
	}
	s->ssl = get_ssl();
	if (!s->ssl) {
		fail(idx, FAIL_NO_OBJECT);
		return 0;
	}
	wolfSSL_SetIOReadCtx(s->ssl, s);
	wolfSSL_SetIOWriteCtx(s->ssl, s);
	wolfSSL_dtls_set_using_nonblock(s->ssl, 1);
	if (G.cfg.blast || G.hold_out)
		rec_keep(s->ssl);
	if (G.cfg.resume && G.ue_sess[s->ue])
		wolfSSL_set_session(s->ssl, G.ue_sess[s->ue]);
	handshake_step(idx, now);
	return 0;
}

/* --blast: an echo is counted by its record type; the first of a session is opened and compared,
 * which proves the derived keys and the server's echo without paying for every open. */
static void blast_input(uint32_t idx, const uint8_t *data, uint16_t len, uint64_t now)
{
	struct sess *s = &G.sess[idx];
	if (len < REC_HDR)
		return;
	/* An alert comes in the clear (type 21) or, as tls12_cid, inside: a tls12_cid record that is
	 * not exactly an echo's length is opened to see which. */
	struct rec_keys *k = &G.recs[idx];
	uint8_t type = data[0];
	bool cid_other = type == REC_CT_CID &&
			 len != REC_HDR + k->cid_r_len + REC_EXPLICIT + G.cfg.size + 1 + k->tag_len;
	if (type == 21) {
		uint8_t pt[256];
		int n = len <= sizeof(pt) ? rec_open(k, data, len, pt, &type) : -1;
		fail(idx, n == 2 && type == 21 ? -200000 - pt[1] : FAIL_ECHO_BAD);
		return;
	}
	if (type != 23 && type != REC_CT_CID)
		return;
	if (!s->echo_checked || G.cfg.verify_all || cid_other) {
		uint8_t pt[1400 + REC_MAX_OVERHEAD];
		int n = len <= sizeof(pt) ? rec_open(k, data, len, pt, &type) : -1;
		s->echo_checked = true;
		if (n == 2 && type == 21) {
			fail(idx, -200000 - pt[1]);
			return;
		}
		if (type != 23 || n != (int)G.cfg.size || memcmp(pt, G.payload, G.cfg.size) != 0) {
			COUNT(echo_bad);
			fail(idx, FAIL_ECHO_BAD);
			return;
		}
		COUNT(echo_verified);
	}
	COUNT(dgram_echoed);
	if (s->q_n) {
		if (G.measuring)
			hist_add(&G.rtt, (now - s->q_sent[s->q_head]) * 1000000000ull / G.hz);
		s->q_head = (uint8_t)((s->q_head + 1) % DGRAM_WINDOW_MAX);
		s->q_n--;
	}
	fill_window(idx, now);
}

void sess_input(uint32_t idx, const uint8_t *data, uint16_t len, uint64_t now)
{
	struct sess *s = &G.sess[idx];
	/* a HelloVerifyRequest: record type 22, handshake type 3 */
	if (len > 13 && data[0] == 22 && data[13] == 3)
		COUNT(hvr);
	G.rx = data;
	G.rx_len = len;
	if (s->state == S_HANDSHAKE) {
		if (++s->hs_rx > HS_RX_MAX)
			fail(idx, FAIL_STORM);
		else if (G.cfg.native)
			own_input(idx, data, len, now);
		else
			handshake_step(idx, now);
	} else if (s->state == S_DATA && own_records()) {
		blast_input(idx, data, len, now);
	} else if (s->state == S_DATA) {
		uint8_t buf[2048];
		int r = wolfSSL_read(s->ssl, buf, sizeof(buf));
		if (r > 0) {
			COUNT(dgram_echoed);
			/* echoes come back in order on one path: the oldest outstanding one is this */
			if (s->q_n) {
				if (G.measuring)
					hist_add(&G.rtt, (now - s->q_sent[s->q_head]) * 1000000000ull / G.hz);
				s->q_head = (uint8_t)((s->q_head + 1) % DGRAM_WINDOW_MAX);
				s->q_n--;
			}
			fill_window(idx, now);
		} else {
			int e = wolfSSL_get_error(s->ssl, r);
			if (e != WOLFSSL_ERROR_WANT_READ)
				fail(idx, e);
		}
	}
	G.rx = NULL;
}

void sess_timers(uint64_t now)
{
	for (uint32_t i = 0; i < G.nactive;) {
		uint32_t idx = G.active[i];
		struct sess *s = &G.sess[idx];
		if (now >= s->give_up) {
			fail(idx, FAIL_TIMEOUT); /* removes G.active[i]: look at i again */
			continue;
		}
		if (now >= s->timer) {
			if (s->state == S_HANDSHAKE && G.cfg.native) {
				COUNT(retransmits);
				if (s->rto_shift < 6)
					s->rto_shift++;
				own_send_flight(idx, now);
			} else if (s->state == S_HANDSHAKE) {
				COUNT(retransmits);
				if (wolfSSL_dtls_got_timeout(s->ssl) < 0 &&
				    wolfSSL_get_error(s->ssl, -1) != WOLFSSL_ERROR_WANT_READ) {
					fail(idx, FAIL_TIMEOUT);
					continue;
				}
				arm_retransmit(s, now);
			} else {
				/* nothing echoed for dgram_timeout: what is outstanding is lost */
				G.all.dgram_lost += s->q_n;
				if (G.measuring)
					G.c.dgram_lost += s->q_n;
				s->q_n = 0;
				if (fill_window(idx, now) != 0)
					continue;
			}
		}
		i++;
	}
}

void sess_abort_all(void)
{
	while (G.nactive)
		sess_end(G.active[0], false);
}

void sess_cleanup(void)
{
	if (G.hold_out)
		fclose(G.hold_out);
	G.hold_out = NULL;
	if (G.held) {
		memset(G.held, 0, G.n_held * sizeof(*G.held));
		free(G.held);
	}
	G.held = NULL;
	for (size_t i = 0; G.ue_sess && i < G.pop.n; i++)
		wolfSSL_SESSION_free(G.ue_sess[i]);
	free(G.ue_sess);
	G.ue_sess = NULL;
	sess_abort_all();
	for (uint32_t i = 0; i < G.npool; i++)
		wolfSSL_free(G.ssl_pool[i]);
	G.npool = 0;
	wolfSSL_CTX_free(G.ctx);
	rte_hash_free(G.flows);
	free(G.sess);
	free(G.free_list);
	free(G.active);
	free(G.ssl_pool);
	free(G.next_port);
	free(G.payload);
	if (G.recs)
		for (uint32_t i = 0; i < G.cfg.concurrency; i++)
			rec_free(&G.recs[i]);
	free(G.recs);
	if (G.hsc)
		for (uint32_t i = 0; i < G.cfg.concurrency; i++)
			hsc_wipe(&G.hsc[i]);
	free(G.hsc);
}

int spoof_init(void)
{
	WOLFSSL *ssl = wolfSSL_new(G.ctx);
	if (!ssl)
		return -1;
	wolfSSL_SetIOReadCtx(ssl, NULL);
	wolfSSL_SetIOWriteCtx(ssl, NULL);
	wolfSSL_dtls_set_using_nonblock(ssl, 1);
	wolfSSL_connect(ssl);
	wolfSSL_free(ssl);
	/* record header 13, handshake header 12, client_version 2, then the 32-byte random */
	if (G.spoof_len < 13 + 12 + 2 + 32 + 1 || G.spoof_ch[0] != 22 || G.spoof_ch[13] != 1) {
		fprintf(stderr, "spoof: could not capture a ClientHello\n");
		return -1;
	}
	G.spoof_rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)rte_get_tsc_cycles();
	return 0;
}

static uint64_t xorshift(void)
{
	uint64_t x = G.spoof_rng;
	x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	return G.spoof_rng = x;
}

/* Sources are UE-network addresses past the population's, so no reply matches a session; a
 * fresh random per ClientHello so a server cannot answer from a cache. */
void spoof_send(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint64_t r = xorshift();
		struct emse_flow f;
		memset(&f, 0, sizeof(f));
		ue_addr(G.cfg.ue_addrs + (uint32_t)(r % 65536), &f.local);
		f.peer = G.cfg.server_ip;
		f.local_port = (uint16_t)(1024 + (r >> 16) % 64000);
		f.peer_port = G.cfg.server_port;
		memcpy(f.local_mac, G.ifc.mac, 6);
		memcpy(f.peer_mac, G.cfg.server_mac, 6);
		for (int k = 0; k < 32; k += 8) {
			uint64_t v = xorshift();
			memcpy(G.spoof_ch + 27 + k, &v, 8);
		}
		if (port_queue(&f, G.spoof_ch, G.spoof_len) == 0) {
			G.all.spoof_sent++;
			if (G.measuring)
				G.c.spoof_sent++;
		}
	}
}
