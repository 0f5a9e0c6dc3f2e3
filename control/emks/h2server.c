/* HTTP/2 over TLS (ALPN h2, TLS 1.3 or 1.2, client certificate required) for the EMKS API:
 * libevent for the sockets, bufferevent_openssl for TLS, nghttp2 for framing. One thread; each
 * request is complete when its stream ends, and is answered at once (the store is local SQLite). */
#include "emse/emks_server.h"
#include "emse/emks_wipe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HANDSHAKE_TIMEOUT_S 10
#define OUTPUT_HIGH_WATER (256 * 1024)

struct stream {
	struct stream *prev, *next;
	int32_t id;
	int bad;          /* a header or the body broke a limit: answer 400/413 */
	int too_big;
	char method[8];
	char path[512];
	uint8_t *body;
	size_t len, cap;
	struct emks_response resp;
	size_t sent;
};

struct conn {
	struct conn *prev, *next;
	struct emks_server *srv;
	struct bufferevent *bev;
	nghttp2_session *h2;
	struct emks_peer peer;
	struct stream streams;  /* list head */
	char addr[64];
};

struct emks_server {
	struct emks_server_config cfg;
	struct event_base *base;
	SSL_CTX *ctx;
	struct evconnlistener *listener;
	struct conn conns;  /* list head */
	char address[80];
	struct emks_server_stats stats;
	unsigned open_conns;
};

/* ---- streams ---------------------------------------------------------------------------------- */

static struct stream *stream_new(struct conn *c, int32_t id)
{
	struct stream *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->id = id;
	s->next = c->streams.next;
	s->prev = &c->streams;
	if (c->streams.next)
		c->streams.next->prev = s;
	c->streams.next = s;
	return s;
}

static void stream_free(struct stream *s)
{
	s->prev->next = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->body) {
		/* register-intkey bodies carry e2mIntKey. */
		OPENSSL_cleanse(s->body, s->cap);
		free(s->body);
	}
	emks_response_clear(&s->resp);
	free(s);
}

/* ---- nghttp2 callbacks ------------------------------------------------------------------------- */

static ssize_t send_cb(nghttp2_session *h2, const uint8_t *data, size_t len, int flags, void *user)
{
	(void)h2;
	(void)flags;
	struct conn *c = user;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) >= OUTPUT_HIGH_WATER)
		return NGHTTP2_ERR_WOULDBLOCK;
	if (bufferevent_write(c->bev, data, len) != 0)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return (ssize_t)len;
}

static int begin_headers_cb(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct stream *s = stream_new(user, frame->hd.stream_id);
	if (!s)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	nghttp2_session_set_stream_user_data(h2, frame->hd.stream_id, s);
	return 0;
}

static int header_cb(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
	(void)flags;
	(void)user;
	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct stream *s = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
	if (!s)
		return 0;
	char *dst = NULL;
	size_t cap = 0;
	if (namelen == 7 && memcmp(name, ":method", 7) == 0) {
		dst = s->method;
		cap = sizeof(s->method);
	} else if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
		dst = s->path;
		cap = sizeof(s->path);
	}
	if (!dst)
		return 0;
	if (valuelen >= cap || memchr(value, '\0', valuelen)) {
		s->bad = 1;
		return 0;
	}
	memcpy(dst, value, valuelen);
	dst[valuelen] = '\0';
	return 0;
}

static int data_chunk_cb(nghttp2_session *h2, uint8_t flags, int32_t stream_id, const uint8_t *data,
			 size_t len, void *user)
{
	(void)flags;
	(void)user;
	struct stream *s = nghttp2_session_get_stream_user_data(h2, stream_id);
	if (!s || s->too_big)
		return 0;
	if (s->len + len > EMKS_BODY_MAX) {
		s->too_big = 1;
		return 0;
	}
	if (s->len + len > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		while (cap < s->len + len)
			cap *= 2;
		/* Not realloc: the old block may hold key bytes and must be wiped. */
		uint8_t *nb = malloc(cap);
		if (!nb)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		if (s->body) {
			memcpy(nb, s->body, s->len);
			OPENSSL_cleanse(s->body, s->cap);
			free(s->body);
		}
		s->body = nb;
		s->cap = cap;
	}
	memcpy(s->body + s->len, data, len);
	s->len += len;
	return 0;
}

static ssize_t body_read_cb(nghttp2_session *h2, int32_t stream_id, uint8_t *buf, size_t length,
			    uint32_t *data_flags, nghttp2_data_source *source, void *user)
{
	(void)h2;
	(void)stream_id;
	(void)user;
	struct stream *s = source->ptr;
	size_t n = s->resp.body_len - s->sent;
	if (n > length)
		n = length;
	memcpy(buf, s->resp.body + s->sent, n);
	s->sent += n;
	if (s->sent == s->resp.body_len)
		*data_flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static int64_t mono_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void bad_request(struct emks_response *r, int status, const char *cause, const char *detail)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "{\"status\":%d,\"cause\":\"%s\",\"detail\":\"%s\"}",
			 status, cause, detail);
	r->status = status;
	r->body = strdup(buf);
	r->body_len = r->body ? (size_t)n : 0;
	r->content_type = r->body ? "application/problem+json" : NULL;
}

static int respond(struct conn *c, struct stream *s)
{
	struct emks_response *r = &s->resp;
	if (s->too_big)
		bad_request(r, 413, "REQUEST_TOO_LARGE", "body over the limit");
	else if (s->bad || !s->method[0] || !s->path[0])
		bad_request(r, 400, "INVALID_MSG_FORMAT", "bad :method or :path");
	else
		emks_api_handle(c->srv->cfg.api, &c->peer, s->method, s->path, s->body, s->len,
				(int64_t)time(NULL), mono_seconds(), r);
	if (c->srv->cfg.log_requests) {
		/* subscribers/{imsi}: an IMSI is personal data, so all but its last 4 digits go. */
		char path[sizeof(s->path)];
		snprintf(path, sizeof(path), "%s", s->path);
		char *sub = strstr(path, "/subscribers/");
		if (sub) {
			char *d = sub + strlen("/subscribers/");
			size_t n = strspn(d, "0123456789");
			for (size_t i = 0; i + 4 < n; i++)
				d[i] = '*';
		}
		fprintf(stderr, "emks: %s %s %s %s -> %d\n", c->addr,
			c->peer.role == EMKS_PEER_EMSE ? c->peer.emse_id :
			c->peer.role == EMKS_PEER_HSS ? "(hss)" : "(none)",
			s->method, path, r->status);
	}

	char status[8], clen[24], retry[16];
	snprintf(status, sizeof(status), "%d", r->status);
	snprintf(clen, sizeof(clen), "%zu", r->body_len);
	snprintf(retry, sizeof(retry), "%u", r->retry_after);
	nghttp2_nv hdrs[4];
	size_t n = 0;
#define NV(k, v) (nghttp2_nv){(uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), NGHTTP2_NV_FLAG_NONE}
	hdrs[n++] = NV(":status", status);
	if (r->body) {
		hdrs[n++] = NV("content-type", r->content_type);
		hdrs[n++] = NV("content-length", clen);
	}
	if (r->retry_after)
		hdrs[n++] = NV("retry-after", retry);
#undef NV
	nghttp2_data_provider dp = {.source.ptr = s, .read_callback = body_read_cb};
	int rv = nghttp2_submit_response(c->h2, s->id, hdrs, n, r->body ? &dp : NULL);
	return rv == 0 ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int frame_recv_cb(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
	if (frame->hd.type == NGHTTP2_RST_STREAM) {
		struct conn *c = user;
		if (c->srv->cfg.log_requests)
			fprintf(stderr, "emks: %s: RST_STREAM stream %d error %u\n", c->addr,
				frame->hd.stream_id, frame->rst_stream.error_code);
	}
	if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
	    !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	struct stream *s = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
	if (!s)
		return 0;
	return respond(user, s);
}

static int stream_close_cb(nghttp2_session *h2, int32_t stream_id, uint32_t error_code, void *user)
{
	(void)error_code;
	(void)user;
	struct stream *s = nghttp2_session_get_stream_user_data(h2, stream_id);
	if (s) {
		nghttp2_session_set_stream_user_data(h2, stream_id, NULL);
		stream_free(s);
	}
	return 0;
}

/* ---- connections ------------------------------------------------------------------------------- */

static void conn_free(struct conn *c)
{
	if (c->h2)
		nghttp2_session_del(c->h2);  /* runs stream_close_cb for open streams */
	while (c->streams.next)
		stream_free(c->streams.next);
	if (c->bev)
		bufferevent_free(c->bev);
	c->prev->next = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->srv->open_conns--;
	free(c);
}

static int session_send(struct conn *c)
{
	return nghttp2_session_send(c->h2) == 0 ? 0 : -1;
}

static void readcb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	unsigned char *data = evbuffer_pullup(in, -1);
	ssize_t rv = nghttp2_session_mem_recv(c->h2, data, len);
	if (rv < 0) {
		fprintf(stderr, "emks: %s: HTTP/2 error: %s\n", c->addr, nghttp2_strerror((int)rv));
		c->srv->stats.h2_errors++;
		conn_free(c);
		return;
	}
	evbuffer_drain(in, (size_t)rv);
	if (session_send(c) != 0)
		conn_free(c);
}

static void writecb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) {
		conn_free(c);
		return;
	}
	if (session_send(c) != 0)
		conn_free(c);
}

static int alpn_is_h2(SSL *ssl)
{
	const unsigned char *p = NULL;
	unsigned int n = 0;
	SSL_get0_alpn_selected(ssl, &p, &n);
	return n == 2 && memcmp(p, "h2", 2) == 0;
}

static int start_session(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	if (!alpn_is_h2(ssl)) {
		fprintf(stderr, "emks: %s: client did not negotiate h2 (ALPN)\n", c->addr);
		c->srv->stats.no_h2++;
		return -1;
	}
	X509 *cert = SSL_get1_peer_certificate(ssl);
	emks_peer_from_cert(cert, c->srv->cfg.hss_cn, &c->peer);
	X509_free(cert);

	nghttp2_session_callbacks *cbs;
	if (nghttp2_session_callbacks_new(&cbs) != 0)
		return -1;
	nghttp2_session_callbacks_set_send_callback(cbs, send_cb);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, begin_headers_cb);
	nghttp2_session_callbacks_set_on_header_callback(cbs, header_cb);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, data_chunk_cb);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, frame_recv_cb);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, stream_close_cb);
	/* libcurl 7.88 (Debian 12) sends RST_STREAM(STREAM_CLOSED) after every complete response.
	 * nghttp2's rapid-reset guard (CVE-2023-44487: 1000 burst, 33/s) then ends a busy EMSE's
	 * connection with GOAWAY(INTERNAL_ERROR) after ~1000 requests. Our clients are authenticated
	 * by certificate and each request is answered at once, so the guard can be this loose. */
	nghttp2_option *opt = NULL;
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cbs);
		return -1;
	}
	nghttp2_option_set_stream_reset_rate_limit(opt, 1000000, 1000000);
	int rv = nghttp2_session_server_new3(&c->h2, cbs, c, opt, emks_wipe_nghttp2_mem());
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cbs);
	if (rv != 0)
		return -1;
	nghttp2_settings_entry iv[] = {
		{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, c->srv->cfg.max_streams},
	};
	if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 1) != 0)
		return -1;
	/* Past the handshake an EMSE keeps its connection open for as long as it runs. */
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	return session_send(c);
}

static void eventcb(struct bufferevent *bev, short events, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	if (events & BEV_EVENT_CONNECTED) {
		if (start_session(c) != 0)
			conn_free(c);
		return;
	}
	if (!c->h2)
		c->srv->stats.tls_failures++;  /* error, EOF or timeout before the handshake ended */
	if (events & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(c->bev);
		/* The first few, then one in 1000: a handshake flood must not flood the log. */
		unsigned long long n = c->srv->stats.tls_failures;
		if (e && !c->h2 && (n <= 10 || n % 1000 == 0)) {
			char buf[256];
			ERR_error_string_n(e, buf, sizeof(buf));
			fprintf(stderr, "emks: %s: TLS handshake failed: %s\n", c->addr, buf);
		}
	}
	conn_free(c);
}

static void acceptcb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		     void *arg)
{
	(void)l;
	(void)salen;
	struct emks_server *srv = arg;
	if (srv->open_conns >= srv->cfg.max_conns) {
		/* Keeps file descriptors and handshake work bounded under a connection flood. */
		srv->stats.refused_conns++;
		evutil_closesocket(fd);
		return;
	}
	SSL *ssl = SSL_new(srv->ctx);
	struct conn *c = calloc(1, sizeof(*c));
	if (!ssl || !c) {
		SSL_free(ssl);
		free(c);
		evutil_closesocket(fd);
		return;
	}
	c->srv = srv;
	srv->stats.connections++;
	/* Responses are small frames written as they are ready: Nagle would hold each one back for
	 * the client's delayed ACK. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)sa)->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
	}
	snprintf(c->addr, sizeof(c->addr), "%s:%d", host, port);
	c->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
						BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!c->bev) {
		SSL_free(ssl);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->next = srv->conns.next;
	c->prev = &srv->conns;
	if (srv->conns.next)
		srv->conns.next->prev = c;
	srv->conns.next = c;
	srv->open_conns++;
	struct timeval hs = {HANDSHAKE_TIMEOUT_S, 0};
	bufferevent_set_timeouts(c->bev, &hs, &hs);
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, readcb, writecb, eventcb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ---- set-up ------------------------------------------------------------------------------------- */

static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
			  const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	for (unsigned int i = 0; i < inlen;) {
		unsigned int n = in[i];
		if (i + 1 + n > inlen)
			break;
		if (n == 2 && memcmp(in + i + 1, "h2", 2) == 0) {
			*out = in + i + 1;
			*outlen = 2;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + n;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static void ssl_err(char *err, size_t err_len, const char *what, const char *path)
{
	char buf[200] = "";
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, err_len, "%s %s: %s", what, path, buf);
	ERR_clear_error();
}

static SSL_CTX *make_ctx(const struct emks_server_config *cfg, char *err, size_t err_len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, err_len, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* RFC 7540 9.2.2: TLS 1.2 for HTTP/2 needs ephemeral key exchange and AEAD. */
	SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1) {
		ssl_err(err, err_len, "--cert: cannot load", cfg->cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, err_len, "--key: cannot load or does not match --cert:", cfg->key);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, cfg->ca, NULL) != 1) {
		ssl_err(err, err_len, "--ca: cannot load", cfg->ca);
		goto fail;
	}
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->ca);
	if (names)
		SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* "a.b.c.d:port" or "[v6]:port", port 0..65535 (0: the kernel picks). */
static int parse_listen(const char *s, struct sockaddr_storage *ss, int *sslen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(ss, 0, sizeof(*ss));
	size_t hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*s6);
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return -1;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*sslen = sizeof(*s4);
	return 0;
}

struct emks_server *emks_server_new(struct event_base *base, const struct emks_server_config *cfg,
				    char *err, size_t err_len)
{
	struct sockaddr_storage ss;
	int sslen = 0;
	if (parse_listen(cfg->listen, &ss, &sslen) != 0) {
		snprintf(err, err_len, "--listen: not an IPv4:port or [IPv6]:port: %s", cfg->listen);
		return NULL;
	}
	struct emks_server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	srv->cfg = *cfg;
	srv->base = base;
	srv->ctx = make_ctx(cfg, err, err_len);
	if (!srv->ctx)
		goto fail;
	srv->listener = evconnlistener_new_bind(base, acceptcb, srv,
						LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
						(struct sockaddr *)&ss, sslen);
	if (!srv->listener) {
		snprintf(err, err_len, "--listen: cannot bind %s: %s", cfg->listen, strerror(errno));
		goto fail;
	}
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	getsockname(evconnlistener_get_fd(srv->listener), (struct sockaddr *)&bound, &blen);
	char host[INET6_ADDRSTRLEN] = "?";
	if (bound.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&bound;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(srv->address, sizeof(srv->address), "[%s]:%d", host, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&bound;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(srv->address, sizeof(srv->address), "%s:%d", host, ntohs(s4->sin_port));
	}
	return srv;
fail:
	emks_server_free(srv);
	return NULL;
}

const struct emks_server_stats *emks_server_stats(const struct emks_server *srv)
{
	return &srv->stats;
}

const char *emks_server_address(const struct emks_server *srv)
{
	return srv->address;
}

void emks_server_free(struct emks_server *srv)
{
	if (!srv)
		return;
	while (srv->conns.next)
		conn_free(srv->conns.next);
	if (srv->listener)
		evconnlistener_free(srv->listener);
	SSL_CTX_free(srv->ctx);
	free(srv);
}
