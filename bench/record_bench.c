/* bench-record: what an established session's record costs, compact layer vs wolfSSL.
 * Per suite (AES-128-GCM, AES-128-CCM-8), 100-byte plaintext, CPU ns per record (this thread's
 * CPU time, so other processes on the shared machine do not count):
 *   ours seal / open       dataplane/dtls/record.c without its key cache: keys expanded per record
 *   key cache seal / open  the same with the per-worker key cache the worker uses, the session
 *                          hot in it: the floor bench/run-sessions.sh records compares with
 *   key cache, wolfCrypt   the key cache with wolfCrypt's AEAD instead of aesgcm.c / aesccm.c
 *   wolfCrypt, GCM table   keyed per record with wolfCrypt's documented GCM set-up (4-bit table)
 *   aesgcm.c or aesccm.c / wolfCrypt preset key   the AEAD alone with a kept key
 *   wolfSSL write / read   wolfSSL_write / wolfSSL_read on the live objects, in-memory I/O
 *   import                 emse_record_import: wolfSSL_dtls_export + our parse, per session
 * and the heap an established session holds in a wolfSSL server object vs a compact state,
 * and the bytes per idle session. Usage: bench-record [records per measurement, default 200000] */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/dataplane/dtls/wolfmem.h"
#include "emse/dtls/aesccm.h"
#include "emse/dtls/aesgcm.h"
#include "emse/dtls/record.h"

#define PLAIN 100
#define BATCH 1024

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int get_peer(WOLFSSL *ssl, char *ip, int *ip_sz, unsigned short *port, int *fam)
{
	(void)ssl;
	if (*ip_sz < 8)
		return WOLFSSL_FAILURE;
	strcpy(ip, "0.0.0.0");
	*ip_sz = 7;
	*port = 0;
	*fam = 2;
	return WOLFSSL_SUCCESS;
}

static struct wm_queue c2s, s2c;
static struct wm_end ce = {&s2c, &c2s}, se = {&c2s, &s2c};
static uint8_t recs[BATCH][PLAIN + 64];
static size_t rec_len[BATCH];

static void die(const char *what)
{
	fprintf(stderr, "bench-record: %s\n", what);
	exit(1);
}

/* CPU ns per record: srv seals n records, then opens n records cli sealed (in batches). */
static void measure(struct emse_record_ctx *rc, struct emse_record_state *srv,
		    struct emse_record_state *cli, long n, double *seal, double *open)
{
	uint8_t out[PLAIN + 64], msg[PLAIN] = {0};
	size_t sl;
	double t = cpu_ns();
	for (long i = 0; i < n; i++)
		if (emse_record_seal(rc, srv, EMSE_REC_CT_APP, msg, PLAIN, out, sizeof(out), &sl))
			die("seal");
	*seal = (cpu_ns() - t) / (double)n;

	*open = 0;
	for (long done = 0; done < n;) {
		int k = 0;
		for (; k < BATCH && done + k < n; k++)
			if (emse_record_seal(rc, cli, EMSE_REC_CT_APP, msg, PLAIN, recs[k],
					     sizeof(recs[k]), &rec_len[k]))
				die("client seal");
		t = cpu_ns();
		for (int j = 0; j < k; j++) {
			size_t used, pl;
			uint8_t ct;
			enum emse_rec_drop why;
			if (emse_record_open(rc, srv, recs[j], rec_len[j], &used, out, &pl, &ct,
					     &why) != EMSE_REC_DATA)
				die("open");
		}
		*open += cpu_ns() - t;
		done += k;
	}
	*open /= (double)n;
}

static void run_suite(const char *suite, long n)
{
	WOLFSSL_CTX *cctx = wm_ctx(0), *sctx = wm_ctx(1);
	if (!cctx || !sctx || wolfSSL_CTX_set_cipher_list(cctx, suite) != WOLFSSL_SUCCESS)
		die("ctx");
	wolfSSL_CTX_SetIOGetPeer(cctx, get_peer);
	wolfSSL_CTX_SetIOGetPeer(sctx, get_peer);
	memset(&c2s, 0, sizeof(c2s));
	memset(&s2c, 0, sizeof(s2c));
	WOLFSSL *cl = wm_new(cctx, &ce), *sv = wm_new(sctx, &se);
	int cd = 0, sd = 0;
	for (int i = 0; i < 20 && !(cd == 1 && sd == 1); i++) {
		if (cd != 1)
			cd = wm_step(cl, 0);
		if (sd != 1)
			sd = wm_step(sv, 1);
		if (cd < 0 || sd < 0)
			die("handshake");
	}
	if (cd != 1 || sd != 1)
		die("handshake did not finish");

	uint8_t msg[PLAIN], out[PLAIN + 64], buf[2048];
	memset(msg, 0xa5, sizeof(msg));
	double t;

	/* wolfSSL's own path, on the live objects */
	t = cpu_ns();
	for (long i = 0; i < n; i++) {
		if (wolfSSL_write(sv, msg, PLAIN) != PLAIN)
			die("wolfSSL_write");
		wm_pop(&s2c, buf, sizeof(buf));
	}
	double wssl_write = (cpu_ns() - t) / (double)n;
	double wssl_read = 0;
	for (long done = 0; done < n;) {
		/* records are produced outside the timed part, then fed one by one */
		int k = 0;
		for (; k < BATCH && done + k < n; k++) {
			if (wolfSSL_write(cl, msg, PLAIN) != PLAIN)
				die("client write");
			rec_len[k] = wm_pop(&c2s, recs[k], sizeof(recs[k]));
		}
		t = cpu_ns();
		for (int j = 0; j < k; j++) {
			wm_push(&c2s, recs[j], rec_len[j]);
			if (wolfSSL_read(sv, buf, sizeof(buf)) != PLAIN)
				die("wolfSSL_read");
		}
		wssl_read += cpu_ns() - t;
		done += k;
	}
	wssl_read /= (double)n;

	/* both ends compact: the client's state produces the records our server side opens */
	struct emse_record_ctx rc;
	struct emse_record_state srv, cli;
	if (emse_record_ctx_init_keys(&rc, 16, 0) != 0) /* no key cache: keyed per record */
		die("ctx");
	/* leaving wolfSSL: export + parse, once per session */
	long n_imp = n / 100 ? n / 100 : 1;
	t = cpu_ns();
	for (long i = 0; i < n_imp; i++)
		if (emse_record_import(&srv, sv) != 0)
			die("import");
	double import = (cpu_ns() - t) / (double)n_imp;
	if (emse_record_import(&cli, cl) != 0)
		die("import");
	wolfSSL_free(sv);
	wolfSSL_free(cl);

	size_t sl;
	double seal, open, seal_kc, open_kc;
	measure(&rc, &srv, &cli, n, &seal, &open);
	/* the same with the per-worker key cache the worker uses (both states stay in it), on
	 * copies that carry on where these two are */
	struct emse_record_ctx rck;
	struct emse_record_state srv2 = srv, cli2 = cli;
	if (emse_record_ctx_init(&rck, 16) != 0)
		die("ctx");
	measure(&rck, &srv2, &cli2, n, &seal_kc, &open_kc);
	emse_record_wipe(&rck, &srv2);
	emse_record_wipe(&rck, &cli2);
	emse_record_ctx_fini(&rck);

	/* the same through wolfCrypt's AEAD instead of aesgcm.c / aesccm.c: the key cache (GCM
	 * with the AES-NI schedule alone), then, for GCM, keyed per record with the documented
	 * set-up */
	double seal_tab = 0, seal_wc = 0, open_wc = 0;
	int fast = rc.gcm_fast, ni = rc.gcm_ni, cni = rc.ccm_ni;
	struct emse_record_ctx rcw;
	struct emse_record_state srv3 = srv, cli3 = cli;
	if (emse_record_ctx_init(&rcw, 16) != 0)
		die("ctx");
	rcw.gcm_ni = rcw.ccm_ni = 0;
	measure(&rcw, &srv3, &cli3, n, &seal_wc, &open_wc);
	emse_record_wipe(&rcw, &srv3);
	emse_record_wipe(&rcw, &cli3);
	emse_record_ctx_fini(&rcw);
	if (srv.cipher == EMSE_REC_AES128_GCM) {
		rc.gcm_ni = 0;
		rc.gcm_fast = 0;
		t = cpu_ns();
		for (long i = 0; i < n; i++)
			if (emse_record_seal(&rc, &srv, EMSE_REC_CT_APP, msg, PLAIN, out, sizeof(out),
					     &sl))
				die("seal");
		seal_tab = (cpu_ns() - t) / (double)n;
		rc.gcm_fast = fast;
		rc.gcm_ni = ni;
	}

	/* the AEAD alone with the schedule kept */
	static Aes a;
	uint8_t nonce[12] = {1}, aad[13] = {2}, tag[16];
	wc_AesInit(&a, NULL, INVALID_DEVID);
	int gcm = srv.cipher == EMSE_REC_AES128_GCM;
	if (gcm)
		wc_AesGcmSetKey(&a, srv.wkey, 16);
	else
		wc_AesCcmSetKey(&a, srv.wkey, 16);
	t = cpu_ns();
	for (long i = 0; i < n; i++) {
		nonce[11] = (uint8_t)i;
		if (gcm)
			wc_AesGcmEncrypt(&a, out, msg, PLAIN, nonce, 12, tag, 16, aad, 13);
		else
			wc_AesCcmEncrypt(&a, out, msg, PLAIN, nonce, 12, tag, 8, aad, 13);
	}
	double preset = (cpu_ns() - t) / (double)n;
	wc_AesFree(&a);
	double preset_ni = 0;
	if (gcm && ni) {
		struct emse_gcm_key g;
		emse_gcm_init(&g, srv.wkey);
		t = cpu_ns();
		for (long i = 0; i < n; i++) {
			nonce[11] = (uint8_t)i;
			emse_gcm_seal(&g, nonce, aad, 13, msg, PLAIN, out, tag);
		}
		preset_ni = (cpu_ns() - t) / (double)n;
		emse_gcm_wipe(&g);
	} else if (!gcm && cni) {
		struct emse_ccm_key g;
		emse_ccm_init(&g, srv.wkey);
		t = cpu_ns();
		for (long i = 0; i < n; i++) {
			nonce[11] = (uint8_t)i;
			if (emse_ccm8_seal(&g, nonce, aad, 13, msg, PLAIN, out, tag))
				die("ccm seal");
		}
		preset_ni = (cpu_ns() - t) / (double)n;
		emse_ccm_wipe(&g);
	}

	printf("%-22s ours seal %6.1f  open %6.1f", suite, seal, open);
	printf("  | key cache seal %6.1f  open %6.1f", seal_kc, open_kc);
	printf("  | key cache, wolfCrypt seal %6.1f  open %6.1f", seal_wc, open_wc);
	if (gcm)
		printf("  | wolfCrypt, GCM table seal %6.1f", seal_tab);
	printf("  | %s preset-key seal %6.1f", gcm ? "aesgcm.c" : "aesccm.c", preset_ni);
	printf("  | wolfCrypt preset-key seal %6.1f | wolfSSL write %6.1f  read %6.1f  ns/record"
	       "  | import %.0f ns/session  (gcm_ni=%d ccm_ni=%d gcm_fast=%d)\n", preset,
	       wssl_write, wssl_read, import, ni, cni, fast);

	emse_record_wipe(&rc, &srv);
	emse_record_wipe(&rc, &cli);
	emse_record_ctx_fini(&rc);
	wolfSSL_CTX_free(cctx);
	wolfSSL_CTX_free(sctx);
}

/* Heap growth per established session: K wolfSSL server objects kept after their handshake,
 * against the same sessions imported into compact states (one array, as a session table would
 * hold them). */
static void session_memory(int k)
{
	WOLFSSL_CTX *cctx = wm_ctx(0), *sctx = wm_ctx(1);
	if (!cctx || !sctx || wolfSSL_CTX_set_cipher_list(cctx, "PSK-AES128-CCM-8") != WOLFSSL_SUCCESS)
		die("ctx");
	wolfSSL_CTX_SetIOGetPeer(sctx, get_peer);
	WOLFSSL **sv = calloc((size_t)k, sizeof(*sv));
	struct emse_record_state *st = NULL;
	if (!sv)
		die("calloc");
	size_t before = mallinfo2().uordblks;
	for (int i = 0; i < k; i++) {
		memset(&c2s, 0, sizeof(c2s));
		memset(&s2c, 0, sizeof(s2c));
		WOLFSSL *cl = wm_new(cctx, &ce);
		sv[i] = wm_new(sctx, &se);
		int cd = 0, sd = 0;
		for (int j = 0; j < 20 && !(cd == 1 && sd == 1); j++) {
			if (cd != 1)
				cd = wm_step(cl, 0);
			if (sd != 1)
				sd = wm_step(sv[i], 1);
			if (cd < 0 || sd < 0)
				die("handshake");
		}
		wolfSSL_free(cl);
	}
	size_t wolf = mallinfo2().uordblks - before;
	before = mallinfo2().uordblks;
	st = malloc((size_t)k * sizeof(*st));
	if (!st)
		die("malloc");
	for (int i = 0; i < k; i++) {
		if (emse_record_import(&st[i], sv[i]) != 0)
			die("import");
		wolfSSL_free(sv[i]);
	}
	size_t after_free = mallinfo2().uordblks;
	printf("heap per established session (%d sessions, CCM-8): wolfSSL server object %zu B;"
	       " compact state %zu B (heap change on moving to compact: %+ld B per session)\n", k,
	       wolf / (size_t)k, sizeof(*st), ((long)after_free - (long)before) / k);
	for (int i = 0; i < k; i++)
		emse_record_wipe(NULL, &st[i]);
	free(st);
	free(sv);
	wolfSSL_CTX_free(cctx);
	wolfSSL_CTX_free(sctx);
}


int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	if (n <= 0)
		die("usage: bench-record [records]");
	printf("bench-record: %ld records of %d B per measurement, CPU ns per record\n", n, PLAIN);
	run_suite("PSK-AES128-GCM-SHA256", n);
	run_suite("PSK-AES128-CCM-8", n);
	session_memory(2000);
	struct emse_record_ctx kc;
	if (emse_record_ctx_init(&kc, 0) != 0)
		die("ctx");
	printf("bytes per idle session: sizeof(struct emse_record_state) = %zu; per worker: "
	       "struct emse_record_ctx %zu + scratch key %zu + key cache %zu (%u slots) + %zu per "
	       "held flight slot\n",
	       sizeof(struct emse_record_state), sizeof(struct emse_record_ctx),
	       emse_record_scratch_bytes(),
	       emse_record_keys_bytes(&kc), kc.n_keys, sizeof(struct emse_flight_slot));
	emse_record_ctx_fini(&kc);
	wm_done(NULL);
	return 0;
}
