/* The e2m key chain of SPEC.md sections 1-2: CK'/IK', e2m_int_key, key_id, e2m_key. */
#include <string.h>

#include <openssl/sha.h>

#include "emse/e2m.h"

void e2m_params_default(struct e2m_params *p)
{
	memset(p, 0, sizeof(*p));
	p->fc_int_key[0] = 0xFF;
	p->fc_int_key[1] = 0xE0;
	p->fc_e2m_key[0] = 0xFF;
	p->fc_e2m_key[1] = 0xE1;
	p->fc_access[0] = 0xFF;
	p->fc_access[1] = 0xE2;
	p->fc_len = 2;
	memcpy(p->label, "e2m_CIoT", sizeof("e2m_CIoT"));
	memcpy(p->access_label, "e2m_access", sizeof("e2m_access"));
}

/* A settings struct filled by hand may lack the terminator; never read past the array. */
static int label_len(const char *label, size_t size, size_t *len)
{
	const char *nul = memchr(label, '\0', size);
	if (!nul)
		return -1;
	*len = (size_t)(nul - label);
	return 0;
}

static const struct e2m_params *params_or_default(const struct e2m_params *p,
						  struct e2m_params *def)
{
	if (p)
		return p;
	e2m_params_default(def);
	return def;
}

int e2m_emse_id_check(const char *emse_id, size_t len)
{
	if (!emse_id || len < 1 || len > E2M_EMSE_ID_MAX)
		return -1;
	return e2m_printable_utf8((const uint8_t *)emse_id, len) ? 0 : -1;
}

int e2m_access_keys(const struct e2m_params *p, const uint8_t ck[16], const uint8_t ik[16],
		    const uint8_t sqn_xor_ak[6], uint8_t ck_prime[16], uint8_t ik_prime[16])
{
	struct e2m_params def;
	p = params_or_default(p, &def);
	size_t llen;
	if (!ck || !ik || !sqn_xor_ak || !ck_prime || !ik_prime ||
	    label_len(p->access_label, sizeof(p->access_label), &llen) != 0)
		return -1;
	uint8_t key[32], out[32];
	memcpy(key, ck, 16);
	memcpy(key + 16, ik, 16);
	const struct e2m_kdf_param kp[] = {
		{(const uint8_t *)p->access_label, llen},
		{sqn_xor_ak, 6},
	};
	int rc = e2m_kdf(key, sizeof(key), p->fc_access, p->fc_len, kp, 2, out);
	if (rc == 0) {
		memcpy(ck_prime, out, 16);
		memcpy(ik_prime, out + 16, 16);
	}
	e2m_wipe(key, sizeof(key));
	e2m_wipe(out, sizeof(out));
	return rc;
}

int e2m_int_key(const struct e2m_params *p, const uint8_t ck[16], const uint8_t ik[16],
		uint8_t int_key[E2M_KEY_LEN])
{
	struct e2m_params def;
	p = params_or_default(p, &def);
	size_t llen;
	if (!ck || !ik || !int_key || label_len(p->label, sizeof(p->label), &llen) != 0)
		return -1;
	uint8_t key[32];
	memcpy(key, ck, 16);
	memcpy(key + 16, ik, 16);
	const struct e2m_kdf_param kp[] = {{(const uint8_t *)p->label, llen}};
	int rc = e2m_kdf(key, sizeof(key), p->fc_int_key, p->fc_len, kp, 1, int_key);
	e2m_wipe(key, sizeof(key));
	return rc;
}

uint32_t e2m_key_id(const uint8_t rand[16])
{
	return (uint32_t)rand[12] << 24 | (uint32_t)rand[13] << 16 | (uint32_t)rand[14] << 8 |
	       (uint32_t)rand[15];
}

uint32_t e2m_key_id_hash(const uint8_t int_key[E2M_KEY_LEN])
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	SHA256(int_key, E2M_KEY_LEN, md);
	uint32_t id = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 |
		      (uint32_t)md[3];
	/* The digest is a public value once truncated, but the rest of it is not ours to leave behind. */
	e2m_wipe(md, sizeof(md));
	return id;
}

int e2m_key(const struct e2m_params *p, const uint8_t int_key[E2M_KEY_LEN], const char *emse_id,
	    size_t emse_id_len, uint8_t key[E2M_KEY_LEN])
{
	struct e2m_params def;
	p = params_or_default(p, &def);
	size_t llen;
	if (!int_key || !key || e2m_emse_id_check(emse_id, emse_id_len) != 0 ||
	    label_len(p->label, sizeof(p->label), &llen) != 0)
		return -1;
	const struct e2m_kdf_param kp[] = {
		{(const uint8_t *)emse_id, emse_id_len},
		{(const uint8_t *)p->label, llen},
	};
	return e2m_kdf(int_key, E2M_KEY_LEN, p->fc_e2m_key, p->fc_len, kp, 2, key);
}
