/* TS 33.220 Annex B.2.0 KDF on OpenSSL's HMAC-SHA-256. */
#include <pthread.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "emse/e2m.h"

/* Fetching the HMAC implementation costs a provider lookup (more than the MAC itself for short
 * inputs), so it is done once per process; EVP_MAC objects are safe to share between threads. */
static EVP_MAC *hmac;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

int e2m_kdf(const uint8_t *key, size_t key_len, const uint8_t *fc, size_t fc_len,
	    const struct e2m_kdf_param *params, size_t n_params, uint8_t out[32])
{
	if (!key || !key_len || !fc || !out || (n_params && !params) || n_params > E2M_MAX_KDF_PARAMS)
		return -1;
	/* 0xFF announces the two-octet form, so a one-octet FC of 0xFF would collide with it. */
	if (!((fc_len == 1 && fc[0] != 0xFF) || (fc_len == 2 && fc[0] == 0xFF)))
		return -1;
	for (size_t i = 0; i < n_params; i++)
		if (params[i].len > 0xFFFF || (params[i].len && !params[i].data))
			return -1;

	if (pthread_once(&hmac_once, hmac_fetch) != 0 || !hmac)
		return -1;
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac);
	if (!ctx)
		return -1;
	char digest[] = "SHA256";
	OSSL_PARAM mac_params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	int ok = EVP_MAC_init(ctx, key, key_len, mac_params) == 1 &&
		 EVP_MAC_update(ctx, fc, fc_len) == 1;
	for (size_t i = 0; ok && i < n_params; i++) {
		uint8_t l[2] = {(uint8_t)(params[i].len >> 8), (uint8_t)params[i].len};
		ok = (params[i].len == 0 || EVP_MAC_update(ctx, params[i].data, params[i].len) == 1) &&
		     EVP_MAC_update(ctx, l, sizeof(l)) == 1;
	}
	size_t out_len = 0;
	ok = ok && EVP_MAC_final(ctx, out, &out_len, 32) == 1 && out_len == 32;
	/* EVP_MAC_CTX_free cleanses the keyed HMAC state. */
	EVP_MAC_CTX_free(ctx);
	if (!ok)
		e2m_wipe(out, 32);
	return ok ? 0 : -1;
}
