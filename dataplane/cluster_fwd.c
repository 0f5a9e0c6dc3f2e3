/* Forwarding tls12_cid records between nodes: include/emse/cluster_fwd.h. */
#include "emse/cluster_fwd.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_mbuf.h>

#include "emse/persist.h"
#include "emse/dtls/record.h"
#include "emse/worker.h"
#include "worker_priv.h"

/* The peers' MACs as any worker learnt them: an ARP reply or NA reaches one queue only, so the
 * worker that got it publishes it for the others. One 64-bit word per peer (MAC << 8 | 1,
 * 0: unknown), stored and loaded whole, so no reader sees half of a MAC; no lock. */
static uint64_t learnt[EMSE_MAX_PEERS];

static uint64_t mac_pack(const uint8_t mac[6])
{
	uint64_t v = 0;
	for (int i = 0; i < 6; i++)
		v = v << 8 | mac[i];
	return v << 8 | 1;
}

int emse_cfwd_setup(struct emse_cfwd *c, const struct emse_config *cfg, uint64_t tsc, uint64_t hz,
		    char *err, size_t err_size)
{
	memset(c, 0, sizeof(*c));
	memset(c->peer_of, EMSE_CFWD_NO_PEER, sizeof(c->peer_of));
	/* The port must reach this file's hook, not a listener or a backend's answer. */
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].port == cfg->cluster_port) {
			snprintf(err, err_size, "[cluster] cluster_port: %u is listener %s's port",
				 cfg->cluster_port, cfg->listeners[i].name);
			return -1;
		}
	if (cfg->has_forward && cfg->cluster_port >= cfg->fwd_first &&
	    cfg->cluster_port - cfg->fwd_first < cfg->fwd_count) {
		snprintf(err, err_size, "[cluster] cluster_port: %u is in the forward port range",
			 cfg->cluster_port);
		return -1;
	}
	uint8_t key[EMSE_PERSIST_KEY_LEN];
	char why[256];
	/* the same file format as the persist key: 32 raw octets or 64 hex digits */
	if (emse_persist_key_load(cfg->cluster_key_file, key, why, sizeof(why)) != 0) {
		snprintf(err, err_size, "[cluster] key_file: %s", why);
		return -1;
	}
	_Static_assert(EMSE_PERSIST_KEY_LEN == EMSE_CLUSTER_KEY_LEN, "one key file format");
	emse_cluster_key_init(&c->key, key);
	explicit_bzero(key, sizeof(key));
	c->node_id = cfg->node_id;
	c->port = cfg->cluster_port;
	c->n_peers = cfg->n_peers;
	for (unsigned i = 0; i < cfg->n_peers; i++) {
		c->peers[i].addr = cfg->peers[i].addr;
		c->peers[i].port = cfg->peers[i].port;
		c->peer_of[cfg->peers[i].node_id] = (uint8_t)i;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	c->unix_ms0 = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	c->tsc0 = tsc;
	c->hz = hz ? hz : 1;
	memset(learnt, 0, sizeof(learnt));
	return 0;
}

void emse_cfwd_fini(struct emse_cfwd *c)
{
	emse_cluster_key_wipe(&c->key);
	explicit_bzero(c, sizeof(*c));
}

uint64_t emse_cfwd_now_ms(const struct emse_cfwd *c, uint64_t tsc)
{
	uint64_t d = tsc - c->tsc0; /* split so that d * 1000 cannot overflow */
	return c->unix_ms0 + d / c->hz * 1000 + d % c->hz * 1000 / c->hz;
}

/* Our address towards peer p: the first of the peer's family. */
static const uint8_t *our_addr(const struct emse_iface *ifc, uint8_t family)
{
	if (family == 4)
		return ifc->n4 ? ifc->ip4[0] : NULL;
	return ifc->n6 ? ifc->ip6[0] : NULL;
}

uint16_t emse_cfwd_frame_hdr(const struct emse_cfwd *c, unsigned p)
{
	struct emse_flow f = { .peer = c->peers[p].addr };
	return emse_net_hdr_len(&f);
}

uint16_t emse_cfwd_wrap(const struct emse_cfwd *c, const struct emse_iface *ifc, unsigned p,
			const uint8_t peer_mac[6], const struct emse_flow *ue, uint64_t now_ms,
			const uint8_t *dgram, size_t n, uint8_t *frame, size_t cap)
{
	const struct emse_cfwd_peer *pe = &c->peers[p];
	struct emse_flow of = { .peer = pe->addr, .peer_port = pe->port, .local_port = c->port };
	const uint8_t *src = our_addr(ifc, pe->addr.family);
	uint16_t hl = emse_net_hdr_len(&of);
	if (!src || cap < hl || n + EMSE_CLUSTER_OVERHEAD + hl > UINT16_MAX)
		return 0;
	of.local.family = pe->addr.family;
	memcpy(of.local.a, src, pe->addr.family == 4 ? 4 : 16);
	memcpy(of.peer_mac, peer_mac, 6);
	memcpy(of.local_mac, ifc->mac, 6);
	struct emse_cluster_meta m = { .node = c->node_id, .ts_ms = now_ms, .src = ue->peer,
				       .dst = ue->local, .sport = ue->peer_port,
				       .dport = ue->local_port };
	size_t el = emse_cluster_seal(&c->key, &m, dgram, n, frame + hl, cap - hl);
	if (!el)
		return 0;
	emse_net_write_udp_nocsum(ifc, &of, frame, (uint16_t)el);
	return (uint16_t)(hl + el);
}

enum emse_cfwd_verdict emse_cfwd_open(const struct emse_cfwd *c, const uint8_t *env, size_t n,
				      uint64_t now_ms, struct emse_cluster_meta *m,
				      const uint8_t **dgram, size_t *dlen)
{
	switch (emse_cluster_open(&c->key, env, n, now_ms, EMSE_CLUSTER_WINDOW_MS, m, dgram, dlen)) {
	case EMSE_CLUSTER_OK:
		break;
	case EMSE_CLUSTER_BAD_MAC:
		return EMSE_CFWD_BAD_AUTH;
	case EMSE_CLUSTER_STALE:
		return EMSE_CFWD_STALE;
	default:
		return EMSE_CFWD_MALFORMED;
	}
	/* authentic, so a peer's key holder wrote it; still, only a configured peer forwards */
	return emse_cfwd_peer(c, m->node) == EMSE_CFWD_NO_PEER ? EMSE_CFWD_MALFORMED : EMSE_CFWD_OK;
}

uint16_t emse_cfwd_ue_frame(const struct emse_iface *ifc, const struct emse_cluster_meta *m,
			    const struct emse_addr *local, uint16_t local_port,
			    const uint8_t via_mac[6], uint8_t *hdr, uint16_t dlen)
{
	/* written as a datagram "from" the UE "to" us: the flow's local side is the sender */
	struct emse_flow f = { .local = m->src, .peer = *local, .local_port = m->sport,
			       .peer_port = local_port };
	memcpy(f.local_mac, via_mac, 6);
	memcpy(f.peer_mac, ifc->mac, 6);
	uint16_t hl = emse_net_write_udp_nocsum(ifc, &f, hdr, dlen);
	if (local->family == 6) {
		emse_net_fill_csum(hdr);
	} else { /* the UDP checksum stays 0 (none): the records authenticate themselves */
		uint16_t s = emse_ip4_csum(hdr + EMSE_ETH_HLEN, 20);
		hdr[EMSE_ETH_HLEN + 10] = (uint8_t)(s >> 8);
		hdr[EMSE_ETH_HLEN + 11] = (uint8_t)s;
	}
	return hl;
}

/* ---- the worker's hooks ------------------------------------------------------------------------ */

bool emse_cfwd_peer_mac(const struct emse_cfwd *c, struct emse_fwd *nt, unsigned p,
			uint64_t now, uint8_t mac[6])
{
	bool ask;
	if (emse_neigh_lookup(nt, &c->peers[p].addr, mac, now, c->hz, &ask))
		return true;
	uint64_t v = __atomic_load_n(&learnt[p], __ATOMIC_RELAXED);
	for (int i = 5; i >= 0; i--)
		mac[i] = (uint8_t)(v >> (8 * (6 - i)));
	return v != 0;
}

bool emse_cfwd_resolve(const struct emse_cfwd *c, const struct emse_iface *ifc,
		       struct emse_fwd *nt, unsigned p, uint64_t now, uint64_t *asked_at,
		       struct emse_addr *from)
{
	const struct emse_addr *a = &c->peers[p].addr;
	const uint8_t *ours = our_addr(ifc, a->family);
	uint8_t mac[6];
	bool ask;
	if (!ours)
		return false;
	if (emse_neigh_lookup(nt, a, mac, now, c->hz, &ask)) {
		ask = now - *asked_at >= c->hz;
		uint64_t v = mac_pack(mac);
		if (__atomic_load_n(&learnt[p], __ATOMIC_RELAXED) != v)
			__atomic_store_n(&learnt[p], v, __ATOMIC_RELAXED);
	}
	if (!ask)
		return false;
	*asked_at = now;
	memset(from, 0, sizeof(*from));
	from->family = a->family;
	memcpy(from->a, ours, a->family == 4 ? 4 : 16);
	return true;
}

void emse_cfwd_tick(struct emse_worker *w)
{
	const struct emse_cfwd *c = w->rt->cluster;
	struct emse_addr from;
	for (unsigned p = 0; p < c->n_peers; p++)
		if (emse_cfwd_resolve(c, &w->rt->iface, &w->fwd, p, w->now, &w->cfwd.arp_at[p],
				      &from))
			emse_worker_ask_neigh(w, &from, &c->peers[p].addr);
}

void emse_cfwd_out(struct emse_worker *w, struct rte_mbuf *m, const struct emse_flow *flow,
		   uint16_t off, uint16_t plen, const uint8_t *udp)
{
	const struct emse_cfwd *c = w->rt->cluster;
	const uint8_t *pl = rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
	unsigned p = emse_cfwd_peer(c, pl[11]);
	uint8_t mac[6];
	if (p == EMSE_CFWD_NO_PEER) {
		w->stats.cluster_fwd_no_peer++;
		goto drop;
	}
	/* the owner moves the session to these addresses, which no record tag covers */
	if (csum_bad(w, flow, udp))
		goto drop;
	if (!emse_cfwd_peer_mac(c, &w->fwd, p, w->now, mac)) {
		w->stats.cluster_fwd_unresolved++;
		goto drop;
	}
	uint16_t hl = emse_cfwd_frame_hdr(c, p), front = (uint16_t)(hl + EMSE_CLUSTER_HDR);
	uint64_t now_ms = emse_cfwd_now_ms(c, w->now);
	/* sealed in place: the envelope's header goes where the UE's headers were */
	if (RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 &&
	    rte_pktmbuf_headroom(m) + off >= front &&
	    rte_pktmbuf_tailroom(m) + rte_pktmbuf_data_len(m) >= off + plen + EMSE_CLUSTER_MAC) {
		rte_pktmbuf_adj(m, off);
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - plen));
		uint8_t *fr = (uint8_t *)rte_pktmbuf_prepend(m, front);
		size_t cap = (size_t)front + plen + EMSE_CLUSTER_MAC;
		if (fr && rte_pktmbuf_append(m, EMSE_CLUSTER_MAC) &&
		    emse_cfwd_wrap(c, &w->rt->iface, p, mac, flow, now_ms, fr + front, plen, fr,
				   cap) == cap) {
			tx_enqueue_csum(w, m, true);
			w->stats.cluster_fwd_sent++;
			return;
		}
		w->stats.dp_drop[EMSE_DP_APP_TOO_BIG]++;
		goto drop;
	}
	struct rte_mbuf *o = rte_pktmbuf_alloc(w->mp);
	size_t cap = (size_t)front + plen + EMSE_CLUSTER_MAC;
	uint8_t *fr = o && cap <= UINT16_MAX ? (uint8_t *)rte_pktmbuf_append(o, (uint16_t)cap) : NULL;
	if (!fr || emse_cfwd_wrap(c, &w->rt->iface, p, mac, flow, now_ms, pl, plen, fr, cap) != cap) {
		rte_pktmbuf_free(o);
		w->stats.dp_drop[o ? EMSE_DP_APP_TOO_BIG : EMSE_DP_NO_MBUF]++;
		goto drop;
	}
	tx_enqueue_csum(w, o, true);
	w->stats.cluster_fwd_sent++;
drop:
	rte_pktmbuf_free(m);
}

/* Our listener of a family and port with Connection IDs, or -1. */
static int cid_listener(const struct emse_config *cfg, uint8_t family, uint16_t port)
{
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].cid && cfg->listeners[i].port == port &&
		    cfg->listeners[i].addr.family == family)
			return (int)i;
	return -1;
}

void emse_cfwd_in(struct emse_worker *w, struct rte_mbuf *m, uint16_t off, uint16_t plen,
		  bool may_steer)
{
	const struct emse_runtime *rt = w->rt;
	const struct emse_cfwd *c = rt->cluster;
	const uint8_t *env = rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
	/* Which worker holds the session, from the CID before the MAC: the owner checks the MAC,
	 * once; decode refuses a CID that is not ours. */
	int li = plen >= EMSE_CLUSTER_OVERHEAD
			 ? cid_listener(rt->cfg, env[3], (uint16_t)(env[50] << 8 | env[51]))
			 : -1;
	unsigned cl = li >= 0 ? rt->cfg->listeners[li].cid_length : 0, owner;
	uint32_t slot, check;
	const uint8_t *dg = env + EMSE_CLUSTER_HDR;
	if (li < 0) {
		w->stats.cluster_fwd_malformed++;
		goto drop;
	}
	if (!rt->cid || plen < EMSE_CLUSTER_OVERHEAD + EMSE_REC_HDR + cl ||
	    dg[0] != EMSE_REC_CT_CID ||
	    emse_cid_decode(rt->cid, cl, dg + 11, &owner, &slot, &check) != 0 ||
	    owner >= rt->n_workers) {
		w->stats.cluster_fwd_not_ours++;
		goto drop;
	}
	if (owner != w->id) {
		if (may_steer)
			emse_worker_steer(w, owner, m);
		else
			goto drop;
		return;
	}
	struct emse_cluster_meta meta;
	size_t dlen;
	switch (emse_cfwd_open(c, env, plen, emse_cfwd_now_ms(c, w->now), &meta, &dg, &dlen)) {
	case EMSE_CFWD_OK:
		break;
	case EMSE_CFWD_BAD_AUTH:
		w->stats.cluster_fwd_bad_auth++;
		goto drop;
	case EMSE_CFWD_STALE:
		w->stats.cluster_fwd_stale++;
		goto drop;
	default:
		w->stats.cluster_fwd_malformed++;
		goto drop;
	}
	/* The answer goes to the session's next hop towards the UE (its last datagram's source
	 * MAC: the balancer or gateway), not back to the peer that forwarded this one. */
	const struct emse_session *s = slot < w->sessions.max ? &w->sessions.s[slot] : NULL;
	const uint8_t *via = s && emse_session_established(s) && s->listener == li
				     ? s->flow.peer_mac
				     : rte_pktmbuf_mtod_offset(m, const uint8_t *, 6);
	uint8_t via_mac[6];
	memcpy(via_mac, via, 6); /* the frame's own source MAC is overwritten below */
	const struct emse_listener_conf *l = &rt->cfg->listeners[li];
	struct emse_flow probe = { .peer = l->addr };
	uint16_t hl = emse_net_hdr_len(&probe);
	uint8_t *hdr = (uint8_t *)dg - hl; /* inside the outer headers and the envelope's */
	emse_cfwd_ue_frame(&rt->iface, &meta, &l->addr, l->port, via_mac, hdr, (uint16_t)dlen);
	rte_pktmbuf_adj(m, (uint16_t)(hdr - rte_pktmbuf_mtod(m, uint8_t *)));
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - hl - dlen));
	m->ol_flags &= ~RTE_MBUF_F_RX_L4_CKSUM_MASK; /* the port's word was on the envelope */
	w->stats.cluster_fwd_received++;
	/* as if the UE had sent it here: the CID path finds and, if it is newer, moves the
	 * session; the inner CID is ours, so this cannot come back here */
	emse_worker_rx(w, m, false);
	return;
drop:
	rte_pktmbuf_free(m);
}
