/* libFuzzer, differential (issue 17): record.c's open and seal against wolfSSL's own record
 * layer. Per input, a wolfSSL DTLS 1.2 PSK client and server complete a handshake in memory
 * (PSK-AES128-GCM-SHA256 or PSK-AES128-CCM-8, the input's first byte), and both established
 * sessions are taken into record.c as the worker does (emse_record_import: ss the server's, cs
 * the client's). Then the input is a list of operations:
 *   client writes    wolfSSL client -> record R; wolfSSL server and ss both open R: both accept
 *                    with the same plaintext, or both refuse
 *   forged / replay  R (or an earlier one) with a byte flipped, or again: the same verdicts
 *   server seals     ss seals P -> the wolfSSL client reads P back
 *   server writes    wolfSSL server -> R; cs opens it to P
 *   client jumps     cs seals with a sequence number up to 2^16 ahead: both servers' verdicts
 * Any disagreement traps. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emse/dtls/record.h"
#include "emse/rng.h"

#define FAIL(...) do { fprintf(stderr, "fuzz_record_diff: " __VA_ARGS__); fputc('\n', stderr); \
			 __builtin_trap(); } while (0)

#define QN 8
struct queue {
	unsigned head, tail;
	int len[QN];
	uint8_t buf[QN][2048];
};
static struct queue to_srv, to_cli;

static int q_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	struct queue *q = ctx;
	if (q->head == q->tail)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	unsigned i = q->head++ % QN;
	int n = q->len[i] < sz ? q->len[i] : sz;
	memcpy(buf, q->buf[i], (size_t)n);
	return n;
}

static int q_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	struct queue *q = ctx;
	if (q->tail - q->head == QN || sz > 2048)
		return sz;
	unsigned i = q->tail++ % QN;
	memcpy(q->buf[i], buf, (size_t)sz);
	q->len[i] = sz;
	return sz;
}

static void q_push(struct queue *q, const uint8_t *b, size_t n)
{
	q_send(NULL, (char *)(uintptr_t)b, (int)n, q);
}

/* the last datagram sent into q, taken out of it */
static size_t q_take(struct queue *q, uint8_t *out)
{
	if (q->head == q->tail)
		return 0;
	unsigned i = --q->tail % QN;
	memcpy(out, q->buf[i], (size_t)q->len[i]);
	return (size_t)q->len[i];
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

static int set_peer(WOLFSSL *ssl, char *ip, int ip_sz, unsigned short port, int fam)
{
	(void)ssl, (void)ip, (void)ip_sz, (void)port, (void)fam;
	return WOLFSSL_SUCCESS;
}

static const unsigned char PSK[32] = "record-diff-psk-0123456789abcdef";
static unsigned cli_psk(WOLFSSL *ssl, const char *hint, char *id, unsigned id_max,
			unsigned char *key, unsigned key_max)
{
	(void)ssl, (void)hint;
	if (id_max < 20 || key_max < 32)
		return 0;
	strcpy(id, "e2m.00000001@diff");
	memcpy(key, PSK, 32);
	return 32;
}
static unsigned srv_psk(WOLFSSL *ssl, const char *id, unsigned char *key, unsigned key_max)
{
	(void)ssl, (void)id;
	if (key_max < 32)
		return 0;
	memcpy(key, PSK, 32);
	return 32;
}

static WOLFSSL_CTX *cctx[2], *sctx[2];
static struct emse_record_ctx rc;

static WOLFSSL_CTX *make_ctx(int server, const char *suite)
{
	WOLFSSL_CTX *c = wolfSSL_CTX_new(server ? wolfDTLSv1_2_server_method()
					      : wolfDTLSv1_2_client_method());
	if (!c || wolfSSL_CTX_set_cipher_list(c, suite) != WOLFSSL_SUCCESS)
		__builtin_trap();
	wolfSSL_CTX_SetIORecv(c, q_recv);
	wolfSSL_CTX_SetIOSend(c, q_send);
	wolfSSL_CTX_SetIOGetPeer(c, get_peer);
	wolfSSL_CTX_SetIOSetPeer(c, set_peer);
	if (server)
		wolfSSL_CTX_set_psk_server_callback(c, srv_psk);
	else
		wolfSSL_CTX_set_psk_client_callback(c, cli_psk);
	return c;
}

static void init_once(void)
{
	if (rc.scratch)
		return;
	if (wolfSSL_Init() != WOLFSSL_SUCCESS || emse_record_ctx_init(&rc, 4) != 0)
		__builtin_trap();
	static const char *suites[2] = {"PSK-AES128-GCM-SHA256", "PSK-AES128-CCM-8"};
	for (int i = 0; i < 2; i++) {
		cctx[i] = make_ctx(0, suites[i]);
		sctx[i] = make_ctx(1, suites[i]);
	}
}

struct pair {
	WOLFSSL *c, *s;
	struct emse_record_state cs, ss;
};

static int pair_up(struct pair *p, int ccm)
{
	memset(&to_srv, 0, sizeof(to_srv));
	memset(&to_cli, 0, sizeof(to_cli));
	p->c = wolfSSL_new(cctx[ccm]);
	p->s = wolfSSL_new(sctx[ccm]);
	if (!p->c || !p->s)
		__builtin_trap();
	wolfSSL_SetIOReadCtx(p->c, &to_cli);
	wolfSSL_SetIOWriteCtx(p->c, &to_srv);
	wolfSSL_SetIOReadCtx(p->s, &to_srv);
	wolfSSL_SetIOWriteCtx(p->s, &to_cli);
	static const uint8_t peer[4] = {1, 2, 3, 4};
	wolfSSL_dtls_set_peer(p->s, (void *)peer, sizeof(peer));
	int cd = 0, sd = 0;
	for (int i = 0; i < 20 && !(cd && sd); i++) {
		if (!cd)
			cd = wolfSSL_connect(p->c) == WOLFSSL_SUCCESS;
		if (!sd)
			sd = wolfSSL_accept(p->s) == WOLFSSL_SUCCESS;
	}
	if (!cd || !sd)
		FAIL("the in-memory handshake did not complete");
	/* the client's last flight may still be queued for the server: drain it */
	uint8_t b[64];
	while (wolfSSL_read(p->s, b, sizeof(b)) > 0)
		;
	if (emse_record_import(&p->ss, p->s) != 0 || emse_record_import(&p->cs, p->c) != 0)
		FAIL("the sessions do not import");
	return 0;
}

static void pair_down(struct pair *p)
{
	emse_record_wipe(&rc, &p->ss);
	emse_record_wipe(&rc, &p->cs);
	wolfSSL_free(p->c);
	wolfSSL_free(p->s);
}

/* Both servers open datagram r; they must agree. */
static void both_open(struct pair *p, const uint8_t *r, size_t n, const char *what)
{
	uint8_t a[2048], b[2048];
	size_t used, an = 0;
	uint8_t type;
	enum emse_rec_drop why;
	int ours = emse_record_open(&rc, &p->ss, r, n, &used, a, &an, &type, &why) == EMSE_REC_DATA &&
		   used == n;
	q_push(&to_srv, r, n);
	int wn = wolfSSL_read(p->s, b, sizeof(b));
	while (to_srv.head != to_srv.tail) /* a refused record: wolfSSL left the queue as it was */
		to_srv.head = to_srv.tail;
	/* an empty application record: wolfSSL reads it as nothing to return */
	int theirs = wn > 0 || (ours && an == 0 &&
				wolfSSL_get_error(p->s, wn) == WOLFSSL_ERROR_WANT_READ);
	if (ours != theirs)
		FAIL("%s: record.c %s, wolfSSL %s (why %d, wolfSSL %d)", what,
		     ours ? "accepts" : "refuses", theirs ? "accepts" : "refuses", (int)why,
		     wolfSSL_get_error(p->s, wn));
	if (ours && wn > 0 && ((size_t)wn != an || memcmp(a, b, an)))
		FAIL("%s: different plaintexts (record.c %zu bytes, wolfSSL %d)", what, an, wn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	if (size < 1)
		return 0;
	struct pair p;
	emse_rng_seed_thread(size, 3); /* deterministic handshakes: reproducible findings */
	pair_up(&p, data[0] & 1);
	emse_rng_unseed_thread();
	uint8_t last[2048], rec[2048], plain[2048], back[2048];
	size_t last_n = 0, i = 1;
	uint64_t cli_next = 0; /* past the client's highest record number so far */
	while (i + 2 <= size) {
		unsigned op = data[i] % 5;
		size_t len = data[i + 1] % 200;
		i += 2;
		const uint8_t *pt = data + (i < size ? i : 0);
		if (i + len > size)
			len = size - i;
		i += len;
		switch (op) {
		case 0: { /* client writes */
			if (wolfSSL_write(p.c, pt, (int)len) != (int)len && len)
				FAIL("wolfSSL client write");
			size_t n = q_take(&to_srv, rec);
			if (!n)
				break;
			both_open(&p, rec, n, "client record");
			uint64_t q = 0;
			for (int k = 5; k < 11; k++)
				q = q << 8 | rec[k];
			if (q + 1 > cli_next)
				cli_next = q + 1;
			memcpy(last, rec, n);
			last_n = n;
			break;
		}
		case 1: /* forged (a byte flipped) or replayed */
			if (!last_n)
				break;
			memcpy(rec, last, last_n);
			if (len)
				rec[(pt[0] | (size_t)len << 8) % last_n] ^= (uint8_t)(len | 1);
			both_open(&p, rec, last_n, len ? "forged record" : "replayed record");
			break;
		case 2: { /* record.c seals as the server, the wolfSSL client reads */
			size_t n;
			if (emse_record_seal(&rc, &p.ss, EMSE_REC_CT_APP, pt, len, rec, sizeof(rec), &n))
				FAIL("record.c seal");
			q_push(&to_cli, rec, n);
			int r = wolfSSL_read(p.c, back, sizeof(back));
			if (len && (r != (int)len || memcmp(back, pt, len)))
				FAIL("the wolfSSL client does not read what record.c sealed (%d)", r);
			break;
		}
		case 3: { /* the wolfSSL server writes, cs opens */
			if (!len)
				break;
			if (wolfSSL_write(p.s, pt, (int)len) != (int)len)
				FAIL("wolfSSL server write");
			size_t n = q_take(&to_cli, rec), used, pl;
			uint8_t type;
			enum emse_rec_drop why;
			if (emse_record_open(&rc, &p.cs, rec, n, &used, plain, &pl, &type, &why) !=
				    EMSE_REC_DATA || pl != len || memcmp(plain, pt, len))
				FAIL("record.c does not open what the wolfSSL server wrote (%d)", (int)why);
			break;
		}
		case 4: { /* cs seals a few numbers ahead: both servers decide */
			if (p.cs.wseq < cli_next)
				p.cs.wseq = cli_next;
			p.cs.wseq += len ? pt[0] % 64 : 0;
			cli_next = p.cs.wseq + 1;
			size_t n;
			if (emse_record_seal(&rc, &p.cs, EMSE_REC_CT_APP, pt, len, rec, sizeof(rec), &n))
				FAIL("record.c seal (client side)");
			both_open(&p, rec, n, "record ahead");
			memcpy(last, rec, n);
			last_n = n;
			break;
		}
		}
	}
	pair_down(&p);
	return 0;
}
