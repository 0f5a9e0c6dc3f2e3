/* PROXY protocol v2 header writer (include/emse/net/proxy_v2.h). Called per forwarded datagram:
 * no allocation, a fixed-size write into the caller's buffer. */
#include <string.h>

#include "emse/net/proxy_v2.h"

const uint8_t emse_pp2_sig[EMSE_PP2_SIG_LEN] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
						0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

int emse_proxy_v2_write(uint8_t *out, size_t cap, const struct emse_flow *flow,
			enum emse_pp2_proto proto, const char *app_id, uint8_t app_id_len,
			uint32_t key_id)
{
	if (!flow || flow->peer.family != flow->local.family || app_id_len == 0 || !app_id ||
	    (proto != EMSE_PP2_DGRAM && proto != EMSE_PP2_STREAM))
		return -1;
	size_t alen;
	uint8_t fam;
	if (flow->peer.family == 4) {
		alen = 4;
		fam = 0x10;
	} else if (flow->peer.family == 6) {
		alen = 16;
		fam = 0x20;
	} else {
		return -1;
	}
	size_t body = 2 * alen + 4 + 3 + app_id_len + 3 + 4;
	if (cap < 16 + body)
		return -1;
	uint8_t *p = out;
	memcpy(p, emse_pp2_sig, EMSE_PP2_SIG_LEN);
	p += EMSE_PP2_SIG_LEN;
	*p++ = 0x21;
	*p++ = (uint8_t)(fam | proto);
	p = put16(p, (uint16_t)body);
	memcpy(p, flow->peer.a, alen);
	p += alen;
	memcpy(p, flow->local.a, alen);
	p += alen;
	p = put16(p, flow->peer_port);
	p = put16(p, flow->local_port);
	*p++ = EMSE_PP2_TLV_APP_ID;
	p = put16(p, app_id_len);
	memcpy(p, app_id, app_id_len);
	p += app_id_len;
	*p++ = EMSE_PP2_TLV_KEY_ID;
	p = put16(p, 4);
	*p++ = (uint8_t)(key_id >> 24);
	*p++ = (uint8_t)(key_id >> 16);
	*p++ = (uint8_t)(key_id >> 8);
	*p++ = (uint8_t)key_id;
	return (int)(p - out);
}

int emse_proxy_v2_add_moved(uint8_t *out, size_t len, size_t cap, const struct emse_flow *prev)
{
	size_t alen = prev->peer.family == 4 ? 4 : prev->peer.family == 6 ? 16 : 0;
	if (!alen || len < 16 || cap < len || cap - len < 3 + alen + 2)
		return -1;
	uint8_t *p = out + len;
	*p++ = EMSE_PP2_TLV_MOVED;
	p = put16(p, (uint16_t)(alen + 2));
	memcpy(p, prev->peer.a, alen);
	p = put16(p + alen, prev->peer_port);
	put16(out + 14, (uint16_t)(((size_t)out[14] << 8 | out[15]) + 3 + alen + 2));
	return (int)(p - out);
}
