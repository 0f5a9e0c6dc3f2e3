/* Milenage f1, f1*, f2, f3, f4, f5, f5* and OPc (TS 35.206) on AES-128 from OpenSSL. */
#include <string.h>
#include <openssl/evp.h>

#include "emse/e2m.h"

/* One AES-128 key schedule for all the blocks of a call. */
struct aes {
	EVP_CIPHER_CTX *ctx;
};

static int aes_init(struct aes *a, const uint8_t k[16])
{
	a->ctx = EVP_CIPHER_CTX_new();
	if (!a->ctx)
		return -1;
	if (EVP_EncryptInit_ex(a->ctx, EVP_aes_128_ecb(), NULL, k, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(a->ctx, 0) != 1) {
		EVP_CIPHER_CTX_free(a->ctx);
		a->ctx = NULL;
		return -1;
	}
	return 0;
}

static int aes_block(struct aes *a, const uint8_t in[16], uint8_t out[16])
{
	int n = 0;
	return EVP_EncryptUpdate(a->ctx, out, &n, in, 16) == 1 && n == 16 ? 0 : -1;
}

/* EVP_CIPHER_CTX_free cleanses the key schedule. */
static void aes_done(struct aes *a)
{
	EVP_CIPHER_CTX_free(a->ctx);
	a->ctx = NULL;
}

int milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16])
{
	struct aes a;
	if (!k || !op || !opc || aes_init(&a, k) != 0)
		return -1;
	uint8_t t[16];
	int rc = aes_block(&a, op, t);
	aes_done(&a);
	for (int i = 0; i < 16; i++)
		opc[i] = (uint8_t)(t[i] ^ op[i]);
	e2m_wipe(t, sizeof(t));
	if (rc != 0)
		e2m_wipe(opc, 16);
	return rc;
}

/* OUT_i = E_K(rot(x XOR OPc, r_i) XOR c_i) XOR OPc: rot moves octets towards the most
 * significant end by r/8 positions; c_i has a single set bit in the last octet (0 for c1). */
static int out_block(struct aes *a, const uint8_t x[16], const uint8_t opc[16], unsigned r_octets,
		     uint8_t c_last, uint8_t out[16])
{
	uint8_t in[16], y[16];
	for (unsigned i = 0; i < 16; i++)
		y[i] = (uint8_t)(x[i] ^ opc[i]);
	for (unsigned i = 0; i < 16; i++)
		in[i] = y[(i + r_octets) % 16];
	in[15] ^= c_last;
	int rc = aes_block(a, in, out);
	for (unsigned i = 0; i < 16; i++)
		out[i] ^= opc[i];
	e2m_wipe(in, sizeof(in));
	e2m_wipe(y, sizeof(y));
	return rc;
}

/* TEMP = E_K(RAND XOR OPc), the value every function starts from. */
static int temp_block(struct aes *a, const uint8_t opc[16], const uint8_t rand[16], uint8_t temp[16])
{
	uint8_t in[16];
	for (int i = 0; i < 16; i++)
		in[i] = (uint8_t)(rand[i] ^ opc[i]);
	int rc = aes_block(a, in, temp);
	e2m_wipe(in, sizeof(in));
	return rc;
}

int milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		const uint8_t sqn[6], const uint8_t amf[2], uint8_t mac_a[8], uint8_t mac_s[8])
{
	if (!k || !opc || !rand || !sqn || !amf)
		return -1;
	struct aes a;
	if (aes_init(&a, k) != 0)
		return -1;
	uint8_t temp[16], in1[16], x[16], out1[16];
	memcpy(in1, sqn, 6);
	memcpy(in1 + 6, amf, 2);
	memcpy(in1 + 8, in1, 8);
	/* OUT1 = E_K(TEMP XOR rot(IN1 XOR OPc, r1) XOR c1) XOR OPc, r1 = 64 bits, c1 = 0. Unlike
	 * OUT2..OUT5, TEMP joins after the rotation, so out_block does not fit. */
	int rc = temp_block(&a, opc, rand, temp);
	if (rc == 0) {
		uint8_t y[16];
		for (int i = 0; i < 16; i++)
			y[i] = (uint8_t)(in1[i] ^ opc[i]);
		for (int i = 0; i < 16; i++)
			x[i] = (uint8_t)(temp[i] ^ y[(i + 8) % 16]);
		e2m_wipe(y, sizeof(y));
		rc = aes_block(&a, x, out1);
		for (int i = 0; i < 16; i++)
			out1[i] ^= opc[i];
	}
	aes_done(&a);
	if (rc == 0) {
		if (mac_a)
			memcpy(mac_a, out1, 8);
		if (mac_s)
			memcpy(mac_s, out1 + 8, 8);
	}
	e2m_wipe(temp, sizeof(temp));
	e2m_wipe(in1, sizeof(in1));
	e2m_wipe(x, sizeof(x));
	e2m_wipe(out1, sizeof(out1));
	return rc;
}

int milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		   uint8_t res[8], uint8_t ck[16], uint8_t ik[16], uint8_t ak[6], uint8_t ak_star[6])
{
	if (!k || !opc || !rand)
		return -1;
	struct aes a;
	if (aes_init(&a, k) != 0)
		return -1;
	uint8_t temp[16], out[16];
	int rc = temp_block(&a, opc, rand, temp);
	/* r2 = 0, c2 = 1: OUT2 gives AK (octets 0..5) and RES (octets 8..15). */
	if (rc == 0 && (res || ak)) {
		rc = out_block(&a, temp, opc, 0, 0x01, out);
		if (rc == 0 && res)
			memcpy(res, out + 8, 8);
		if (rc == 0 && ak)
			memcpy(ak, out, 6);
	}
	/* r3 = 32, c3 = 2: CK. */
	if (rc == 0 && ck) {
		rc = out_block(&a, temp, opc, 4, 0x02, out);
		if (rc == 0)
			memcpy(ck, out, 16);
	}
	/* r4 = 64, c4 = 4: IK. */
	if (rc == 0 && ik) {
		rc = out_block(&a, temp, opc, 8, 0x04, out);
		if (rc == 0)
			memcpy(ik, out, 16);
	}
	/* r5 = 96, c5 = 8: AK* (resynchronisation). */
	if (rc == 0 && ak_star) {
		rc = out_block(&a, temp, opc, 12, 0x08, out);
		if (rc == 0)
			memcpy(ak_star, out, 6);
	}
	aes_done(&a);
	e2m_wipe(temp, sizeof(temp));
	e2m_wipe(out, sizeof(out));
	if (rc != 0) {
		/* Never hand back a half-computed set of keys. */
		e2m_wipe(res, res ? 8 : 0);
		e2m_wipe(ck, ck ? 16 : 0);
		e2m_wipe(ik, ik ? 16 : 0);
		e2m_wipe(ak, ak ? 6 : 0);
		e2m_wipe(ak_star, ak_star ? 6 : 0);
	}
	return rc;
}
