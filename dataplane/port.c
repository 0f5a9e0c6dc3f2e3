#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>

#include "emse/net/offload.h"
#include "emse/port.h"
#include "emse/worker.h"

int emse_port_start(struct emse_runtime *rt, char *err, size_t err_size)
{
	const struct emse_config *c = rt->cfg;
	uint16_t port = c->port_id, nq = (uint16_t)rt->n_workers;
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	int rc;

	if (!rte_eth_dev_is_valid_port(port)) {
		snprintf(err, err_size, "[port] port_id: no DPDK port %u (%u available; add --vdev "
			 "or a NIC to the EAL arguments)", port, rte_eth_dev_count_avail());
		return -1;
	}
	if ((rc = rte_eth_dev_info_get(port, &info)) != 0) {
		snprintf(err, err_size, "port %u: dev_info: %s", port, rte_strerror(-rc));
		return -1;
	}
	if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
		snprintf(err, err_size, "port %u (%s) has %u rx / %u tx queues, %u workers need one "
			 "each: use fewer lcores or a port with more queues", port, info.driver_name,
			 info.max_rx_queues, info.max_tx_queues, nq);
		return -1;
	}
	memset(&conf, 0, sizeof(conf));
	struct emse_port_offloads ol;
	emse_offload_pick(&info, nq, !c->offloads_off, &conf, &ol);
	if (rt->replay && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP))
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
	if ((rc = rte_eth_dev_configure(port, nq, nq, &conf)) != 0) {
		snprintf(err, err_size, "port %u: configure: %s", port, rte_strerror(-rc));
		return -1;
	}
	uint16_t rxd = c->rx_desc, txd = c->tx_desc;
	rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	int socket = rte_eth_dev_socket_id(port);
	for (uint16_t q = 0; q < nq; q++) {
		if ((rc = rte_eth_rx_queue_setup(port, q, rxd, (unsigned)socket, NULL,
						 rt->workers[q]->mp)) != 0 ||
		    (rc = rte_eth_tx_queue_setup(port, q, txd, (unsigned)socket, NULL)) != 0) {
			snprintf(err, err_size, "port %u: queue %u: %s", port, q, rte_strerror(-rc));
			return -1;
		}
	}
	if ((rc = rte_eth_dev_start(port)) != 0) {
		snprintf(err, err_size, "port %u: start: %s", port, rte_strerror(-rc));
		return -1;
	}
	struct rte_ether_addr mac;
	rte_eth_macaddr_get(port, &mac);
	if (c->set_mac) {
		memcpy(mac.addr_bytes, c->mac, 6);
		/* A port that cannot take the MAC (net_pcap) still sees every frame in promiscuous
		 * mode; our L2 check then filters on the configured MAC. */
		if (rte_eth_dev_default_mac_addr_set(port, &mac) != 0 &&
		    rte_eth_promiscuous_enable(port) != 0) {
			snprintf(err, err_size, "[port] mac: the port neither takes a MAC nor "
				 "promiscuous mode");
			return -1;
		}
	}
	memcpy(rt->iface.mac, mac.addr_bytes, 6);
	for (unsigned i = 0; i < nq; i++) {
		rt->workers[i]->rx_csum_hw = ol.rx_csum;
		rt->workers[i]->tx_csum_hw = ol.tx_csum && !rt->replay_out; /* captures: final bytes */
		rt->workers[i]->rss = ol.rss;
	}
	printf("emse: port %u (%s, socket %d): rx checksum %s, tx checksum %s, RSS %s "
	       "(hash types 0x%" PRIx64 ", symmetric key %u bytes)\n", port, info.driver_name,
	       socket, ol.rx_csum ? "offloaded" : "software", ol.tx_csum ? "offloaded" : "software",
	       ol.rss ? "configured" : "off", ol.rss_hf, ol.rss_key_len);
	/* IPv6 ND and our own MAC are all we need; promiscuous mode would only add work. */
	rte_eth_allmulticast_enable(port);
	return 0;
}

void emse_port_stop(const struct emse_runtime *rt)
{
	rte_eth_dev_stop(rt->cfg->port_id);
	rte_eth_dev_close(rt->cfg->port_id);
}
