/* emse-bench's own DTLS 1.2 PSK handshake client (bench/gen/hs_client.c) against an independent
 * server: whole handshakes with wolfSSL's DTLS 1.2 server (cookie exchange, extended master secret,
 * a PSK identity hint, both AEAD suites) whose application data our record layer then exchanges;
 * a wrong PSK never completes; the ClientHello's connection_id extension. (Its PRF and tls12_cid
 * records against OpenSSL: test_cid_record.c; the CID handshake against mbedTLS's server:
 * cid_on_ccm8 and cid_empty_gcm below, skipped where make deps has not built mbedTLS.) */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "emse/rng.h"
#include "../../bench/gen/hs_client.h"
#include "../../bench/gen/record.h"

/* ---- handshakes against wolfSSL's DTLS 1.2 server ---------------------------------------------- */

struct q {
	unsigned head, tail;
	int len[8];
	unsigned char buf[8][1500];
};
static struct q s2c;
static const unsigned char psk[32] = "test-hs-client-psk-0123456789abc";
static const char identity[] = "e2m.00000042@ue@bench.example";
static const uint8_t *c2s;
static size_t c2s_len;

static int q_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl, (void)ctx;
	if (!c2s)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	int n = (int)c2s_len < sz ? (int)c2s_len : sz;
	memcpy(buf, c2s, (size_t)n);
	c2s = NULL;
	return n;
}

static int q_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl, (void)ctx;
	if (s2c.tail - s2c.head < 8 && sz <= 1500) {
		unsigned i = s2c.tail++ % 8;
		memcpy(s2c.buf[i], buf, (size_t)sz);
		s2c.len[i] = sz;
	}
	return sz;
}

static unsigned spsk(WOLFSSL *ssl, const char *id, unsigned char *key, unsigned key_max)
{
	(void)ssl, (void)key_max;
	if (strcmp(id, identity) != 0)
		return 0;
	memcpy(key, psk, sizeof(psk));
	return sizeof(psk);
}

static void handshake(const char *suite, int ccm, const uint8_t *client_psk, int want_done)
{
	static const unsigned char peer[8] = { 2, 0, 1, 2, 198, 19, 0, 1 };
	WOLFSSL_CTX *sctx = wolfSSL_CTX_new(wolfDTLSv1_2_server_method());
	assert_int_equal(wolfSSL_CTX_set_cipher_list(sctx, suite), WOLFSSL_SUCCESS);
	wolfSSL_CTX_set_psk_server_callback(sctx, spsk);
	wolfSSL_CTX_use_psk_identity_hint(sctx, "emse-hint");
	wolfSSL_CTX_SetIORecv(sctx, q_recv);
	wolfSSL_CTX_SetIOSend(sctx, q_send);
	WOLFSSL *sv = wolfSSL_new(sctx);
	memset(&s2c, 0, sizeof(s2c));
	wolfSSL_dtls_set_peer(sv, (void *)peer, sizeof(peer));
	wolfSSL_dtls_set_using_nonblock(sv, 1);

	struct hsc *h = calloc(1, sizeof(*h));
	struct rec_keys k = { 0 };
	uint8_t cr[32];
	for (int i = 0; i < 32; i++)
		cr[i] = (uint8_t)(i * 3 + ccm);
	assert_non_null(h);
	assert_int_equal(hsc_start(h, ccm, identity, strlen(identity), client_psk, HSC_CID_OFF, cr, NULL, 0), 0);
	uint16_t fl;
	c2s = hsc_flight(h, &fl);
	c2s_len = fl;
	enum hsc_rc rc = HSC_WANT;
	int sdone = 0, hvr = 0, rounds;
	for (rounds = 0; rounds < 8 && rc >= 0 && rc != HSC_DONE; rounds++) {
		int r = wolfSSL_accept(sv);
		sdone = r == WOLFSSL_SUCCESS;
		while (s2c.head != s2c.tail && rc >= 0 && rc != HSC_DONE) {
			unsigned i = s2c.head++ % 8;
			if (s2c.buf[i][0] == 22 && s2c.buf[i][13] == 3)
				hvr++;
			rc = hsc_input(h, s2c.buf[i], (size_t)s2c.len[i], &k);
			if (rc == HSC_SEND) {
				c2s = hsc_flight(h, &fl);
				c2s_len = fl;
			}
		}
	}
	if (!want_done) {
		/* a wrong PSK: wolfSSL cannot open our Finished and says so, or stays silent; never done */
		assert_true(rc != HSC_DONE);
		assert_false(sdone);
		goto out;
	}
	assert_int_equal(rc, HSC_DONE);
	assert_int_equal(hvr, 1); /* the cookie round trip happened */
	assert_true(h->ems);      /* wolfSSL echoes extended_master_secret */
	/* wolfSSL finishes when it reads our (already sent) Finished flight */
	assert_int_equal(wolfSSL_accept(sv), WOLFSSL_SUCCESS);
	assert_string_equal(wolfSSL_get_cipher_name(sv), suite);

	/* records: ours open at wolfSSL, wolfSSL's open with ours */
	uint8_t msg[64], rec[64 + REC_MAX_OVERHEAD], got[128], type;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)(i * 5);
	for (int r = 0; r < 3; r++) {
		int n = rec_seal(&k, 23, msg, sizeof(msg), rec);
		c2s = rec, c2s_len = (size_t)n;
		assert_int_equal(wolfSSL_read(sv, got, sizeof(got)), sizeof(msg));
		assert_memory_equal(got, msg, sizeof(msg));
	}
	assert_int_equal(wolfSSL_write(sv, msg, 40), 40);
	unsigned i = s2c.head++ % 8;
	assert_int_equal(rec_open(&k, s2c.buf[i], (uint16_t)s2c.len[i], got, &type), 40);
	assert_int_equal(type, 23);
	assert_memory_equal(got, msg, 40);
out:
	hsc_wipe(h);
	free(h);
	rec_free(&k);
	wolfSSL_free(sv);
	wolfSSL_CTX_free(sctx);
}

static void hs_ccm8(void **state) { (void)state; handshake("PSK-AES128-CCM-8", 1, psk, 1); }
static void hs_gcm(void **state) { (void)state; handshake("PSK-AES128-GCM-SHA256", 0, psk, 1); }
static void hs_wrong_psk(void **state)
{
	(void)state;
	uint8_t other[32];
	memcpy(other, psk, 32);
	other[7] ^= 1;
	handshake("PSK-AES128-CCM-8", 1, other, 0);
}

/* The ClientHello offers the CID extension as RFC 9146 3 lays it out, and only when asked. */
static void client_hello_cid_extension(void **state)
{
	(void)state;
	struct hsc *h = calloc(1, sizeof(*h));
	uint8_t cr[32] = { 0 }, cid[4] = { 9, 8, 7, 6 };
	uint16_t fl;
	static const uint8_t on[] = { 0x00, 0x36, 0x00, 0x05, 0x04, 9, 8, 7, 6 };
	static const uint8_t empty[] = { 0x00, 0x36, 0x00, 0x01, 0x00 };
	assert_int_equal(hsc_start(h, 1, "id", 2, psk, HSC_CID_ON, cr, cid, 4), 0);
	const uint8_t *f = hsc_flight(h, &fl);
	assert_memory_equal(f + fl - sizeof(on), on, sizeof(on));
	assert_int_equal(hsc_start(h, 1, "id", 2, psk, HSC_CID_EMPTY, cr, NULL, 0), 0);
	f = hsc_flight(h, &fl);
	assert_memory_equal(f + fl - sizeof(empty), empty, sizeof(empty));
	assert_int_equal(hsc_start(h, 1, "id", 2, psk, HSC_CID_OFF, cr, NULL, 0), 0);
	f = hsc_flight(h, &fl);
	assert_int_equal(f[fl - 4] << 8 | f[fl - 3], 0x0017); /* ends with extended_master_secret */
	assert_int_equal(hsc_start(h, 1, "id", 2, psk, HSC_CID_ON, cr, NULL, 0), -1);
	free(h);
}

/* ---- with a Connection ID, against mbedTLS 3.6's server (build/cid-echo-server) ----------------- */

static int udp_to(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static ssize_t recv_ms(int fd, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) == 1 ? recv(fd, buf, cap, 0) : -1;
}

static void cid_with_mbedtls(enum hsc_cid mode, int ccm)
{
	const char *server = getenv("CID_ECHO_SERVER") ? getenv("CID_ECHO_SERVER") : "build/cid-echo-server";
	if (access(server, X_OK) != 0) {
		printf("skip: %s not built (make deps builds mbedTLS)\n", server);
		skip();
	}
	uint16_t port = getenv("HSC_PORT") ? (uint16_t)atoi(getenv("HSC_PORT")) : (uint16_t)(20000 + getpid() % 20000 + mode * 7 + ccm);
	char port_s[8], psk_hex[65];
	snprintf(port_s, sizeof(port_s), "%u", port);
	for (int i = 0; i < 32; i++)
		snprintf(psk_hex + 2 * i, 3, "%02x", psk[i]);
	int out[2];
	assert_int_equal(pipe(out), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl(server, server, "--port", port_s, "--psk-identity", identity, "--psk-hex", psk_hex,
		      "--records", "3", "--timeout-ms", "4000", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	char line[256];
	FILE *f = fdopen(out[0], "r");
	assert_non_null(fgets(line, sizeof(line), f)); /* "listening on ..." once it is bound */

	struct hsc *h = calloc(1, sizeof(*h));
	struct rec_keys k = { 0 };
	uint8_t cr[32], cid[4] = { 0xca, 0xfe, 0x00, 0x01 }, buf[1500];
	for (int i = 0; i < 32; i++)
		cr[i] = (uint8_t)(0x40 + i);
	assert_int_equal(hsc_start(h, ccm, identity, strlen(identity), psk, mode, cr, cid, 4), 0);
	int fd = udp_to(port);
	enum hsc_rc rc = HSC_SEND;
	for (int tries = 0; rc >= 0 && rc != HSC_DONE && tries < 20; tries++) {
		uint16_t fl;
		const uint8_t *fp = hsc_flight(h, &fl);
		if (rc == HSC_SEND || tries)
			assert_int_equal(send(fd, fp, fl, 0), fl);
		ssize_t n = recv_ms(fd, buf, sizeof(buf), 500);
		rc = n > 0 ? hsc_input(h, buf, (size_t)n, &k) : HSC_WANT;
	}
	assert_int_equal(rc, HSC_DONE);
	assert_true(h->cid_negotiated);
	assert_int_equal(k.cid_w_len, 8); /* cid-echo-server's default CID */
	assert_int_equal(k.cid_r_len, mode == HSC_CID_ON ? 4 : 0);
	/* three records, the last from a new source port: each echoed, our tls12_cid open */
	uint8_t msg[48], rec[48 + REC_MAX_OVERHEAD], got[64], type;
	memset(msg, 0x3c, sizeof(msg));
	for (int r = 0; r < 3; r++) {
		if (r == 2) {
			close(fd);
			fd = udp_to(port);
		}
		msg[0] = (uint8_t)r;
		int n = rec_seal(&k, 23, msg, sizeof(msg), rec);
		assert_int_equal(rec[0], 25);
		assert_int_equal(send(fd, rec, (size_t)n, 0), n);
		ssize_t e = recv_ms(fd, buf, sizeof(buf), 2000);
		assert_true(e > 0);
		assert_int_equal(buf[0], mode == HSC_CID_ON ? 25 : 23);
		assert_int_equal(rec_open(&k, buf, (uint16_t)e, got, &type), sizeof(msg));
		assert_int_equal(type, 23);
		assert_memory_equal(got, msg, sizeof(msg));
	}
	close(fd);
	int status, moved = 0, summary = 0;
	while (fgets(line, sizeof(line), f)) {
		moved += strncmp(line, "moved:", 6) == 0;
		summary += strstr(line, "summary: handshakes=1 hello_verify=1 echoed=3 moves=1 cid=yes") != NULL;
	}
	fclose(f);
	waitpid(pid, &status, 0);
	assert_int_equal(moved, 1);
	assert_int_equal(summary, 1);
	rec_free(&k);
	free(h);
}

static void cid_on_ccm8(void **state) { (void)state; cid_with_mbedtls(HSC_CID_ON, 1); }
static void cid_empty_gcm(void **state) { (void)state; cid_with_mbedtls(HSC_CID_EMPTY, 0); }

int main(void)
{
	int (*volatile rng)(unsigned char *, unsigned int) = emse_rand_block;
	(void)rng;
	wolfSSL_Init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(client_hello_cid_extension), cmocka_unit_test(hs_ccm8),
		cmocka_unit_test(hs_gcm), cmocka_unit_test(hs_wrong_psk),
		cmocka_unit_test(cid_on_ccm8), cmocka_unit_test(cid_empty_gcm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
