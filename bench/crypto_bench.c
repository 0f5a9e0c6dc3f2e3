/* crypto-bench: what one core spends on the e2m key hierarchy, beside raw HMAC-SHA-256 of the
 * same input, so the cost of the KDF framing and of OpenSSL's per-call set-up is visible.
 * Rates are per CPU second of this thread (CLOCK_THREAD_CPUTIME_ID), so a busy shared machine
 * lowers them less than wall time would. Usage: crypto-bench [--seconds S] (default 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include "emse/e2m.h"

static volatile uint8_t sink;

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The inputs of chain[0] of the vectors: realistic sizes, fixed so runs compare. */
static const uint8_t K[16] = {0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
			      0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc};
static const uint8_t OPC[16] = {0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e,
				0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf};
static uint8_t rand_[16] = {0x23, 0x55, 0x3c, 0xbe, 0x96, 0x37, 0xa8, 0x9d,
			    0x21, 0x8a, 0xe6, 0x4d, 0xae, 0x47, 0xbf, 0x35};
static const uint8_t SQN[6] = {0xff, 0x9b, 0xb4, 0xd0, 0xb6, 0x07};
static const char EMSE_ID[] = "emse-1";
static const char IDENTITY[] = "e2m.ae47bf35@sensor-17@acme.example";

static uint8_t ck[16], ik[16], int_key[32], key[32];
/* What e2m_key MACs: FC(2) || EMSE_Id || L0 || "e2m_CIoT" || L1. */
static uint8_t msg[2 + sizeof(EMSE_ID) - 1 + 2 + 8 + 2];
static EVP_MAC *mac;
static EVP_MAC_CTX *mac_ctx;
static OSSL_PARAM mac_params[2];

static int op_hmac_oneshot(void)
{
	unsigned int len;
	int ok = HMAC(EVP_sha256(), int_key, 32, msg, sizeof(msg), key, &len) != NULL;
	sink ^= key[0];
	return ok ? 0 : -1;
}

/* The floor OpenSSL 3 offers: implementation fetched once, one context re-keyed per call. */
static int op_hmac_reused_ctx(void)
{
	size_t len;
	int ok = EVP_MAC_init(mac_ctx, int_key, 32, mac_params) == 1 &&
		 EVP_MAC_update(mac_ctx, msg, sizeof(msg)) == 1 &&
		 EVP_MAC_final(mac_ctx, key, &len, sizeof(key)) == 1;
	sink ^= key[0];
	return ok ? 0 : -1;
}

static int op_e2m_key(void)
{
	int rc = e2m_key(NULL, int_key, EMSE_ID, sizeof(EMSE_ID) - 1, key);
	sink ^= key[0];
	return rc;
}

static int op_e2m_int_key(void)
{
	int rc = e2m_int_key(NULL, ck, ik, key);
	sink ^= key[0];
	return rc;
}

static int op_f2345(void)
{
	uint8_t res[8], c[16], i[16], ak[6];
	/* A different RAND each time, as in real use. */
	rand_[0]++;
	int rc = milenage_f2345(K, OPC, rand_, res, c, i, ak, NULL);
	sink ^= c[0] ^ i[0] ^ res[0] ^ ak[0];
	e2m_wipe(c, sizeof(c));
	e2m_wipe(i, sizeof(i));
	return rc;
}

/* The HSS's whole job per authentication with e2m on. */
static int op_chain(void)
{
	uint8_t res[8], c[16], i[16], ak[6], sx[6], cp[16], ip[16], ik2[32];
	rand_[0]++;
	int rc = milenage_f2345(K, OPC, rand_, res, c, i, ak, NULL);
	for (int j = 0; j < 6; j++)
		sx[j] = (uint8_t)(SQN[j] ^ ak[j]);
	rc |= e2m_access_keys(NULL, c, i, sx, cp, ip);
	rc |= e2m_int_key(NULL, c, i, ik2);
	rc |= e2m_key(NULL, ik2, EMSE_ID, sizeof(EMSE_ID) - 1, key);
	sink ^= key[0] ^ cp[0];
	e2m_wipe(c, sizeof(c));
	e2m_wipe(i, sizeof(i));
	e2m_wipe(cp, sizeof(cp));
	e2m_wipe(ip, sizeof(ip));
	e2m_wipe(ik2, sizeof(ik2));
	return rc;
}

static int op_identity_parse(void)
{
	struct e2m_identity id;
	int rc = e2m_identity_parse((const uint8_t *)IDENTITY, sizeof(IDENTITY) - 1, &id);
	sink ^= (uint8_t)id.key_id;
	return rc;
}

#define ROUNDS 5

struct item {
	const char *name;
	int (*op)(void);
	double ns[ROUNDS];
	double median;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double measure(int (*op)(void), double seconds)
{
	unsigned long n = 0, batch = 256;
	double t0 = cpu_now(), t;
	do {
		for (unsigned long i = 0; i < batch; i++)
			if (op() != 0)
				return -1;
		n += batch;
		t = cpu_now() - t0;
	} while (t < seconds);
	return t * 1e9 / (double)n;
}

int main(int argc, char **argv)
{
	double seconds = 1.0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = atof(argv[++i]);
		} else {
			fprintf(stderr, "usage: crypto-bench [--seconds S]\n");
			return 2;
		}
	}
	if (!(seconds > 0))
		seconds = 1.0;

	size_t w = 0;
	msg[w++] = 0xff;
	msg[w++] = 0xe1;
	memcpy(msg + w, EMSE_ID, sizeof(EMSE_ID) - 1);
	w += sizeof(EMSE_ID) - 1;
	msg[w++] = 0;
	msg[w++] = sizeof(EMSE_ID) - 1;
	memcpy(msg + w, "e2m_CIoT", 8);
	w += 8;
	msg[w++] = 0;
	msg[w++] = 8;
	static char digest[] = "SHA256";
	mac_params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	mac_params[1] = OSSL_PARAM_construct_end();
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	mac_ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	if (!mac_ctx || milenage_f2345(K, OPC, rand_, NULL, ck, ik, NULL, NULL) != 0 ||
	    e2m_int_key(NULL, ck, ik, int_key) != 0) {
		fprintf(stderr, "crypto-bench: set-up failed\n");
		return 1;
	}
	/* The framing above must be exactly what e2m_key MACs, or the comparison is unfair. */
	uint8_t a[32];
	if (e2m_key(NULL, int_key, EMSE_ID, sizeof(EMSE_ID) - 1, a) != 0 || op_hmac_oneshot() != 0 ||
	    memcmp(a, key, 32) != 0) {
		fprintf(stderr, "crypto-bench: reference HMAC input differs from e2m_key's\n");
		return 1;
	}

	struct item items[] = {
		{.name = "HMAC-SHA-256, HMAC() one-shot", .op = op_hmac_oneshot},
		{.name = "HMAC-SHA-256, reused EVP_MAC_CTX", .op = op_hmac_reused_ctx},
		{.name = "e2m_key", .op = op_e2m_key},
		{.name = "e2m_int_key", .op = op_e2m_int_key},
		{.name = "Milenage f2345 (RES CK IK AK)", .op = op_f2345},
		{.name = "HSS chain (f2345+CK'IK'+int+key)", .op = op_chain},
		{.name = "PSK identity parse", .op = op_identity_parse},
	};
	size_t n = sizeof(items) / sizeof(items[0]);
	printf("crypto-bench: %s, %zu-octet HMAC input (= e2m_key's), %.1f s CPU per item, 1 thread\n",
	       OpenSSL_version(OPENSSL_VERSION), sizeof(msg), seconds);
	for (size_t i = 0; i < n; i++) /* warm caches and OpenSSL's lazy fetches */
		if (measure(items[i].op, 0.01) < 0) {
			fprintf(stderr, "crypto-bench: %s failed\n", items[i].name);
			return 1;
		}
	/* Rounds interleave the items, so a neighbour's burst on a shared machine hits them all
	 * alike; the median of the rounds is reported, the spread says how noisy the run was. */
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < n; i++)
			items[i].ns[r] = measure(items[i].op, seconds / ROUNDS);
	for (size_t i = 0; i < n; i++) {
		qsort(items[i].ns, ROUNDS, sizeof(double), cmp_double);
		items[i].median = items[i].ns[ROUNDS / 2];
	}
	printf("%-34s %12s %9s %10s %12s\n", "item", "ops/s/core", "ns/op", "spread", "x HMAC()");
	for (size_t i = 0; i < n; i++) {
		const struct item *it = &items[i];
		printf("%-34s %12.0f %9.0f %9.0f%% %12.2f\n", it->name, 1e9 / it->median, it->median,
		       100.0 * (it->ns[ROUNDS - 1] - it->ns[0]) / it->median,
		       it->median / items[0].median);
	}
	EVP_MAC_CTX_free(mac_ctx);
	EVP_MAC_free(mac);
	e2m_wipe(int_key, sizeof(int_key));
	e2m_wipe(key, sizeof(key));
	e2m_wipe(ck, sizeof(ck));
	e2m_wipe(ik, sizeof(ik));
	return 0;
}
