/* What the port does for us: IPv4/UDP checksums on receive and transmit, and RSS. Decided once per
 * port at start-up (emse_offload_pick) from what rte_eth_dev_info offers and [port] offloads; the
 * worker then holds one flag per direction and never looks at dev_info per packet. A port without
 * an offload keeps the software path (net.c), which is also what `offloads = off` forces. */
#ifndef EMSE_OFFLOAD_H
#define EMSE_OFFLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf_core.h>

struct rte_eth_dev_info;
struct rte_eth_conf;
struct rte_mbuf;

/* Toeplitz key of 0x6d5a repeated: the hash of (src, dst, sport, dport) equals that of
 * (dst, src, dport, sport), because the key repeats every 16 bits and the swapped fields sit at
 * offsets 32 bits (addresses) and 16 bits (ports) apart (Woo & Park, "Scalable TCP session
 * monitoring with symmetric receive-side scaling", 2012). 52 bytes: the longest key NICs take
 * (i40e/ice); shorter ones take a prefix. */
#define EMSE_RSS_KEY_LEN 52
extern const uint8_t emse_rss_sym_key[EMSE_RSS_KEY_LEN];

/* The RSS hash types emse asks for: UDP over IPv4/IPv6 by addresses and ports; plain IP for what
 * the NIC cannot hash by port. */
#define EMSE_RSS_HF (RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP | RTE_ETH_RSS_IP)

struct emse_port_offloads {
	bool rx_csum;    /* the port verifies UDP checksums: mbufs carry RTE_MBUF_F_RX_L4_CKSUM_* */
	bool tx_csum;    /* the port fills IPv4 header and UDP checksums */
	bool rss;        /* RTE_ETH_MQ_RX_RSS with the symmetric key */
	uint64_t rss_hf; /* what the port hashes, of EMSE_RSS_HF */
	uint8_t rss_key_len;
};

/* Fills conf's rx/tx offloads and RSS set-up for n_queues queues from info, and says in out what
 * was asked for. allow_csum false (offloads = off) leaves checksums in software; RSS is not an
 * offload of work but the port's spreading of flows, and stays. */
void emse_offload_pick(const struct rte_eth_dev_info *info, unsigned n_queues, bool allow_csum,
		       struct rte_eth_conf *conf, struct emse_port_offloads *out);

/* What the port said about a received UDP checksum. */
enum emse_rx_csum {
	EMSE_RX_CSUM_SW = 0, /* unknown (not checked): software decides, as without the offload */
	EMSE_RX_CSUM_GOOD,
	EMSE_RX_CSUM_BAD,
};

static inline enum emse_rx_csum emse_rx_csum_verdict(uint64_t ol_flags)
{
	switch (ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
	case RTE_MBUF_F_RX_L4_CKSUM_GOOD:
	/* "none": the field is not a full checksum (a virtio peer that left it to be filled, its
	 * data verified on the way): good, and a software sum would wrongly refuse it. */
	case RTE_MBUF_F_RX_L4_CKSUM_NONE:
		return EMSE_RX_CSUM_GOOD;
	case RTE_MBUF_F_RX_L4_CKSUM_BAD:
		return EMSE_RX_CSUM_BAD;
	default:
		return EMSE_RX_CSUM_SW;
	}
}

/* Prepares a frame written by emse_net_write_udp_nocsum (checksum fields zero) for the port's
 * checksum offload: l2_len, l3_len, the TX flags, and the UDP checksum field seeded with the
 * pseudo-header sum as the offload contract asks (rte_ipv4_phdr_cksum / rte_ipv6_phdr_cksum). */
void emse_tx_csum_offload(struct rte_mbuf *m);

#endif
