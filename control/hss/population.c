/* The UE population file of the HSS simulator (format in include/emse/hss.h). */
#include "emse/hss.h"
#include "emse/emks_api.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hex16(const char *s, uint8_t out[16])
{
	if (strlen(s) != 32)
		return -1;
	for (int i = 0; i < 16; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* Splits a comma list into fixed slots; each element 1..max printable octets, so an empty element
 * (",," or a leading or trailing comma) is an error rather than skipped. */
static int split_list(char *s, char *slots, size_t stride, size_t max_len, size_t max_n, size_t *n)
{
	size_t count = 0;
	for (char *tok = s, *next; tok; tok = next) {
		char *comma = strchr(tok, ',');
		next = comma ? comma + 1 : NULL;
		if (comma)
			*comma = '\0';
		size_t len = strlen(tok);
		if (count == max_n || len < 1 || len > max_len)
			return -1;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)tok[i] < 0x21 || (unsigned char)tok[i] == 0x7f)
				return -1;
		memcpy(slots + count * stride, tok, len + 1);
		count++;
	}
	*n = count;
	return 0;
}

int hss_population_parse_line(const char *line, struct hss_ue *out, char *err, size_t err_len)
{
	char buf[2048];
	size_t len = strlen(line);
	if (len >= sizeof(buf)) {
		snprintf(err, err_len, "line too long");
		return -1;
	}
	memcpy(buf, line, len + 1);
	char *f[7];
	int nf = 0;
	for (char *save = NULL, *tok = strtok_r(buf, " \t\r\n", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (nf == 0 && tok[0] == '#')
			break;
		if (nf == 7)
			break;
		f[nf++] = tok;
	}
	int rc = -1;
	memset(out, 0, sizeof(*out));
	if (nf == 0)
		rc = 0;
	else if (nf != 5 && nf != 6)
		snprintf(err, err_len,
			 "need 5 or 6 fields: imsi k opc app_id[,...] emse_id[,...] [rand|hash]");
	else if (nf == 6 && strcmp(f[5], "rand") != 0 && strcmp(f[5], "hash") != 0)
		snprintf(err, err_len, "key id mode: need rand or hash");
	else if (!emks_valid_imsi(f[0]))
		snprintf(err, err_len, "imsi: need 5..15 digits");
	else if (hex16(f[1], out->k) != 0)
		snprintf(err, err_len, "k: need 32 hex digits");
	else if (hex16(f[2], out->opc) != 0)
		snprintf(err, err_len, "opc: need 32 hex digits");
	else if (split_list(f[3], &out->app_ids[0][0], sizeof(out->app_ids[0]), E2M_APP_ID_MAX,
			    HSS_APP_IDS_MAX, &out->n_app) != 0)
		snprintf(err, err_len, "app ids: need 1..%d ids of 1..%d printable octets",
			 HSS_APP_IDS_MAX, E2M_APP_ID_MAX);
	else if (split_list(f[4], &out->emse_ids[0][0], sizeof(out->emse_ids[0]), E2M_EMSE_ID_MAX,
			    HSS_EMSE_IDS_MAX, &out->n_emse) != 0)
		snprintf(err, err_len, "EMSE ids: need 1..%d ids of 1..%d printable octets",
			 HSS_EMSE_IDS_MAX, E2M_EMSE_ID_MAX);
	else {
		strcpy(out->imsi, f[0]);
		out->key_id_mode = nf == 6 && strcmp(f[5], "hash") == 0 ? EMKS_KEY_ID_HASH
									 : EMKS_KEY_ID_RAND;
		rc = 1;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc < 0)
		OPENSSL_cleanse(out, sizeof(*out));
	return rc;
}

void hss_population_free(struct hss_ue *ues, size_t n)
{
	if (!ues)
		return;
	OPENSSL_cleanse(ues, n * sizeof(*ues));
	free(ues);
}

int hss_population_load(const char *path, struct hss_ue **out, size_t *n, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, err_len, "cannot open %s", path);
		return -1;
	}
	struct hss_ue *ues = NULL;
	size_t count = 0, cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	unsigned lineno = 0;
	int rc = 0;
	while (getline(&line, &lcap, f) >= 0) {
		lineno++;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct hss_ue *nu = calloc(ncap, sizeof(*nu));
			if (!nu) {
				snprintf(err, err_len, "out of memory");
				rc = -1;
				break;
			}
			if (ues) {
				memcpy(nu, ues, count * sizeof(*ues));
				hss_population_free(ues, cap);
			}
			ues = nu;
			cap = ncap;
		}
		char why[128];
		int r = hss_population_parse_line(line, &ues[count], why, sizeof(why));
		if (r < 0) {
			snprintf(err, err_len, "%s line %u: %s", path, lineno, why);
			rc = -1;
			break;
		}
		count += (size_t)r;
	}
	if (line) {
		OPENSSL_cleanse(line, lcap);
		free(line);
	}
	fclose(f);
	if (rc != 0) {
		hss_population_free(ues, cap);
		return -1;
	}
	*out = ues;
	*n = count;
	return 0;
}
