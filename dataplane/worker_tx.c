/* The worker's transmit side: frames are queued in a burst (worker_priv.h) and go out in
 * emse_worker_flush, with their checksums filled by the port or in software, or to the output
 * capture in a replay. send_datagram builds a new frame; wolfSSL's sends come through dtls_send. */
#include "worker_priv.h"

/* Replay: what would go on the wire goes to the output capture, stamped with the capture clock
 * (not the wall clock), so that a seeded replay is byte-identical from run to run. */
static void replay_write(struct emse_worker *w)
{
	uint64_t us = w->now / (w->rt->hz / 1000000);
	for (uint16_t i = 0; i < w->n_tx; i++) {
		struct rte_mbuf *m = w->tx[i];
		struct pcap_pkthdr h = { .caplen = rte_pktmbuf_data_len(m), .len = m->pkt_len };
		h.ts.tv_sec = (time_t)(us / 1000000);
		h.ts.tv_usec = (suseconds_t)(us % 1000000);
		pcap_dump(w->rt->replay_out, &h, rte_pktmbuf_mtod(m, const u_char *));
		w->stats.tx_pkts++;
		w->stats.tx_bytes += m->pkt_len;
	}
	rte_pktmbuf_free_bulk(w->tx, w->n_tx);
	w->n_tx = 0;
}

void emse_worker_flush(struct emse_worker *w)
{
	if (!w->n_tx)
		return;
	uint64_t ncsum = 0;
	if (w->tx_csum_hw) {
		for (uint16_t i = 0; i < w->n_tx; i++)
			if (w->tx_csum[i]) {
				emse_tx_csum_offload(w->tx[i]);
				ncsum++;
			}
		w->stats.tx_csum_hw += ncsum;
	} else {
		for (uint16_t i = 0; i < w->n_tx; i++)
			if (w->tx_csum[i]) {
				emse_net_fill_csum(rte_pktmbuf_mtod(w->tx[i], uint8_t *));
				ncsum++;
			}
		w->stats.tx_csum_sw += ncsum;
	}
	if (w->rt->replay_out) {
		replay_write(w);
		return;
	}
	uint64_t t = rte_rdtsc();
	uint16_t sent = rte_eth_tx_burst(w->port, w->queue, w->tx, w->n_tx);
	w->stats.port_tx_cycles += rte_rdtsc() - t;
	for (uint16_t i = 0; i < sent; i++)
		w->stats.tx_bytes += w->tx[i]->pkt_len;
	w->stats.tx_pkts += sent;
	if (sent < w->n_tx) {
		w->stats.dp_drop[EMSE_DP_TX_FULL] += w->n_tx - sent;
		rte_pktmbuf_free_bulk(&w->tx[sent], w->n_tx - sent);
	}
	w->n_tx = 0;
}

int send_datagram(struct emse_worker *w, const struct emse_flow *flow, const uint8_t *data,
		  size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->mp);
	if (!m) {
		w->stats.dp_drop[EMSE_DP_NO_MBUF]++;
		return -1;
	}
	uint16_t hl = emse_net_hdr_len(flow);
	uint8_t *p = len > (size_t)(UINT16_MAX - hl)
			     ? NULL
			     : (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + len));
	if (!p) {
		rte_pktmbuf_free(m);
		w->stats.dp_drop[EMSE_DP_APP_TOO_BIG]++;
		return -1;
	}
	memcpy(p + hl, data, len);
	emse_net_write_udp_nocsum(&w->rt->iface, flow, p, (uint16_t)len);
	tx_enqueue_csum(w, m, true);
	return 0;
}

/* wolfSSL's send callback lands here (dtls.c). */
int dtls_send(void *worker, struct emse_session *s, const uint8_t *data, size_t len)
{
	struct emse_worker *w = worker;
	/* What wolfSSL sends while it completes the handshake is our last flight: the compact
	 * session keeps it to answer a retransmitted client Finished (record.c). */
	if (w->capture) {
		if (w->flight_n < EMSE_FLIGHT_MAX_DG && w->flight_used + len <= sizeof(w->flight)) {
			memcpy(w->flight + w->flight_used, data, len);
			w->flight_len[w->flight_n++] = (uint16_t)len;
			w->flight_used += (uint16_t)len;
		} else {
			w->flight_ok = false;
		}
	}
	return send_datagram(w, &s->flow, data, len);
}
