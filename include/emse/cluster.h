/* Forwarding between nodes (issue 15, docs/cluster.md "Forwarding between nodes"). A balancer that
 * cannot read a CID (cloud NLB, ECMP) may hand a tls12_cid record to the wrong node; that node
 * sends the datagram on, inside an envelope, to the node named in CID octet 0, which processes it
 * as if the UE had sent it there and answers the UE directly.
 *
 * Envelope (UDP payload on the cluster port), all integers big-endian:
 *
 *   0   magic 0xE5 0xC1, version 2, family (4 or 6)
 *   4   sender node_id, 3 zero octets
 *   8   timestamp, ms (8): an envelope older or newer than the window is refused, so a copy
 *       taken off the wire cannot be replayed later into another node; inside the window the
 *       DTLS replay window of the session protects the record itself
 *   16  UE source address (16, IPv4 in the first 4), UE source port (2)
 *   34  original destination (the listener the UE sent to) address (16), port (2)
 *   52  datagram length (2), then the datagram
 *   ... AES-128-CMAC (RFC 4493) over everything before it (16)
 *
 * The CMAC key is not the key file's 32 octets themselves but, made once at start-up,
 * HKDF-Expand-SHA-256 (RFC 5869 2.3) with the key file as PRK, info EMSE_CLUSTER_KDF_INFO and
 * L = 16, i.e. the first 16 octets of HMAC-SHA-256(key file, info || 0x01): a key for this one use,
 * so another use of the file's key later cannot meet it. Version 1 envelopes carried HMAC-SHA-256/16
 * under the file's key itself (about 1.6 times the CMAC's CPU for a 146-octet datagram, SHA-NI
 * against AES-NI); a node of either version refuses the other's envelopes as malformed (the
 * version octet, checked before any MAC).
 *
 * Pure: no DPDK, no allocation, no locks; the key is read-only once made (workers share it). */
#ifndef EMSE_CLUSTER_H
#define EMSE_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "emse/dtls/aescmac.h"
#include "emse/net/net.h"

#define EMSE_CLUSTER_KEY_LEN 32
#define EMSE_CLUSTER_HDR 54
#define EMSE_CLUSTER_MAC EMSE_CMAC_LEN
#define EMSE_CLUSTER_KDF_INFO "emse cluster envelope v2 AES-128-CMAC"
#define EMSE_CLUSTER_OVERHEAD (EMSE_CLUSTER_HDR + EMSE_CLUSTER_MAC)
#define EMSE_CLUSTER_WINDOW_MS 2000u /* clocks of the nodes agree to NTP precision, well below */

struct emse_cluster_key {
	struct emse_cmac_key cmac; /* secret */
};

/* What the envelope says about the UE's datagram. */
struct emse_cluster_meta {
	uint8_t node;                 /* the sender */
	uint64_t ts_ms;
	struct emse_addr src, dst;    /* same family */
	uint16_t sport, dport;        /* host order */
};

enum emse_cluster_verdict {
	EMSE_CLUSTER_OK = 0,
	EMSE_CLUSTER_MALFORMED,  /* short, bad magic/version/family/length, nonzero reserved */
	EMSE_CLUSTER_BAD_MAC,
	EMSE_CLUSTER_STALE,      /* authentic but outside the time window */
};

/* key: EMSE_CLUSTER_KEY_LEN bytes (the caller wipes its copy). */
void emse_cluster_key_init(struct emse_cluster_key *k, const uint8_t *key);
void emse_cluster_key_wipe(struct emse_cluster_key *k);

/* The node octet of a datagram if it is a tls12_cid record (content type 25) long enough to carry
 * a CID of cid_len octets, else -1. cid_len: the length our nodes issue (>= 1). */
int emse_cluster_node_of(const uint8_t *dgram, size_t n, unsigned cid_len);

/* Writes the envelope of dgram (n octets) into out. Returns its length, or 0 if cap is short,
 * n > 65535 or the families differ. */
size_t emse_cluster_seal(const struct emse_cluster_key *k, const struct emse_cluster_meta *m,
			 const uint8_t *dgram, size_t n, uint8_t *out, size_t cap);

/* Checks an envelope of n octets (MAC in constant time). On EMSE_CLUSTER_OK fills m and points
 * *dgram into env at the inner datagram of *dlen octets. */
enum emse_cluster_verdict emse_cluster_open(const struct emse_cluster_key *k, const uint8_t *env,
					    size_t n, uint64_t now_ms, uint32_t window_ms,
					    struct emse_cluster_meta *m, const uint8_t **dgram,
					    size_t *dlen);

#endif
