#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/memory.h>
#include <stdlib.h>
#include <string.h>

#include "emse/dtls/dtls.h"
#include "emse/dtls/handshake.h"

/* The send path needs the worker; one pool per worker thread, so a thread-local binding is the
 * cheapest way to reach it from wolfSSL's callback without widening every session. */
static _Thread_local struct emse_dtls_pool *cur_pool;

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	int n = ctx ? emse_dtls_conn_recv(ctx, (uint8_t *)buf, sz) : -1;
	return n < 0 ? WOLFSSL_CBIO_ERR_WANT_READ : n;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct emse_session *s = ctx;
	struct emse_dtls_pool *p = cur_pool;
	(void)ssl;
	if (!s || !p || p->send(p->worker, s, (const uint8_t *)buf, (size_t)sz) != 0)
		/* No mbuf: behave like a lost datagram, the retransmission timer recovers. */
		return sz;
	return sz;
}

/* wolfSSL_dtls_export* wants a peer even with custom I/O; the real peer lives in the session. */
static int io_get_peer(WOLFSSL *ssl, char *ip, int *ip_sz, unsigned short *port, int *fam)
{
	(void)ssl;
	if (*ip_sz < 8)
		return WOLFSSL_FAILURE;
	strcpy(ip, "0.0.0.0");
	*ip_sz = 7;
	*port = 0;
	*fam = 2; /* AF_INET */
	return WOLFSSL_SUCCESS;
}

static int io_set_peer(WOLFSSL *ssl, char *ip, int ip_sz, unsigned short port, int fam)
{
	(void)ssl, (void)ip, (void)ip_sz, (void)port, (void)fam;
	return WOLFSSL_SUCCESS;
}

/* The key was looked up before wolfSSL saw the ClientKeyExchange (the callback cannot wait);
 * it is attached to the session, and the identity wolfSSL parsed must be the one we peeked. */
static unsigned int psk_server_cb(WOLFSSL *ssl, const char *identity, unsigned char *key,
				  unsigned int max_len)
{
	struct emse_session *s = wolfSSL_GetIOReadCtx(ssl);
	if (!s || !identity)
		return 0;
	return emse_dtls_conn_psk(s, identity, key, max_len);
}

int emse_dtls_global_init(void)
{
	return wolfSSL_Init() == WOLFSSL_SUCCESS ? 0 : -1;
}

WOLFSSL_CTX *emse_dtls_ctx_new(uint32_t suites, const char *psk_hint)
{
	char list[128] = "";
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfDTLSv1_2_server_method());
	if (!ctx)
		return NULL;
	/* RFC 7925's IoT profile suite first. */
	if (suites & EMSE_SUITE_CCM8)
		strcat(list, "PSK-AES128-CCM-8:");
	if (suites & EMSE_SUITE_GCM)
		strcat(list, "PSK-AES128-GCM-SHA256:");
	if (suites & EMSE_SUITE_CBC)
		strcat(list, "PSK-AES128-CBC-SHA256:");
	if (list[0])
		list[strlen(list) - 1] = '\0';
	if (wolfSSL_CTX_set_cipher_list(ctx, list) != WOLFSSL_SUCCESS)
		goto fail;
	wolfSSL_CTX_set_psk_server_callback(ctx, psk_server_cb);
	if (psk_hint && psk_hint[0] &&
	    wolfSSL_CTX_use_psk_identity_hint(ctx, psk_hint) != WOLFSSL_SUCCESS)
		goto fail;
	wolfSSL_CTX_SetIORecv(ctx, io_recv);
	wolfSSL_CTX_SetIOSend(ctx, io_send);
	wolfSSL_CTX_SetIOGetPeer(ctx, io_get_peer);
	wolfSSL_CTX_SetIOSetPeer(ctx, io_set_peer);
	return ctx;
fail:
	wolfSSL_CTX_free(ctx);
	return NULL;
}

void emse_dtls_ctx_free(WOLFSSL_CTX *ctx)
{
	wolfSSL_CTX_free(ctx);
}

static WOLFSSL *new_object(struct emse_dtls_pool *p)
{
	WOLFSSL *ssl = wolfSSL_new(p->ctx);
	if (ssl)
		p->created++;
	return ssl;
}

int emse_dtls_pool_init(struct emse_dtls_pool *p, WOLFSSL_CTX *ctx, uint32_t target,
			void *worker, emse_dtls_send_fn send)
{
	memset(p, 0, sizeof(*p));
	p->ctx = ctx;
	p->target = target;
	p->cap = target;
	p->worker = worker;
	p->send = send;
	p->free = calloc(target, sizeof(*p->free));
	if (!p->free)
		return -1;
	cur_pool = p;
	/* The reset state: a never-used object's DTLS state. wolfSSL_clear alone leaves epoch,
	 * sequence numbers and window behind (WOLFSSL-NOTES.md). */
	WOLFSSL *proto = new_object(p);
	if (!proto)
		return -1;
	unsigned int len = sizeof(p->blob);
	int rc = wolfSSL_dtls_export_state_only(proto, p->blob, &len);
	wolfSSL_free(proto);
	if (rc <= 0)
		return -1;
	p->blob_len = len;
	emse_dtls_pool_refill(p, target);
	return p->n_free == target ? 0 : -1;
}

void emse_dtls_pool_bind(struct emse_dtls_pool *p)
{
	cur_pool = p;
}

void emse_dtls_pool_fini(struct emse_dtls_pool *p)
{
	for (uint32_t i = 0; i < p->n_free; i++)
		wolfSSL_free(p->free[i]);
	free(p->free);
	p->free = NULL;
	p->n_free = 0;
}

unsigned emse_dtls_pool_refill(struct emse_dtls_pool *p, unsigned max_new)
{
	unsigned made = 0;
	while (p->n_free + p->out < p->target && made < max_new) {
		WOLFSSL *ssl = new_object(p);
		if (!ssl)
			break;
		p->free[p->n_free++] = ssl;
		made++;
	}
	return made;
}

WOLFSSL *emse_dtls_pool_get(struct emse_dtls_pool *p, struct emse_session *s,
			    const uint8_t *cookie_secret, size_t secret_len, const uint8_t *peer,
			    size_t peer_len)
{
	if (!p->n_free)
		return NULL;
	WOLFSSL *ssl = p->free[--p->n_free];
	p->out++;
	wolfSSL_SetIOReadCtx(ssl, s);
	wolfSSL_SetIOWriteCtx(ssl, s);
	if (wolfSSL_DTLS_SetCookieSecret(ssl, cookie_secret, (word32)secret_len) != 0 ||
	    wolfSSL_dtls_set_peer(ssl, (void *)peer, (unsigned)peer_len) != WOLFSSL_SUCCESS) {
		wolfSSL_free(ssl);
		p->discarded++;
		p->out--;
		return NULL;
	}
	return ssl;
}

void emse_dtls_pool_detach(struct emse_dtls_pool *p)
{
	p->out--;
}

void emse_dtls_pool_put(struct emse_dtls_pool *p, WOLFSSL *ssl, int fatal, int detached)
{
	if (!ssl)
		return;
	if (!detached)
		p->out--;
	wolfSSL_SetIOReadCtx(ssl, NULL);
	wolfSSL_SetIOWriteCtx(ssl, NULL);
	if (fatal || p->n_free + p->out >= p->cap || wolfSSL_clear(ssl) != WOLFSSL_SUCCESS ||
	    wolfSSL_dtls_import(ssl, p->blob, p->blob_len) <= 0) {
		wolfSSL_free(ssl);
		p->discarded++;
		return;
	}
	p->reused++;
	p->free[p->n_free++] = ssl;
}

enum emse_dtls_rc emse_dtls_handshake(WOLFSSL *ssl, struct emse_session *s, const uint8_t *dgram,
				      size_t len, int *err)
{
	emse_dtls_conn_input(s, dgram, len);
	int ret = wolfSSL_accept(ssl);
	emse_dtls_conn_input(s, NULL, 0);
	if (ret == WOLFSSL_SUCCESS)
		return EMSE_DTLS_DONE;
	int e = wolfSSL_get_error(ssl, ret);
	if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
		return EMSE_DTLS_WANT;
	*err = e;
	return EMSE_DTLS_FATAL;
}

enum emse_dtls_rc emse_dtls_read(WOLFSSL *ssl, struct emse_session *s, const uint8_t *dgram,
				 size_t len, uint8_t *buf, size_t buf_size, emse_dtls_data_fn on_data,
				 void *arg, int *err)
{
	emse_dtls_conn_input(s, dgram, len);
	for (;;) {
		int n = wolfSSL_read(ssl, buf, (int)buf_size);
		if (n > 0) {
			on_data(arg, s, buf, (size_t)n);
			continue;
		}
		emse_dtls_conn_input(s, NULL, 0);
		int e = wolfSSL_get_error(ssl, n);
		if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
			return EMSE_DTLS_WANT;
		if (e == WOLFSSL_ERROR_ZERO_RETURN)
			return EMSE_DTLS_CLOSED;
		*err = e;
		return EMSE_DTLS_FATAL;
	}
}

int emse_dtls_write(WOLFSSL *ssl, const uint8_t *data, size_t len)
{
	return wolfSSL_write(ssl, data, (int)len) == (int)len ? 0 : -1;
}

int emse_dtls_timeout_s(WOLFSSL *ssl)
{
	return wolfSSL_dtls_get_current_timeout(ssl);
}

int emse_dtls_retransmit(WOLFSSL *ssl)
{
	return wolfSSL_dtls_got_timeout(ssl) == WOLFSSL_SUCCESS ? 0 : -1;
}

void emse_dtls_shutdown(WOLFSSL *ssl)
{
	wolfSSL_shutdown(ssl);
}

const char *emse_dtls_cipher(WOLFSSL *ssl)
{
	return wolfSSL_get_cipher_name(ssl);
}

/* wolfSSL has no public call to send an alert on a live handshake; its own (internal.h) is
 * linkable from the static library. The e2e test "wrong key" proves it still works. */
int SendAlert(WOLFSSL *ssl, int severity, int type);

uint32_t emse_dtls_mac_drops(WOLFSSL *ssl)
{
	word32 mac = 0, replay = 0;
	wolfSSL_dtls_get_drop_stats(ssl, &mac, &replay);
	return mac;
}

void emse_dtls_alert_bad_mac(WOLFSSL *ssl)
{
	SendAlert(ssl, alert_fatal, bad_record_mac);
}

int emse_dtls_fail_reason(int err)
{
	switch (err) {
	case VERIFY_FINISHED_ERROR:
	case VERIFY_MAC_ERROR:
	case DECRYPT_ERROR:
		return EMSE_HS_FAIL_BAD_FINISHED;
	case FATAL_ERROR:
		return EMSE_HS_FAIL_ALERT;
	case PSK_KEY_ERROR:
		return EMSE_HS_FAIL_NO_KEY;
	default:
		return EMSE_HS_FAIL_PROTOCOL;
	}
}
