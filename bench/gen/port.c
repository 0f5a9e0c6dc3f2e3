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

static void send_arp_request(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(G.mp);
	if (!m)
		return;
	uint8_t *f = (uint8_t *)rte_pktmbuf_append(m, 60);
	if (!f) {
		rte_pktmbuf_free(m);
		return;
	}
	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, G.ifc.mac, 6);
	f[12] = 0x08, f[13] = 0x06;
	f[14] = 0, f[15] = 1, f[16] = 0x08, f[17] = 0, f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;
	memcpy(f + 22, G.ifc.mac, 6);
	memcpy(f + 28, G.cfg.gen_ip.a, 4);
	memcpy(f + 38, G.cfg.server_ip.a, 4);
	G.tx[G.ntx++] = m;
	port_flush();
}

static uint16_t icmp6_csum(const uint8_t *src, const uint8_t *dst, const uint8_t *icmp, uint16_t len)
{
	uint32_t sum = 0;
	for (int i = 0; i < 16; i += 2)
		sum += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
	sum += len + 58u;
	for (uint16_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(icmp[i] << 8 | icmp[i + 1]);
	if (len & 1)
		sum += (uint32_t)icmp[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Neighbour Solicitation for the server, to its solicited-node multicast group. */
static void send_ns(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(G.mp);
	if (!m)
		return;
	uint8_t *f = (uint8_t *)rte_pktmbuf_append(m, 14 + 40 + 32);
	if (!f) {
		rte_pktmbuf_free(m);
		return;
	}
	const uint8_t *t = G.cfg.server_ip.a;
	memset(f, 0, 14 + 40 + 32);
	f[0] = 0x33, f[1] = 0x33, f[2] = 0xff, f[3] = t[13], f[4] = t[14], f[5] = t[15];
	memcpy(f + 6, G.ifc.mac, 6);
	f[12] = 0x86, f[13] = 0xdd;
	uint8_t *ip = f + 14, *icmp = ip + 40;
	ip[0] = 0x60;
	ip[5] = 32;  /* payload length */
	ip[6] = 58;  /* ICMPv6 */
	ip[7] = 255; /* RFC 4861: hop limit 255 or the answer is ignored */
	memcpy(ip + 8, G.cfg.gen_ip.a, 16);
	static const uint8_t snm[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };
	memcpy(ip + 24, snm, 13);
	memcpy(ip + 37, t + 13, 3);
	icmp[0] = 135;
	memcpy(icmp + 8, t, 16);
	icmp[24] = 1; /* source link-layer address option */
	icmp[25] = 1;
	memcpy(icmp + 26, G.ifc.mac, 6);
	uint16_t c = icmp6_csum(ip + 8, ip + 24, icmp, 32);
	icmp[2] = (uint8_t)(c >> 8), icmp[3] = (uint8_t)c;
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
			if (G.cfg.server_ip.family == 4)
				send_arp_request();
			else
				send_ns();
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
