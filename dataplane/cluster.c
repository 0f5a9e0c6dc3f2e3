/* The envelope between nodes: include/emse/cluster.h. */
#include "emse/cluster.h"

#include <string.h>

#include <openssl/crypto.h>

#include "emse/dtls/ct.h"
#include "emse/dtls/hmac256.h"

#define MAGIC0 0xE5
#define MAGIC1 0xC1
#define VERSION 2 /* 1: HMAC-SHA-256 under the key file itself */
#define TLS12_CID 25
#define DTLS_REC_HDR_NO_CID 11 /* type, version, epoch, sequence: the CID follows */

void emse_cluster_key_init(struct emse_cluster_key *k, const uint8_t *key)
{
	/* HKDF-Expand with one output block: T(1) = HMAC(PRK, info || 0x01) */
	struct emse_hmac256 h;
	uint8_t t[EMSE_HMAC256_LEN];
	const uint8_t one = 1;
	struct emse_part info[2] = {
		{EMSE_CLUSTER_KDF_INFO, sizeof(EMSE_CLUSTER_KDF_INFO) - 1}, {&one, 1},
	};
	emse_hmac256_key(&h, key, EMSE_CLUSTER_KEY_LEN);
	emse_hmac256(&h, info, 2, t);
	emse_cmac_init(&k->cmac, t);
	emse_hmac256_wipe(&h);
	OPENSSL_cleanse(t, sizeof(t));
}

void emse_cluster_key_wipe(struct emse_cluster_key *k)
{
	emse_cmac_wipe(&k->cmac);
}

int emse_cluster_node_of(const uint8_t *dgram, size_t n, unsigned cid_len)
{
	if (cid_len == 0 || n < DTLS_REC_HDR_NO_CID + cid_len + 2 || dgram[0] != TLS12_CID)
		return -1;
	return dgram[DTLS_REC_HDR_NO_CID];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

size_t emse_cluster_seal(const struct emse_cluster_key *k, const struct emse_cluster_meta *m,
			 const uint8_t *dgram, size_t n, uint8_t *out, size_t cap)
{
	if (n > 0xffff || cap < EMSE_CLUSTER_OVERHEAD + n || m->src.family != m->dst.family ||
	    (m->src.family != 4 && m->src.family != 6))
		return 0;
	uint8_t *p = out;
	p[0] = MAGIC0;
	p[1] = MAGIC1;
	p[2] = VERSION;
	p[3] = m->src.family;
	p[4] = m->node;
	p[5] = p[6] = p[7] = 0;
	for (int i = 0; i < 8; i++)
		p[8 + i] = (uint8_t)(m->ts_ms >> (56 - 8 * i));
	memcpy(p + 16, m->src.a, 16);
	put16(p + 32, m->sport);
	memcpy(p + 34, m->dst.a, 16);
	put16(p + 50, m->dport);
	put16(p + 52, (uint16_t)n);
	memmove(p + EMSE_CLUSTER_HDR, dgram, n); /* dgram may already sit there (in place) */
	emse_cmac(&k->cmac, out, EMSE_CLUSTER_HDR + n, out + EMSE_CLUSTER_HDR + n);
	return EMSE_CLUSTER_OVERHEAD + n;
}

/* An IPv4 address holds its 4 octets and zeros: one encoding per address, so an envelope means
 * one thing only. */
static int addr_ok(uint8_t family, const uint8_t *a)
{
	if (family == 6)
		return 1;
	for (int i = 4; i < 16; i++)
		if (a[i])
			return 0;
	return 1;
}

enum emse_cluster_verdict emse_cluster_open(const struct emse_cluster_key *k, const uint8_t *env,
					    size_t n, uint64_t now_ms, uint32_t window_ms,
					    struct emse_cluster_meta *m, const uint8_t **dgram,
					    size_t *dlen)
{
	if (n < EMSE_CLUSTER_OVERHEAD || env[0] != MAGIC0 || env[1] != MAGIC1 ||
	    env[2] != VERSION || (env[3] != 4 && env[3] != 6) || env[5] || env[6] || env[7])
		return EMSE_CLUSTER_MALFORMED;
	size_t len = get16(env + 52);
	if (len != n - EMSE_CLUSTER_OVERHEAD || !addr_ok(env[3], env + 16) ||
	    !addr_ok(env[3], env + 34))
		return EMSE_CLUSTER_MALFORMED;
	uint8_t t[EMSE_CLUSTER_MAC];
	emse_cmac(&k->cmac, env, EMSE_CLUSTER_HDR + len, t);
	int bad = CRYPTO_memcmp(t, env + EMSE_CLUSTER_HDR + len, EMSE_CLUSTER_MAC);
	memset(t, 0, sizeof(t));
	EMSE_CT_PUBLIC(bad); /* the verdict, not where the tags differ */
	if (bad)
		return EMSE_CLUSTER_BAD_MAC;
	uint64_t ts = 0;
	for (int i = 0; i < 8; i++)
		ts = ts << 8 | env[8 + i];
	if ((ts > now_ms ? ts - now_ms : now_ms - ts) > window_ms)
		return EMSE_CLUSTER_STALE;
	memset(m, 0, sizeof(*m));
	m->node = env[4];
	m->ts_ms = ts;
	m->src.family = m->dst.family = env[3];
	memcpy(m->src.a, env + 16, 16);
	m->sport = get16(env + 32);
	memcpy(m->dst.a, env + 34, 16);
	m->dport = get16(env + 50);
	*dgram = env + EMSE_CLUSTER_HDR;
	*dlen = len;
	return EMSE_CLUSTER_OK;
}
