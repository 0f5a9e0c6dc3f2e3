/* bench-floor: the crypto a DTLS 1.2 PSK server cannot avoid in one full handshake with a
 * cookie, done back to back with the primitives emse uses (SHA-256 and HMAC from keyed states,
 * hmac256.h; AES through record.c), so the server's measured cost can be read as "floor +
 * everything else". Per handshake:
 *   2 cookie HMACs (the HelloVerifyRequest for ClientHello 1, the check of ClientHello 2),
 *   the transcript SHA-256 (~320 B of handshake messages, two digests taken),
 *   PRF (P_SHA256): extended master secret (48 B), key block (40 B), client and server Finished,
 *   one record seal (our Finished) and one open (the client's), AES keys expanded per record.
 * Printed: ns per part and per handshake, and handshakes per core-second, for GCM and CCM-8. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emse/dtls/hmac256.h"
#include "emse/dtls/record.h"
#include "emse/rng.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* CPU time of this thread: on a shared machine, wall time counts other processes' turns too. */
static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

enum { P_COOKIE, P_HASH, P_MS, P_KB, P_FIN, P_REC, P__N };
static const char *part_name[P__N] = { "cookie HMAC x2", "transcript SHA-256", "PRF master secret",
				       "PRF key block", "PRF Finished x2",
				       "record seal + open" };
static struct emse_hmac256 cookie_key; /* keyed once per cookie secret, as the server does */
static struct emse_record_ctx rctx;

struct input {
	uint8_t psk[32], cookie_secret[32], randoms[64], ch[120], transcript[320], fin[24];
};

/* One handshake's crypto; t[] accumulates ns per part when timing is on. */
static void handshake(const struct input *in, int ccm, double *t)
{
	uint8_t pms[2 + 32 + 2 + 32], ms[48], kb[40], hs1[32], hs2[32], vd[12], seed[64], cookie[32];
	uint8_t rec[13 + 8 + 24 + 16], pt[64];
	double t0 = t ? now_ns() : 0, t1;
#define LAP(i) do { if (t) { t1 = now_ns(); t[i] += t1 - t0; t0 = t1; } } while (0)
	/* cookie: peer || version || random || session id || suites || compression */
	const struct emse_part chp = {in->ch, 80};
	emse_hmac256(&cookie_key, &chp, 1, cookie);
	emse_hmac256(&cookie_key, &chp, 1, cookie);
	LAP(P_COOKIE);
	wc_Sha256 sha;
	wc_InitSha256(&sha);
	wc_Sha256Update(&sha, in->transcript, 296);
	wc_Sha256GetHash(&sha, hs1); /* session hash for EMS, client Finished */
	wc_Sha256Update(&sha, in->transcript + 296, 24);
	wc_Sha256Final(&sha, hs2);   /* server Finished */
	wc_Sha256Free(&sha);
	LAP(P_HASH);
	/* RFC 4279 2: premaster = N || zeros(N) || N || psk */
	memset(pms, 0, sizeof(pms));
	pms[1] = 32;
	pms[35] = 32;
	memcpy(pms + 36, in->psk, 32);
	/* HMAC keyed once per secret (hmac256.h): the pre-master secret, then the master secret */
	struct emse_hmac256 k;
	emse_hmac256_key(&k, pms, sizeof(pms));
	emse_tls12_prf_keyed(&k, "extended master secret", hs1, 32, NULL, 0, ms, sizeof(ms));
	LAP(P_MS);
	memcpy(seed, in->randoms + 32, 32); /* server_random || client_random */
	memcpy(seed + 32, in->randoms, 32);
	emse_hmac256_key(&k, ms, sizeof(ms));
	emse_tls12_prf_keyed(&k, "key expansion", seed, 64, NULL, 0, kb, sizeof(kb));
	LAP(P_KB);
	emse_tls12_prf_keyed(&k, "client finished", hs1, 32, NULL, 0, vd, sizeof(vd));
	emse_tls12_prf_keyed(&k, "server finished", hs2, 32, NULL, 0, vd, sizeof(vd));
	LAP(P_FIN);
	/* one seal (our Finished) and one open (the client's) through the record layer emse uses,
	 * which expands the AES key per record */
	struct emse_record_state st = {.cipher = ccm ? EMSE_REC_AES128_CCM8 : EMSE_REC_AES128_GCM,
				       .wepoch = 1, .repoch = 1, .flags = EMSE_REC_F_HANDSHAKE};
	memcpy(st.wkey, kb + 16, 16);
	memcpy(st.rkey, kb + 16, 16); /* open what we sealed: same key as a client record */
	memcpy(st.wsalt, kb + 36, 4);
	memcpy(st.rsalt, kb + 36, 4);
	size_t rl, used, pl;
	uint8_t type;
	enum emse_rec_drop why;
	if (emse_record_seal(&rctx, &st, 22, in->fin, 24, rec, sizeof(rec), &rl) != 0 ||
	    emse_record_open(&rctx, &st, rec, rl, &used, pt, &pl, &type, &why) == EMSE_REC_DROP)
		abort();
	LAP(P_REC);
	emse_hmac256_wipe(&k);
#undef LAP
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	struct input in;
	if (emse_random(&in, sizeof(in)) != 0 || emse_record_ctx_init(&rctx, 0) != 0)
		return 1;
	emse_hmac256_key(&cookie_key, in.cookie_secret, sizeof(in.cookie_secret));
	printf("bench-floor: crypto floor of one DTLS 1.2 PSK server handshake with cookie, %ld rounds\n"
	       "(CPU time of this thread)\n", n);
	for (int ccm = 0; ccm <= 1; ccm++) {
		double parts[P__N] = { 0 };
		for (long i = 0; i < n / 10; i++) /* warm caches and the branch predictor */
			handshake(&in, ccm, NULL);
		double t0 = cpu_ns();
		for (long i = 0; i < n; i++) {
			in.randoms[i & 63] ^= (uint8_t)i;
			handshake(&in, ccm, NULL);
		}
		double per = (cpu_ns() - t0) / (double)n;
		/* parts are timed in wall time (cheap clock), then scaled to the loop's CPU time */
		double w0 = now_ns(), c0 = cpu_ns();
		for (long i = 0; i < n / 4; i++)
			handshake(&in, ccm, parts);
		double scale = (cpu_ns() - c0) / (now_ns() - w0);
		for (int p = 0; p < P__N; p++)
			parts[p] *= scale;
		const char *suite = ccm ? "PSK-AES128-CCM-8" : "PSK-AES128-GCM-SHA256";
		printf("\n%s: %.2f us per handshake, %.0f handshakes per core-second\n", suite, per / 1e3,
		       1e9 / per);
		for (int p = 0; p < P__N; p++)
			printf("  %-24s %8.0f ns\n", part_name[p], parts[p] / (double)(n / 4));
		/* issue 5's narrower definition: the PRF, one cookie HMAC, one open + seal */
		double narrow = (parts[P_MS] + parts[P_KB] + parts[P_FIN] + parts[P_COOKIE] / 2 + parts[P_REC]) /
				(double)(n / 4);
		printf("  narrow floor (PRF x4, 1 cookie HMAC, open+seal): %.2f us, %.0f per core-second\n",
		       narrow / 1e3, 1e9 / narrow);
	}
	return 0;
}
