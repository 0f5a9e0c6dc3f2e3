/* The port's checksum offloads and RSS (include/emse/net/offload.h). */
#include <string.h>

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "emse/net/offload.h"

#define K 0x6d, 0x5a
const uint8_t emse_rss_sym_key[EMSE_RSS_KEY_LEN] = {
	K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K,
};
#undef K

void emse_offload_pick(const struct rte_eth_dev_info *info, unsigned n_queues, bool allow_csum,
		       struct rte_eth_conf *conf, struct emse_port_offloads *out)
{
	memset(out, 0, sizeof(*out));
	if (allow_csum && (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM)) {
		out->rx_csum = true;
		conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
		/* The IPv4 header is still summed in classify (20 bytes); asking costs nothing. */
		if (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
			conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	}
	/* Both or neither: an IPv4 frame sets RTE_MBUF_F_TX_IP_CKSUM with RTE_MBUF_F_TX_UDP_CKSUM. */
	const uint64_t tx = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	if (allow_csum && (info->tx_offload_capa & tx) == tx) {
		out->tx_csum = true;
		conf->txmode.offloads |= tx;
	}
	uint64_t hf = info->flow_type_rss_offloads & EMSE_RSS_HF;
	if (n_queues > 1 && hf) {
		out->rss = true;
		out->rss_hf = hf;
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf->rx_adv_conf.rss_conf.rss_hf = hf;
		/* A port that does not say its key size takes the common 40 bytes. */
		uint8_t klen = info->hash_key_size ? info->hash_key_size : 40;
		if (klen <= EMSE_RSS_KEY_LEN) {
			conf->rx_adv_conf.rss_conf.rss_key = (uint8_t *)(uintptr_t)emse_rss_sym_key;
			conf->rx_adv_conf.rss_conf.rss_key_len = klen;
			out->rss_key_len = klen;
		}
		/* The mbuf's hash says the port really hashed a datagram (worker.c trusts the
		 * queue it came on only then). */
		if (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH)
			conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
	}
}

void emse_tx_csum_offload(struct rte_mbuf *m)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	m->l2_len = RTE_ETHER_HDR_LEN;
	/* What is left of the received frame's flags means nothing on transmit; how the buffer is
	 * attached does. */
	uint64_t keep = m->ol_flags & (RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT);
	if (f[12] == 0x86 && f[13] == 0xdd) {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(f + RTE_ETHER_HDR_LEN);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		m->l3_len = sizeof(*ip);
		m->ol_flags = keep | RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
		udp->dgram_cksum = rte_ipv6_phdr_cksum(ip, m->ol_flags);
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		m->l3_len = sizeof(*ip);
		m->ol_flags = keep | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
		ip->hdr_checksum = 0;
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	}
}
