/* PROXY protocol v2 header (haproxy's proxy-protocol.txt, section 2.2) for forward mode: each
 * decrypted datagram goes to the listener's backend prefixed by this header, so the backend learns
 * the UE's address and port and which PSK identity the session authenticated with.
 *
 * Layout written (docs/record.md, "Forward mode: PROXY v2"):
 *   12 B signature 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A
 *   1 B  0x21: version 2, command PROXY
 *   1 B  family|protocol: 0x12 IPv4/DGRAM, 0x22 IPv6/DGRAM (0x11 / 0x21 for STREAM)
 *   2 B  length of what follows (addresses + TLVs), big endian
 *   addresses: IPv4 src(4) dst(4) src_port(2) dst_port(2); IPv6 src(16) dst(16) ports(2+2);
 *     source = the UE (flow->peer), destination = emse's listener address (flow->local)
 *   TLV 0xE0 (PP2_TYPE_MIN_CUSTOM): the PSK identity's app id, 1..255 raw bytes
 *   TLV 0xE1: the PSK identity's key id, 4 bytes big endian
 * so the identity "e2m.0badcafe@app.example" becomes E0 00 0B "app.example", E1 00 04 0B AD CA FE.
 *   TLV 0xE2, only on the first datagram after an RFC 9146 address change (docs/cid.md): the
 *     UE's previous address and port, 4 + 2 or 16 + 2 bytes (the header's source is the new one) */
#ifndef EMSE_PROXY_V2_H
#define EMSE_PROXY_V2_H

#include <stddef.h>
#include <stdint.h>

#include "emse/net/net.h"

#define EMSE_PP2_SIG_LEN 12
#define EMSE_PP2_TLV_APP_ID 0xE0
#define EMSE_PP2_TLV_KEY_ID 0xE1
#define EMSE_PP2_TLV_MOVED 0xE2
/* the largest header written: IPv6 addresses and a 255-byte app id */
#define EMSE_PP2_MAX (16 + 36 + 3 + 255 + 3 + 4)
/* what emse_proxy_v2_add_moved appends at most */
#define EMSE_PP2_MOVED_MAX (3 + 16 + 2)

extern const uint8_t emse_pp2_sig[EMSE_PP2_SIG_LEN];

enum emse_pp2_proto {
	EMSE_PP2_STREAM = 1,
	EMSE_PP2_DGRAM = 2,
};

/* Writes the header for one datagram of flow into out (cap bytes). Returns its length, or -1 if
 * cap is too small, the families of peer and local differ or are not 4/6, or app_id_len is 0. */
int emse_proxy_v2_write(uint8_t *out, size_t cap, const struct emse_flow *flow,
			enum emse_pp2_proto proto, const char *app_id, uint8_t app_id_len,
			uint32_t key_id);

/* Appends the 0xE2 TLV (prev: the flow the session had) to a header of len bytes written by
 * emse_proxy_v2_write, and fixes its length. Returns the new length, or -1 (cap, family). */
int emse_proxy_v2_add_moved(uint8_t *out, size_t len, size_t cap, const struct emse_flow *prev);

#endif
