/* bench-floor: the crypto a DTLS 1.2 PSK server cannot avoid in one full handshake with a
 * cookie, done back to back with wolfCrypt (the library the server uses), so the server's
 * measured cost can be read as "floor + everything else". Per handshake:
 *   2 cookie HMACs (the HelloVerifyRequest for ClientHello 1, the check of ClientHello 2),
 *   the transcript SHA-256 (~320 B of handshake messages, two digests taken),
 *   PRF (P_SHA256): extended master secret (48 B), key block (40 B), client and server Finished,
 *   the two AES-128 key schedules, one record open (client Finished) and one seal (server's).
 * Printed: ns per part and per handshake, and handshakes per core-second, for GCM and CCM-8. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* TLS 1.2 PRF, RFC 5246 5: P_SHA256(secret, label || seed), one HMAC key set-up per call. */
static void prf(const uint8_t *secret, size_t slen, const char *label, const uint8_t *seed,
		size_t seedlen, uint8_t *out, size_t outlen)
{
	Hmac h;
	uint8_t a[WC_SHA256_DIGEST_SIZE], blk[WC_SHA256_DIGEST_SIZE];
	size_t llen = strlen(label);
	wc_HmacInit(&h, NULL, INVALID_DEVID);
	wc_HmacSetKey(&h, WC_SHA256, secret, (word32)slen);
	/* A(1) = HMAC(secret, label || seed) */
	wc_HmacUpdate(&h, (const byte *)label, (word32)llen);
	wc_HmacUpdate(&h, seed, (word32)seedlen);
	wc_HmacFinal(&h, a);
	for (size_t done = 0; done < outlen;) {
		wc_HmacUpdate(&h, a, sizeof(a));
		wc_HmacUpdate(&h, (const byte *)label, (word32)llen);
		wc_HmacUpdate(&h, seed, (word32)seedlen);
		wc_HmacFinal(&h, blk);
		size_t n = outlen - done < sizeof(blk) ? outlen - done : sizeof(blk);
		memcpy(out + done, blk, n);
		done += n;
		if (done < outlen) {
			wc_HmacUpdate(&h, a, sizeof(a));
			wc_HmacFinal(&h, a);
		}
	}
	wc_HmacFree(&h);
}

static void cookie_hmac(const uint8_t secret[32], const uint8_t *ch, size_t chlen, uint8_t out[32])
{
	Hmac h;
	wc_HmacInit(&h, NULL, INVALID_DEVID);
	wc_HmacSetKey(&h, WC_SHA256, secret, 32);
	wc_HmacUpdate(&h, ch, (word32)chlen);
	wc_HmacFinal(&h, out);
	wc_HmacFree(&h);
}

enum { P_COOKIE, P_HASH, P_MS, P_KB, P_FIN, P_KEYS, P_REC, P__N };
static const char *part_name[P__N] = { "cookie HMAC x2", "transcript SHA-256", "PRF master secret",
				       "PRF key block", "PRF Finished x2", "AES key schedules x2",
				       "record open + seal" };

struct input {
	uint8_t psk[32], cookie_secret[32], randoms[64], ch[120], transcript[320], fin[24];
};

/* One handshake's crypto; t[] accumulates ns per part when timing is on. */
static void handshake(const struct input *in, int ccm, double *t)
{
	uint8_t pms[2 + 32 + 2 + 32], ms[48], kb[40], hs1[32], hs2[32], vd[12], seed[64], cookie[32];
	uint8_t rec[13 + 8 + 24 + 16], pt[24], aad[13], nonce[12], tag[16];
	double t0 = t ? now_ns() : 0, t1;
#define LAP(i) do { if (t) { t1 = now_ns(); t[i] += t1 - t0; t0 = t1; } } while (0)
	/* cookie: peer || version || random || session id || suites || compression */
	cookie_hmac(in->cookie_secret, in->ch, 80, cookie);
	cookie_hmac(in->cookie_secret, in->ch, 80, cookie);
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
	prf(pms, sizeof(pms), "extended master secret", hs1, 32, ms, sizeof(ms));
	LAP(P_MS);
	memcpy(seed, in->randoms + 32, 32); /* server_random || client_random */
	memcpy(seed + 32, in->randoms, 32);
	prf(ms, sizeof(ms), "key expansion", seed, 64, kb, sizeof(kb));
	LAP(P_KB);
	prf(ms, sizeof(ms), "client finished", hs1, 32, vd, sizeof(vd));
	prf(ms, sizeof(ms), "server finished", hs2, 32, vd, sizeof(vd));
	LAP(P_FIN);
	Aes rd, wr;
	wc_AesInit(&rd, NULL, INVALID_DEVID);
	wc_AesInit(&wr, NULL, INVALID_DEVID);
	if (ccm) {
		wc_AesCcmSetKey(&rd, kb, 16);
		wc_AesCcmSetKey(&wr, kb + 16, 16);
	} else {
		wc_AesGcmSetKey(&rd, kb, 16);
		wc_AesGcmSetKey(&wr, kb + 16, 16);
	}
	LAP(P_KEYS);
	/* seal with the write key, then open it with the same key as the client's record would be:
	 * the cost of one open and one seal of a 24-byte Finished */
	memset(aad, 1, sizeof(aad));
	memcpy(nonce, kb + 36, 4);
	memset(nonce + 4, 0, 8);
	int taglen = ccm ? 8 : 16;
	if (ccm) {
		wc_AesCcmEncrypt(&wr, rec, in->fin, 24, nonce, 12, tag, (word32)taglen, aad, 13);
		if (wc_AesCcmDecrypt(&wr, pt, rec, 24, nonce, 12, tag, (word32)taglen, aad, 13) != 0)
			abort();
	} else {
		wc_AesGcmEncrypt(&wr, rec, in->fin, 24, nonce, 12, tag, (word32)taglen, aad, 13);
		if (wc_AesGcmDecrypt(&wr, pt, rec, 24, nonce, 12, tag, (word32)taglen, aad, 13) != 0)
			abort();
	}
	LAP(P_REC);
	wc_AesFree(&rd);
	wc_AesFree(&wr);
#undef LAP
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	struct input in;
	if (emse_random(&in, sizeof(in)) != 0)
		return 1;
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
