/* Caller role from a verified client certificate (include/emse/emks_server.h). The role lives in
 * the subject's OU so that the EMSE_Id can use the whole CN: SPEC.md allows EMSE_Ids of 64 octets,
 * which is also the X.509 upper bound of a CN, so a "emse:" prefix in the CN would not fit. */
#include "emse/emks_server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <stdio.h>
#include <string.h>

/* The UTF-8 value of the only entry with this NID: 1 found, 0 none, -1 several or unusable. */
static int only_entry(X509_NAME *name, int nid, char *out, size_t out_size)
{
	int idx = X509_NAME_get_index_by_NID(name, nid, -1);
	if (idx < 0)
		return 0;
	if (X509_NAME_get_index_by_NID(name, nid, idx) >= 0)
		return -1;
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	int rc = -1;
	if (n >= 1 && (size_t)n < out_size) {
		rc = 1;
		for (int i = 0; i < n; i++)
			if (utf8[i] < 0x20 || utf8[i] == 0x7f)
				rc = -1;
		memcpy(out, utf8, (size_t)n);
		out[n] = '\0';
	}
	OPENSSL_free(utf8);
	return rc;
}

/* 1 if any OU equals s. */
static int has_ou(X509_NAME *name, const char *s)
{
	for (int idx = -1; (idx = X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, idx)) >= 0;) {
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
		if ((size_t)ASN1_STRING_length(v) == strlen(s) &&
		    memcmp(ASN1_STRING_get0_data(v), s, strlen(s)) == 0)
			return 1;
	}
	return 0;
}

void emks_peer_from_cert(X509 *cert, const char *hss_cn, struct emks_peer *out)
{
	memset(out, 0, sizeof(*out));
	out->role = EMKS_PEER_NONE;
	X509_NAME *name = cert ? X509_get_subject_name(cert) : NULL;
	if (!name)
		return;
	char cn[E2M_EMSE_ID_MAX + 1];
	if (only_entry(name, NID_commonName, cn, sizeof(cn)) != 1)
		return;
	if (has_ou(name, "emse")) {
		out->role = EMKS_PEER_EMSE;
		/* register-emse binds this certificate, not any certificate with the same CN. */
		unsigned char md[32];
		unsigned md_len = 0;
		if (X509_digest(cert, EVP_sha256(), md, &md_len) == 1 && md_len == 32)
			for (unsigned i = 0; i < 32; i++)
				snprintf(out->cert_fp + 2 * i, 3, "%02x", md[i]);
		memcpy(out->emse_id, cn, sizeof(cn));
	} else if (hss_cn && strcmp(cn, hss_cn) == 0) {
		out->role = EMKS_PEER_HSS;
	}
}
