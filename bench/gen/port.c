/* The generator's DPDK port: receive, classify with net.h, hand UDP payloads to the session
 * they belong to, answer ARP/ND for the UEs, and send what the sessions queue. The UEs'
 * addresses are too many for struct emse_iface's fixed list, so the one address a frame is for
 * is put into a spare slot of the interface just before classifying it. */
#include <stdio.h>
#include <string.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_mbuf.h>

#include "emse/net/forward.h"
#include "gen.h"

#define NB_MBUF 16383
#define RX_DESC 1024
#define TX_DESC 1024
#define BURST 32

static uint32_t addr_tail(const struct emse_addr *a)
{
	const uint8_t *p = a->family == 4 ? a->a : a->a + 12;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void ue_addr(uint32_t i, struct emse_addr *out)
{
	*out = G.cfg.ue_base;
	uint32_t v = addr_tail(&G.cfg.ue_base) + i;
	uint8_t *p = out->family == 4 ? out->a : out->a + 12;
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Spoofed sources sit in the 65536 addresses after the UEs' (session.c). */
#define SPOOF_ADDRS 65536u

int64_t ue_addr_index(const struct emse_addr *a)
{
	if (a->family != G.cfg.ue_base.family)
		return -1;
	if (a->family == 6 && memcmp(a->a, G.cfg.ue_base.a, 12) != 0)
		return -1;
	uint32_t d = addr_tail(a) - addr_tail(&G.cfg.ue_base);
	return d < G.cfg.ue_addrs + SPOOF_ADDRS ? (int64_t)d : -1;
}

int port_init(void)
{
	uint16_t pid = G.cfg.port_id;
	if (!rte_eth_dev_is_valid_port(pid)) {
		fprintf(stderr, "no DPDK port %u: give one with --vdev (net_memif, net_tap, ...)\n", pid);
		return -1;
	}
	G.mp = rte_pktmbuf_pool_create("gen_mbufs", NB_MBUF, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
	if (!G.mp) {
		fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	int rc = rte_eth_dev_configure(pid, 1, 1, &conf);
	uint16_t nrx = RX_DESC, ntx = TX_DESC;
	if (!rc)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nrx, &ntx);
	if (!rc)
		rc = rte_eth_rx_queue_setup(pid, 0, nrx, rte_eth_dev_socket_id(pid), NULL, G.mp);
	if (!rc)
		rc = rte_eth_tx_queue_setup(pid, 0, ntx, rte_eth_dev_socket_id(pid), NULL);
	if (!rc)
		rc = rte_eth_dev_start(pid);
	if (rc) {
		fprintf(stderr, "port %u set-up: %s\n", pid, rte_strerror(-rc));
		return -1;
	}
	struct rte_ether_addr mac;
	rte_eth_macaddr_get(pid, &mac);
	memset(&G.ifc, 0, sizeof(G.ifc));
	memcpy(G.ifc.mac, mac.addr_bytes, 6);
	/* slot 0: the gateway address; slot 1: filled per frame with the UE it is addressed to */
	if (G.cfg.gen_ip.family == 4) {
		memcpy(G.ifc.ip4[0], G.cfg.gen_ip.a, 4);
		G.ifc.n4 = 2;
	} else {
		memcpy(G.ifc.ip6[0], G.cfg.gen_ip.a, 16);
		G.ifc.n6 = 2;
	}
	return 0;
}

/* Puts the frame's target address into the interface's spare slot if it is a UE's. */
static void target_ue(const uint8_t *f, uint16_t len)
{
	if (len < 14)
		return;
	uint16_t et = (uint16_t)(f[12] << 8 | f[13]);
	struct emse_addr a = { 0 };
	if (et == 0x0800 && len >= 34) {
		a.family = 4;
		memcpy(a.a, f + 30, 4);
	} else if (et == 0x0806 && len >= 42) {
		a.family = 4;
		memcpy(a.a, f + 38, 4);
	} else if (et == 0x86dd && len >= 54) {
		a.family = 6;
		/* a Neighbour Solicitation names its target after the ICMPv6 header */
		if (f[20] == 58 && len >= 78 && f[54] == 135)
			memcpy(a.a, f + 62, 16);
		else
			memcpy(a.a, f + 38, 16);
	} else {
		return;
	}
	if (ue_addr_index(&a) < 0)
		return;
	if (a.family == 4)
		memcpy(G.ifc.ip4[1], a.a, 4);
	else
		memcpy(G.ifc.ip6[1], a.a, 16);
}

/* The server's MAC from its ARP reply or Neighbour Advertisement (net.c answers those, it never
 * learns from them, so the generator reads them itself). */
static bool learn_server_mac(const uint8_t *f, uint16_t len)
{
	if (G.cfg.server_mac_set)
		return false;
	if (G.cfg.server_ip.family == 4) {
		if (len < 42 || f[12] != 0x08 || f[13] != 0x06 || f[20] != 0 || f[21] != 2 ||
		    memcmp(f + 28, G.cfg.server_ip.a, 4) != 0)
			return false;
		memcpy(G.cfg.server_mac, f + 22, 6);
	} else {
		/* IPv6, next header ICMPv6, type 136, target = the server */
		if (len < 78 || f[12] != 0x86 || f[13] != 0xdd || f[20] != 58 || f[54] != 136 ||
		    memcmp(f + 62, G.cfg.server_ip.a, 16) != 0)
			return false;
		memcpy(G.cfg.server_mac, f + 6, 6);
	}
	G.cfg.server_mac_set = true;
	return true;
}

uint16_t port_poll(uint64_t now)
{
	struct rte_mbuf *pkts[BURST];
	uint16_t n = rte_eth_rx_burst(G.cfg.port_id, 0, pkts, BURST);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
		uint16_t len = rte_pktmbuf_data_len(m);
		G.all.rx_pkts++;
		if (learn_server_mac(f, len)) {
			rte_pktmbuf_free(m);
			continue;
		}
		target_ue(f, len);
		struct emse_flow flow;
		uint16_t off, plen;
		enum emse_drop_reason why;
		enum emse_net_verdict v = emse_net_classify(&G.ifc, f, &len, &flow, &off, &plen, &why);
		if (v == EMSE_NET_REPLY) {
			G.all.arp_nd_replies++;
			m->data_len = m->pkt_len = len;
			if (G.ntx == RTE_DIM(G.tx))
				port_flush();
			G.tx[G.ntx++] = m;
			continue;
		}
		if (v == EMSE_NET_UDP) {
			int64_t ai = ue_addr_index(&flow.local);
			void *data;
			uint64_t key = flow_key((uint32_t)ai, flow.local_port);
			if (ai >= (int64_t)G.cfg.ue_addrs)
				G.all.spoof_replies++;
			else if (ai >= 0 && rte_hash_lookup_data(G.flows, &key, &data) >= 0)
				sess_input((uint32_t)(uintptr_t)data, f + off, plen, now);
			else
				G.all.rx_unmatched++;
		} else {
			G.all.rx_drop_net++;
		}
		rte_pktmbuf_free(m);
	}
	return n;
}

void port_flush(void)
{
	uint16_t done = 0;
	/* a few tries: a virtual port's ring frees up within microseconds */
	for (int tries = 0; done < G.ntx && tries < 8; tries++)
		done += rte_eth_tx_burst(G.cfg.port_id, 0, G.tx + done, G.ntx - done);
	G.all.tx_pkts += done;
	if (done < G.ntx) {
		G.all.tx_drops += G.ntx - done;
		rte_pktmbuf_free_bulk(G.tx + done, G.ntx - done);
	}
	G.ntx = 0;
}

int port_queue(const struct emse_flow *flow, const uint8_t *payload, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(G.mp);
	if (!m) {
		G.all.tx_drops++;
		return -1;
	}
	uint16_t hl = emse_net_hdr_len(flow);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + len));
	if (!p) {
		rte_pktmbuf_free(m);
		G.all.tx_drops++;
		return -1;
	}
	memcpy(p + hl, payload, len);
	emse_net_write_udp(&G.ifc, flow, p, len);
	if (G.ntx == RTE_DIM(G.tx))
		port_flush();
	G.tx[G.ntx++] = m;
	return 0;
}

/* ARP request or Neighbour Solicitation for the server: the dataplane's own (forward.c). */
static void send_neigh_request(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(G.mp);
	uint8_t *f = m ? (uint8_t *)rte_pktmbuf_append(m, EMSE_NEIGH_REQ_MAX) : NULL;
	if (!f) {
		rte_pktmbuf_free(m);
		return;
	}
	uint16_t n = emse_neigh_request(f, G.ifc.mac, &G.cfg.gen_ip, &G.cfg.server_ip);
	rte_pktmbuf_trim(m, (uint16_t)(EMSE_NEIGH_REQ_MAX - n));
	G.tx[G.ntx++] = m;
	port_flush();
}

int port_resolve_server(void)
{
	if (G.cfg.server_mac_set)
		return 0;
	uint64_t end = rte_get_tsc_cycles() + (uint64_t)(G.cfg.arp_timeout * (double)G.hz), next = 0;
	while (!G.cfg.server_mac_set) {
		uint64_t now = rte_get_tsc_cycles();
		if (now > end || stop_requested()) {
			fprintf(stderr, "no %s answer from the server in %.0f s: give --server-mac\n",
				G.cfg.server_ip.family == 4 ? "ARP" : "Neighbour Discovery", G.cfg.arp_timeout);
			return -1;
		}
		if (now >= next) {
			send_neigh_request();
			next = now + G.hz / 5;
		}
		port_poll(now);
		port_flush();
	}
	return 0;
}

void port_close(void)
{
	port_flush();
	rte_eth_dev_stop(G.cfg.port_id);
	rte_eth_dev_close(G.cfg.port_id);
}
