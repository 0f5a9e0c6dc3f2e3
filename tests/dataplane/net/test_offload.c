/* dataplane/net/offload.c: the TX checksum offload set-up of an mbuf (lengths, flags, and a
 * pseudo-header seed that, completed the way a NIC completes it, gives the checksum
 * rte_ipv4_udptcp_cksum / rte_ipv6_udptcp_cksum compute over the whole packet), the RX verdict,
 * what is asked of a port for what it offers, and the symmetry of the RSS key. No EAL: the mbufs
 * are plain structs over a static buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_thash.h>
#include <rte_udp.h>

#include "emse/net/net.h"
#include "emse/net/offload.h"

static uint8_t buf[2048];
static struct rte_mbuf mb;

static struct emse_iface IFC = {.mac = {0x02, 0, 0, 0, 0, 1}, .hop_limit = 64};

/* A datagram as the worker writes it (emse_net_write_udp_nocsum) in mb, with the flags a received
 * frame leaves behind. */
static struct rte_mbuf *datagram(int family, uint16_t payload_len)
{
	struct emse_flow f;
	memset(&f, 0, sizeof(f));
	memset(buf, 0, sizeof(buf));
	memset(&mb, 0, sizeof(mb));
	f.peer.family = f.local.family = (uint8_t)family;
	if (family == 4) {
		memcpy(f.peer.a, (uint8_t[]){198, 18, 0, 2}, 4);
		memcpy(f.local.a, (uint8_t[]){198, 18, 0, 1}, 4);
	} else {
		memcpy(f.peer.a, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, [15] = 2}, 16);
		memcpy(f.local.a, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, [15] = 1}, 16);
	}
	f.peer_port = 40000;
	f.local_port = 5684;
	memcpy(f.peer_mac, (uint8_t[]){0x02, 0, 0, 0, 0, 2}, 6);
	memcpy(f.local_mac, IFC.mac, 6);
	mb.buf_addr = buf;
	mb.buf_len = sizeof(buf);
	mb.data_off = RTE_PKTMBUF_HEADROOM;
	mb.nb_segs = 1;
	uint8_t *p = buf + mb.data_off;
	uint16_t hl = emse_net_hdr_len(&f);
	for (uint16_t i = 0; i < payload_len; i++)
		p[hl + i] = (uint8_t)(i * 7 + 3);
	emse_net_write_udp_nocsum(&IFC, &f, p, payload_len);
	mb.data_len = (uint16_t)(hl + payload_len);
	mb.pkt_len = mb.data_len;
	mb.ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_IP_CKSUM_GOOD |
		      RTE_MBUF_F_RX_RSS_HASH;
	return &mb;
}

/* The test's own pseudo-header sum (RFC 768 / RFC 8200 8.1), folded, not complemented: what the
 * offload contract wants in the checksum field. */
static uint16_t ref_phdr(const uint8_t *addrs, size_t alen2, uint16_t ulen)
{
	uint32_t s = 0;
	for (size_t i = 0; i < alen2; i += 2)
		s += (uint32_t)(addrs[i] << 8 | addrs[i + 1]);
	s += 17 + ulen;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* What the NIC does with the seed: sums the L4 bytes from l2_len + l3_len on and stores the
 * complement (0 sent as 0xffff for UDP). Like DPDK's own sums, the value is in the order it is
 * stored in (rte_raw_cksum sums native words). */
static uint16_t nic_complete(struct rte_mbuf *m)
{
	uint8_t *l4 = rte_pktmbuf_mtod_offset(m, uint8_t *, m->l2_len + m->l3_len);
	uint16_t ulen = (uint16_t)(l4[4] << 8 | l4[5]);
	uint16_t c = (uint16_t)~rte_raw_cksum(l4, ulen);
	return c ? c : 0xffff;
}

static void check_v4(uint16_t payload_len)
{
	struct rte_mbuf *m = datagram(4, payload_len);
	emse_tx_csum_offload(m);
	assert_int_equal(m->l2_len, 14);
	assert_int_equal(m->l3_len, 20);
	/* the received frame's flags are gone: only what the port must do */
	assert_true(m->ol_flags ==
		    (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM));
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	assert_int_equal(ip->hdr_checksum, 0); /* the port fills it */
	uint16_t seed = rte_be_to_cpu_16(udp->dgram_cksum);
	assert_int_equal(seed, ref_phdr((const uint8_t *)&ip->src_addr, 8,
					rte_be_to_cpu_16(udp->dgram_len)));
	/* completed as a NIC does, the checksum is that of the whole packet */
	uint16_t nic = nic_complete(m);
	udp->dgram_cksum = 0;
	uint16_t full = rte_ipv4_udptcp_cksum(ip, udp);
	assert_int_equal(nic, full);
}

static void check_v6(uint16_t payload_len)
{
	struct rte_mbuf *m = datagram(6, payload_len);
	emse_tx_csum_offload(m);
	assert_int_equal(m->l2_len, 14);
	assert_int_equal(m->l3_len, 40);
	assert_true(m->ol_flags == (RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM));
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, 14);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t seed = rte_be_to_cpu_16(udp->dgram_cksum);
	assert_int_equal(seed, ref_phdr(ip->src_addr, 32, rte_be_to_cpu_16(udp->dgram_len)));
	uint16_t nic = nic_complete(m);
	udp->dgram_cksum = 0;
	uint16_t full = rte_ipv6_udptcp_cksum(ip, udp);
	assert_int_equal(nic, full);
}

static void test_tx_ipv4(void **state)
{
	(void)state;
	check_v4(0);
	check_v4(1);
	check_v4(29); /* an odd length: the last byte is the high half of a word */
	check_v4(120);
	check_v4(1400);
}

static void test_tx_ipv6(void **state)
{
	(void)state;
	check_v6(0);
	check_v6(29);
	check_v6(1400);
}

/* The seeded frame completed by the port equals the one the software path fills. */
static void test_tx_matches_software(void **state)
{
	(void)state;
	for (int fam = 4; fam <= 6; fam += 2) {
		static uint8_t sw[2048];
		struct rte_mbuf *m = datagram(fam, 77);
		memcpy(sw, rte_pktmbuf_mtod(m, uint8_t *), m->data_len);
		emse_net_fill_csum(sw);
		emse_tx_csum_offload(m);
		uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
		uint16_t c = nic_complete(m);
		uint8_t *l4 = f + m->l2_len + m->l3_len;
		memcpy(l4 + 6, &c, 2);
		if (fam == 4) { /* the port's IPv4 header checksum */
			uint16_t h = (uint16_t)~rte_raw_cksum(f + 14, 20);
			memcpy(f + 24, &h, 2);
		}
		assert_memory_equal(f, sw, m->data_len);
	}
}

/* How the buffer is attached survives the flags being rewritten. */
static void test_tx_keeps_attachment(void **state)
{
	(void)state;
	struct rte_mbuf *m = datagram(4, 10);
	m->ol_flags |= RTE_MBUF_F_EXTERNAL;
	emse_tx_csum_offload(m);
	assert_true(m->ol_flags & RTE_MBUF_F_EXTERNAL);
	assert_true(m->ol_flags & RTE_MBUF_F_TX_UDP_CKSUM);
	assert_false(m->ol_flags & RTE_MBUF_F_RX_RSS_HASH);
}

static void test_rx_verdict(void **state)
{
	(void)state;
	assert_int_equal(emse_rx_csum_verdict(RTE_MBUF_F_RX_L4_CKSUM_GOOD), EMSE_RX_CSUM_GOOD);
	assert_int_equal(emse_rx_csum_verdict(RTE_MBUF_F_RX_L4_CKSUM_BAD), EMSE_RX_CSUM_BAD);
	assert_int_equal(emse_rx_csum_verdict(RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN), EMSE_RX_CSUM_SW);
	/* DPDK: "not correct in the packet, but the integrity of the L4 data is verified" */
	assert_int_equal(emse_rx_csum_verdict(RTE_MBUF_F_RX_L4_CKSUM_NONE), EMSE_RX_CSUM_GOOD);
	assert_int_equal(emse_rx_csum_verdict(0), EMSE_RX_CSUM_SW);
	/* other flags do not change the verdict */
	assert_int_equal(emse_rx_csum_verdict(RTE_MBUF_F_RX_L4_CKSUM_GOOD |
					      RTE_MBUF_F_RX_IP_CKSUM_BAD | RTE_MBUF_F_RX_RSS_HASH),
			 EMSE_RX_CSUM_GOOD);
}

static void test_pick(void **state)
{
	(void)state;
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	struct emse_port_offloads o;

	/* a NIC with everything, two queues */
	memset(&info, 0, sizeof(info));
	info.rx_offload_capa = RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
			       RTE_ETH_RX_OFFLOAD_RSS_HASH;
	info.tx_offload_capa = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
			       RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	info.flow_type_rss_offloads = RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV4_TCP |
				      RTE_ETH_RSS_NONFRAG_IPV6_UDP;
	info.hash_key_size = 40;
	memset(&conf, 0, sizeof(conf));
	emse_offload_pick(&info, 2, true, &conf, &o);
	assert_true(o.rx_csum && o.tx_csum && o.rss);
	assert_true(conf.rxmode.offloads ==
		    (RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
		     RTE_ETH_RX_OFFLOAD_RSS_HASH));
	assert_true(conf.txmode.offloads ==
		    (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM));
	assert_int_equal(conf.rxmode.mq_mode, RTE_ETH_MQ_RX_RSS);
	assert_true(conf.rx_adv_conf.rss_conf.rss_hf ==
		    (RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP));
	assert_ptr_equal(conf.rx_adv_conf.rss_conf.rss_key, emse_rss_sym_key);
	assert_int_equal(conf.rx_adv_conf.rss_conf.rss_key_len, 40);

	/* offloads = off: checksums in software, RSS stays */
	memset(&conf, 0, sizeof(conf));
	emse_offload_pick(&info, 2, false, &conf, &o);
	assert_false(o.rx_csum || o.tx_csum);
	assert_true(o.rss);
	assert_false(conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
	assert_int_equal(conf.txmode.offloads, 0);

	/* one queue: nothing to spread */
	memset(&conf, 0, sizeof(conf));
	emse_offload_pick(&info, 1, true, &conf, &o);
	assert_false(o.rss);
	assert_int_equal(conf.rxmode.mq_mode, RTE_ETH_MQ_RX_NONE);

	/* TX UDP checksum without the IPv4 header's: software (the flags go together) */
	info.tx_offload_capa = RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	info.rx_offload_capa = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	memset(&conf, 0, sizeof(conf));
	emse_offload_pick(&info, 2, true, &conf, &o);
	assert_false(o.rx_csum || o.tx_csum);
	assert_int_equal(conf.txmode.offloads, 0);

	/* a key longer than ours: the port's own (not symmetric), not a short one */
	info.hash_key_size = 64;
	memset(&conf, 0, sizeof(conf));
	emse_offload_pick(&info, 2, true, &conf, &o);
	assert_true(o.rss);
	assert_null(conf.rx_adv_conf.rss_conf.rss_key);
	assert_int_equal(o.rss_key_len, 0);
}

/* The documented property: a flow and its reverse hash alike under the key (Toeplitz, as a NIC
 * computes it), which an ordinary key does not give. */
static void test_rss_key_symmetric(void **state)
{
	(void)state;
	static const uint8_t ms_key[40] = {
		0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
		0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
		0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
	uint32_t a = 0xc6120002, b = 0xc6120001;
	unsigned asym = 0;
	for (uint32_t i = 0; i < 64; i++) {
		uint32_t fwd[3] = {a + i * 977, b, (40000u + i) << 16 | 5684};
		uint32_t rev[3] = {b, a + i * 977, 5684u << 16 | (40000u + i)};
		assert_int_equal(rte_softrss(fwd, 3, emse_rss_sym_key),
				 rte_softrss(rev, 3, emse_rss_sym_key));
		uint32_t f6[9], r6[9];
		for (int k = 0; k < 4; k++) {
			f6[k] = 0x20010db8u ^ (uint32_t)k ^ (i << 8);
			f6[4 + k] = 0x20010db8u + (uint32_t)k;
		}
		f6[8] = fwd[2];
		memcpy(r6, f6 + 4, 16);
		memcpy(r6 + 4, f6, 16);
		r6[8] = rev[2];
		assert_int_equal(rte_softrss(f6, 9, emse_rss_sym_key),
				 rte_softrss(r6, 9, emse_rss_sym_key));
		asym += rte_softrss(fwd, 3, ms_key) != rte_softrss(rev, 3, ms_key);
	}
	assert_true(asym > 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_ipv4),
		cmocka_unit_test(test_tx_ipv6),
		cmocka_unit_test(test_tx_matches_software),
		cmocka_unit_test(test_tx_keeps_attachment),
		cmocka_unit_test(test_rx_verdict),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_rss_key_symmetric),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
