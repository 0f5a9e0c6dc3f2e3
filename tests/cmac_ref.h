/* The reference AES-128-CMAC for test_aescmac.c, test_cluster.c, fuzz_aescmac.c and
 * fuzz_cluster.c: OpenSSL's EVP_MAC "CMAC" with AES-128-CBC, an implementation independent of
 * dataplane/dtls/aescmac.c; and the cluster envelope's CMAC key by OpenSSL's HKDF. */
#ifndef EMSE_TEST_CMAC_REF_H
#define EMSE_TEST_CMAC_REF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

/* 0 and the tag, or -1 if OpenSSL failed. */
static inline int cmac_ref(const uint8_t key[16], const uint8_t *msg, size_t n, uint8_t tag[16])
{
	static EVP_MAC *mac;
	if (!mac && !(mac = EVP_MAC_fetch(NULL, "CMAC", NULL)))
		return -1;
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t tl = 0;
	int ok = c && EVP_MAC_init(c, key, 16, p) && EVP_MAC_update(c, msg, n) &&
		 EVP_MAC_final(c, tag, &tl, 16) && tl == 16;
	EVP_MAC_CTX_free(c);
	return ok ? 0 : -1;
}

/* include/emse/cluster.h's CMAC key: HKDF-Expand-SHA-256(PRK = the 32-octet key file, info, 16).
 * 0, or -1 if OpenSSL failed. */
static inline int cluster_cmac_key_ref(const uint8_t key[32], const char *info, uint8_t out[16])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, 32),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
		OSSL_PARAM_construct_end(),
	};
	int ok = c && EVP_KDF_derive(c, out, 16, p) == 1;
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

#endif
