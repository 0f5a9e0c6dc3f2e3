/* The EMKS key provider: each batch is one POST retrieve-e2mkeys over HTTP/2 with the EMSE's
 * client certificate, driven by libcurl's multi interface from the control thread's step (never
 * blocking: curl_multi_perform only). Streams to one EMKS share one connection per certificate.
 *
 * Failure policy, all in poll():
 * - a batch has a deadline; a failed request (connect, TLS, timeout, 5xx, 429/503) is retried after
 *   an exponential backoff, or after Retry-After if the EMKS sent one, as long as the deadline
 *   allows; past it the batch is answered TIMEOUT or UNAVAILABLE;
 * - Retry-After also holds back every new request to the EMKS until then;
 * - breaker: after breaker_threshold consecutive failed requests it opens, and batches are
 *   answered UNAVAILABLE at once (handshakes fail fast instead of piling up); after breaker_open_ms
 *   one batch goes through as a probe; its success closes the breaker, its failure reopens it.
 * A malformed 200 answer is not retried: the EMKS is up, asking again would not help. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "emse/control.h"
#include "emse/emks_client.h"
#include "emse/keyprov.h"

enum bstate { B_WAITING, B_INFLIGHT };

#define EMSE_REGISTER_URL_MAX 4096

struct ebatch {
	struct ebatch *prev, *next;
	uint64_t id;
	unsigned ident;
	unsigned n;
	enum bstate state;
	unsigned attempts;
	uint64_t deadline_ms, next_try_ms, sent_ms;
	int last_err; /* enum emse_keyprov_err of the last failure, -1 none */
	int probe;    /* this request is the breaker's probe */
	uint64_t seq; /* of its current request, in sending order */
	CURL *easy;
	struct curl_slist *hdrs;
	char *req_body;
	char *resp;
	size_t resp_len, resp_cap;
	int resp_too_big;
	long retry_after_s; /* -1 none */
	struct emse_keyprov_item items[];
};

struct eprov {
	struct emse_keyprov base;
	struct emse_emks_config cfg;
	char *url;
	char *ca_file;
	struct {
		char *emse_id, *cert, *key;
		int registered; /* register-emse accepted: requests leave emseId out */
	} ids[16];
	CURLM *multi;
	struct ebatch *batches, *last; /* oldest first: started in the order submitted */
	unsigned n_inflight;
	uint64_t holdoff_until_ms;
	uint32_t consecutive_failures;
	uint64_t send_seq, seq_at_failure; /* requests sent; send_seq at the last counted failure */
	enum emse_breaker_state breaker;
	uint64_t breaker_until_ms;
	int probe_inflight;
	double tokens;              /* max_requests_per_s bucket */
	uint64_t tokens_at_ms;
	struct emse_keyprov_stats st;
	struct emse_keyprov_result res[EMSE_KEYPROV_BATCH_MAX];
};

void emse_emks_config_default(struct emse_emks_config *c)
{
	memset(c, 0, sizeof(*c));
	c->base_url = "https://127.0.0.1:8443";
	c->connect_timeout_ms = 500;
	c->request_timeout_ms = 1000;
	c->deadline_ms = 3000;
	c->max_retries = 2;
	c->backoff_base_ms = 50;
	c->backoff_max_ms = 1000;
	c->breaker_threshold = 3;
	c->breaker_open_ms = 1000;
	c->max_requests = 64;
	c->max_requests_per_s = 500;
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct ebatch *b = ud;
	size_t n = size * nmemb;
	if (b->resp_len + n + 1 > EMKS_BODY_MAX) {
		b->resp_too_big = 1;
		return 0; /* curl aborts with CURLE_WRITE_ERROR */
	}
	if (b->resp_len + n + 1 > b->resp_cap) {
		size_t ncap = b->resp_cap ? b->resp_cap : 4096;
		while (ncap < b->resp_len + n + 1)
			ncap *= 2;
		char *nb = malloc(ncap);
		if (!nb)
			return 0;
		if (b->resp) {
			memcpy(nb, b->resp, b->resp_len);
			OPENSSL_cleanse(b->resp, b->resp_cap);
			free(b->resp);
		}
		b->resp = nb;
		b->resp_cap = ncap;
	}
	memcpy(b->resp + b->resp_len, ptr, n);
	b->resp_len += n;
	b->resp[b->resp_len] = '\0';
	return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct ebatch *b = ud;
	size_t n = size * nitems;
	static const char name[] = "retry-after:";
	if (n > sizeof(name) - 1 && n < 128 && strncasecmp(buf, name, sizeof(name) - 1) == 0) {
		char v[128];
		memcpy(v, buf + sizeof(name) - 1, n - (sizeof(name) - 1));
		v[n - (sizeof(name) - 1)] = '\0';
		uint32_t d;
		if (emks_parse_retry_after(v, (uint64_t)time(NULL), &d) == 0)
			b->retry_after_s = d;
	}
	return n;
}

static void release_request(struct eprov *p, struct ebatch *b)
{
	if (b->easy) {
		curl_multi_remove_handle(p->multi, b->easy);
		curl_easy_cleanup(b->easy);
		b->easy = NULL;
		p->n_inflight--;
	}
	curl_slist_free_all(b->hdrs);
	b->hdrs = NULL;
	if (b->resp) {
		OPENSSL_cleanse(b->resp, b->resp_cap);
		free(b->resp);
	}
	b->resp = NULL;
	b->resp_len = b->resp_cap = 0;
	b->resp_too_big = 0;
	b->retry_after_s = -1;
}

static void unlink_free(struct eprov *p, struct ebatch *b)
{
	release_request(p, b);
	if (b->prev)
		b->prev->next = b->next;
	else
		p->batches = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else
		p->last = b->prev;
	free(b->req_body);
	free(b);
}

/* Answers the whole batch with one status (failures), or with p->res (filled by the parser). */
static void finish(struct eprov *p, struct ebatch *b, int all_status)
{
	if (all_status >= 0)
		for (unsigned i = 0; i < b->n; i++) {
			memset(&p->res[i], 0, sizeof(p->res[i]));
			p->res[i].status = (uint32_t)all_status;
		}
	for (unsigned i = 0; i < b->n; i++) {
		switch (p->res[i].status) {
		case EMSE_FETCH_OK: p->st.item_ok++; break;
		case EMSE_FETCH_NO_KEY: p->st.item_no_key++; break;
		case EMSE_FETCH_FORBIDDEN: p->st.item_forbidden++; break;
		default: p->st.item_error++; break;
		}
	}
	uint64_t id = b->id;
	unsigned n = b->n;
	unlink_free(p, b);
	p->base.done(p->base.done_ctx, id, p->res, n);
	OPENSSL_cleanse(p->res, n * sizeof(p->res[0]));
}

static void breaker_success(struct eprov *p)
{
	p->consecutive_failures = 0;
	p->breaker = EMSE_BREAKER_CLOSED;
}

/* Only a request sent after the last counted failure counts: when a connection dies under 64
 * streams (a GOAWAY, a reset), that is one failure of the EMKS, not 64. */
static void breaker_failure(struct eprov *p, const struct ebatch *b, uint64_t now)
{
	if (b->seq <= p->seq_at_failure)
		return;
	p->seq_at_failure = p->send_seq;
	p->consecutive_failures++;
	if (p->breaker == EMSE_BREAKER_HALF_OPEN ||
	    (p->breaker == EMSE_BREAKER_CLOSED &&
	     p->consecutive_failures >= p->cfg.breaker_threshold)) {
		p->breaker = EMSE_BREAKER_OPEN;
		p->breaker_until_ms = now + p->cfg.breaker_open_ms;
		p->st.breaker_opens++;
	}
}

static int start_request(struct eprov *p, struct ebatch *b, uint64_t now)
{
	CURL *e = curl_easy_init();
	if (!e)
		return -1;
	b->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	b->hdrs = curl_slist_append(b->hdrs, "Accept: application/json, application/problem+json");
	b->retry_after_s = -1;
	curl_easy_setopt(e, CURLOPT_URL, p->url);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L); /* wait for the h2 connection, do not open more */
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, b->req_body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(b->req_body));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, b->hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, b);
	curl_easy_setopt(e, CURLOPT_PRIVATE, b);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)p->cfg.connect_timeout_ms);
	uint64_t left = b->deadline_ms > now ? b->deadline_ms - now : 1;
	uint64_t t = p->cfg.request_timeout_ms < left ? p->cfg.request_timeout_ms : left;
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)t);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (p->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, p->ca_file);
	curl_easy_setopt(e, CURLOPT_SSLCERT, p->ids[b->ident].cert);
	curl_easy_setopt(e, CURLOPT_SSLKEY, p->ids[b->ident].key);
	if (p->cfg.verbose)
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
	if (curl_multi_add_handle(p->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		curl_slist_free_all(b->hdrs);
		b->hdrs = NULL;
		return -1;
	}
	b->easy = e;
	b->state = B_INFLIGHT;
	b->sent_ms = now;
	b->seq = ++p->send_seq;
	b->attempts++;
	p->n_inflight++;
	p->st.requests++;
	if (b->attempts > 1)
		p->st.retries++;
	return 0;
}

static int status_for(int err)
{
	return err == EMSE_PERR_TIMEOUT ? EMSE_FETCH_TIMEOUT : EMSE_FETCH_UNAVAILABLE;
}

/* A failed request: retry if the deadline, the retry budget and the breaker allow. */
static void failed(struct eprov *p, struct ebatch *b, int err, int breaker_counts, uint64_t now)
{
	p->st.errors[err]++;
	b->last_err = err;
	if (breaker_counts)
		breaker_failure(p, b, now);
	if (b->probe) {
		b->probe = 0;
		p->probe_inflight = 0;
	}
	uint64_t delay = (uint64_t)p->cfg.backoff_base_ms << (b->attempts > 0 ? b->attempts - 1 : 0);
	if (delay > p->cfg.backoff_max_ms)
		delay = p->cfg.backoff_max_ms;
	if (b->retry_after_s >= 0 && (uint64_t)b->retry_after_s * 1000 > delay)
		delay = (uint64_t)b->retry_after_s * 1000;
	release_request(p, b);
	if (b->attempts > p->cfg.max_retries || now + delay >= b->deadline_ms ||
	    p->breaker == EMSE_BREAKER_OPEN) {
		finish(p, b, status_for(err));
		return;
	}
	b->state = B_WAITING;
	b->next_try_ms = now + delay;
}

static int classify_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return EMSE_PERR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CLIENTCERT:
		return EMSE_PERR_TLS;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_PARTIAL_FILE:
		return EMSE_PERR_CONNECT;
	default:
		return EMSE_PERR_OTHER;
	}
}

static void on_done(struct eprov *p, struct ebatch *b, CURLcode rc, uint64_t now)
{
	if (b->resp_too_big) {
		p->st.errors[EMSE_PERR_PARSE]++;
		breaker_success(p); /* it answered */
		if (b->probe)
			p->probe_inflight = 0;
		finish(p, b, EMSE_FETCH_ERROR);
		return;
	}
	if (rc != CURLE_OK) {
		failed(p, b, classify_curl(rc), 1, now);
		return;
	}
	long code = 0, ver = 0;
	curl_easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(b->easy, CURLINFO_HTTP_VERSION, &ver);
	if (ver == CURL_HTTP_VERSION_2_0)
		p->st.responses_h2++;
	uint64_t lat = now > b->sent_ms ? now - b->sent_ms : 0;
	emse_lat_hist_add(p->st.latency_ms, lat);
	p->st.latency_ms_sum += lat;
	if (code == 429 || code == 503) {
		if (b->retry_after_s > 0)
			p->holdoff_until_ms = now + (uint64_t)b->retry_after_s * 1000;
		/* 429 says busy, not down: it does not move the breaker. */
		failed(p, b, code == 429 ? EMSE_PERR_HTTP_429 : EMSE_PERR_HTTP_503, code == 503, now);
		return;
	}
	if (code >= 500) {
		failed(p, b, EMSE_PERR_HTTP_5XX, 1, now);
		return;
	}
	breaker_success(p);
	if (b->probe)
		p->probe_inflight = 0;
	if (code == 200) {
		unsigned bad = 0;
		int r = emks_parse_batch_response(b->resp, b->resp_len, b->items, b->n, p->res, &bad);
		if (r != 0 || bad > 0)
			p->st.errors[EMSE_PERR_PARSE]++;
		finish(p, b, -1);
		return;
	}
	if (code == 403) {
		p->st.errors[EMSE_PERR_HTTP_4XX]++;
		finish(p, b, EMSE_FETCH_FORBIDDEN);
		return;
	}
	p->st.errors[code >= 400 && code < 500 ? EMSE_PERR_HTTP_4XX : EMSE_PERR_HTTP_OTHER]++;
	finish(p, b, EMSE_FETCH_ERROR);
}

/* Starts what is due; fails fast what the breaker or a long Retry-After forbids. */
static unsigned start_due(struct eprov *p, uint64_t now)
{
	unsigned work = 0;
	for (struct ebatch *b = p->batches, *next; b; b = next) {
		next = b->next;
		if (b->state != B_WAITING || b->next_try_ms > now)
			continue;
		if (now >= b->deadline_ms) {
			finish(p, b, b->last_err >= 0 ? status_for(b->last_err) : EMSE_FETCH_TIMEOUT);
			work++;
			continue;
		}
		if (p->breaker == EMSE_BREAKER_OPEN && now >= p->breaker_until_ms) {
			p->breaker = EMSE_BREAKER_HALF_OPEN;
			p->probe_inflight = 0;
		}
		if (p->breaker == EMSE_BREAKER_OPEN ||
		    (p->breaker == EMSE_BREAKER_HALF_OPEN && p->probe_inflight)) {
			p->st.errors[EMSE_PERR_BREAKER]++;
			p->st.breaker_rejects++;
			finish(p, b, EMSE_FETCH_UNAVAILABLE);
			work++;
			continue;
		}
		if (now < p->holdoff_until_ms) {
			if (p->holdoff_until_ms >= b->deadline_ms) {
				p->st.errors[EMSE_PERR_HELD_OFF]++;
				finish(p, b, EMSE_FETCH_UNAVAILABLE);
				work++;
			} else {
				b->next_try_ms = p->holdoff_until_ms;
			}
			continue;
		}
		if (p->n_inflight >= p->cfg.max_requests)
			break; /* the rest waits for a free slot, in order */
		/* Requests per second: a token bucket holding one second's worth. */
		double rate = p->cfg.max_requests_per_s;
		p->tokens += (double)(now - p->tokens_at_ms) * rate / 1000.0;
		if (p->tokens > rate)
			p->tokens = rate;
		p->tokens_at_ms = now;
		if (p->tokens < 1.0) {
			uint64_t wait_ms = (uint64_t)((1.0 - p->tokens) * 1000.0 / rate) + 1;
			if (now + wait_ms >= b->deadline_ms) {
				p->st.errors[EMSE_PERR_RATE_LIMIT]++;
				finish(p, b, EMSE_FETCH_OVERLOAD);
				work++;
				continue;
			}
			p->st.rate_limited++;
			b->next_try_ms = now + wait_ms;
			break; /* in order: the rest waits too */
		}
		p->tokens -= 1.0;
		if (p->breaker == EMSE_BREAKER_HALF_OPEN) {
			b->probe = 1;
			p->probe_inflight = 1;
		}
		if (start_request(p, b, now) != 0) {
			if (b->probe) {
				b->probe = 0;
				p->probe_inflight = 0;
			}
			p->st.errors[EMSE_PERR_OTHER]++;
			finish(p, b, EMSE_FETCH_ERROR);
		}
		work++;
	}
	return work;
}

static unsigned e_poll(struct emse_keyprov *bp, uint64_t now)
{
	struct eprov *p = (struct eprov *)bp;
	unsigned work = start_due(p, now);
	if (p->n_inflight == 0)
		return work;
	int running = 0;
	curl_multi_perform(p->multi, &running);
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(p->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct ebatch *b = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&b);
		CURLcode rc = m->data.result;
		if (b) {
			on_done(p, b, rc, now);
			work++;
		}
	}
	return work;
}

static int e_submit(struct emse_keyprov *bp, uint64_t batch_id, const char *emse_id,
		    const struct emse_keyprov_item *items, unsigned n, uint64_t now)
{
	struct eprov *p = (struct eprov *)bp;
	if (n == 0 || n > EMSE_KEYPROV_BATCH_MAX)
		return -1;
	unsigned ident = 0;
	while (ident < p->cfg.n_ids && strcmp(p->ids[ident].emse_id, emse_id) != 0)
		ident++;
	if (ident == p->cfg.n_ids) {
		p->st.errors[EMSE_PERR_OTHER]++;
		return -1;
	}
	struct ebatch *b = calloc(1, sizeof(*b) + n * sizeof(b->items[0]));
	if (!b) {
		p->st.errors[EMSE_PERR_OTHER]++;
		return -1;
	}
	memcpy(b->items, items, n * sizeof(items[0]));
	b->req_body = emks_build_batch_request_ex(emse_id, p->ids[ident].registered, items, n);
	if (!b->req_body) {
		free(b);
		p->st.errors[EMSE_PERR_OTHER]++;
		return -1;
	}
	b->id = batch_id;
	b->ident = ident;
	b->n = n;
	b->state = B_WAITING;
	b->next_try_ms = now;
	b->deadline_ms = now + p->cfg.deadline_ms;
	b->last_err = -1;
	b->retry_after_s = -1;
	b->prev = p->last;
	if (p->last)
		p->last->next = b;
	else
		p->batches = b;
	p->last = b;
	p->st.batches++;
	p->st.items += n;
	return 0;
}

static void e_stats(struct emse_keyprov *bp, struct emse_keyprov_stats *out)
{
	struct eprov *p = (struct eprov *)bp;
	*out = p->st;
	out->inflight = p->n_inflight;
	out->breaker_state = p->breaker;
}

static void e_destroy(struct emse_keyprov *bp)
{
	struct eprov *p = (struct eprov *)bp;
	if (!p)
		return;
	while (p->batches)
		unlink_free(p, p->batches);
	if (p->multi)
		curl_multi_cleanup(p->multi);
	for (unsigned i = 0; i < 16; i++) {
		free(p->ids[i].emse_id);
		free(p->ids[i].cert);
		free(p->ids[i].key);
	}
	free(p->url);
	free(p->ca_file);
	OPENSSL_cleanse(p->res, sizeof(p->res));
	free(p);
}

/* One blocking register-emse for identity i, at start-up (before any batch): 0 on 204. */
static int register_emse(struct eprov *p, unsigned i, const char *base_url, char *why,
			 size_t why_len)
{
	CURL *e = curl_easy_init();
	struct curl_slist *hdrs = curl_slist_append(NULL, "content-type: application/json");
	json_t *j = json_pack("{s:s}", "emseId", p->ids[i].emse_id);
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	size_t bl = strlen(base_url);
	while (bl && base_url[bl - 1] == '/')
		bl--;
	char url[EMSE_REGISTER_URL_MAX];
	int ulen = snprintf(url, sizeof(url), "%.*s%s", (int)bl, base_url, EMKS_PATH_REGISTER_EMSE);
	int rc = -1;
	if (!e || !hdrs || !body || ulen < 0 || (size_t)ulen >= sizeof(url)) {
		snprintf(why, why_len, "out of memory or URL too long");
		goto out;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)p->cfg.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
			 (long)(p->cfg.connect_timeout_ms + p->cfg.request_timeout_ms));
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (p->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, p->ca_file);
	curl_easy_setopt(e, CURLOPT_SSLCERT, p->ids[i].cert);
	curl_easy_setopt(e, CURLOPT_SSLKEY, p->ids[i].key);
	CURLcode cr = curl_easy_perform(e);
	long code = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	if (cr != CURLE_OK)
		snprintf(why, why_len, "%s", curl_easy_strerror(cr));
	else if (code != 204)
		snprintf(why, why_len, "HTTP %ld", code);
	else
		rc = 0;
out:
	free(body);
	curl_slist_free_all(hdrs);
	if (e)
		curl_easy_cleanup(e);
	return rc;
}

static const struct emse_keyprov_ops emks_ops = {
	.name = "emks",
	.submit = e_submit,
	.poll = e_poll,
	.stats = e_stats,
	.destroy = e_destroy,
};

struct emse_keyprov *emse_keyprov_emks_create(const struct emse_emks_config *cfg, char *err,
					      size_t err_len)
{
	if (!cfg->base_url || cfg->n_ids == 0 || cfg->n_ids > 16) {
		snprintf(err, err_len, "emks: need a base URL and 1..16 EMSE identities");
		return NULL;
	}
	/* OpenSSL writes to the EMKS socket with plain write(): when the EMKS dies under a
	 * connection, the next write raises SIGPIPE, whose default action ends emse. libcurl blocks
	 * it only around its own calls, and only without CURLOPT_NOSIGNAL. A handler someone else
	 * installed is left alone. */
	struct sigaction sa;
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	static int curl_ready;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, err_len, "emks: curl_global_init failed");
			return NULL;
		}
		curl_ready = 1;
	}
	curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	if (!(vi->features & CURL_VERSION_HTTP2)) {
		snprintf(err, err_len, "emks: libcurl has no HTTP/2");
		return NULL;
	}
	struct eprov *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, err_len, "emks: out of memory");
		return NULL;
	}
	p->base.ops = &emks_ops;
	p->cfg = *cfg;
	struct emse_emks_config def;
	emse_emks_config_default(&def);
	/* zero means "the default" for every number */
#define DEF(f) if (!p->cfg.f) p->cfg.f = def.f
	DEF(connect_timeout_ms);
	DEF(request_timeout_ms);
	DEF(deadline_ms);
	DEF(backoff_base_ms);
	DEF(backoff_max_ms);
	DEF(breaker_threshold);
	DEF(breaker_open_ms);
	DEF(max_requests);
	DEF(max_requests_per_s);
#undef DEF
	size_t ulen = strlen(cfg->base_url) + sizeof(EMKS_PATH_RETRIEVE_BATCH);
	p->url = malloc(ulen);
	if (p->url) {
		size_t bl = strlen(cfg->base_url);
		while (bl && cfg->base_url[bl - 1] == '/')
			bl--;
		snprintf(p->url, ulen, "%.*s%s", (int)bl, cfg->base_url, EMKS_PATH_RETRIEVE_BATCH);
	}
	p->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
	int bad = !p->url || (cfg->ca_file && !p->ca_file);
	for (unsigned i = 0; i < cfg->n_ids && !bad; i++) {
		const struct emse_emks_identity *id = &cfg->ids[i];
		if (!id->emse_id || !id->cert || !id->key || strlen(id->emse_id) > E2M_EMSE_ID_MAX) {
			snprintf(err, err_len, "emks: identity %u needs emse_id, cert and key", i);
			e_destroy(&p->base);
			return NULL;
		}
		p->ids[i].emse_id = strdup(id->emse_id);
		p->ids[i].cert = strdup(id->cert);
		p->ids[i].key = strdup(id->key);
		bad = !p->ids[i].emse_id || !p->ids[i].cert || !p->ids[i].key;
	}
	p->multi = bad ? NULL : curl_multi_init();
	if (!p->multi) {
		snprintf(err, err_len, "emks: out of memory");
		e_destroy(&p->base);
		return NULL;
	}
	curl_multi_setopt(p->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	/* Not fatal: sending emseId stays valid (SPEC.md 6), so an EMKS that is down or refuses at
	 * start-up costs that identity nothing but the bytes of its emseId. */
	for (unsigned i = 0; cfg->register_emse && i < cfg->n_ids; i++) {
		char why[256];
		if (register_emse(p, i, cfg->base_url, why, sizeof(why)) == 0) {
			p->ids[i].registered = 1;
			p->st.emse_registered++;
			fprintf(stderr, "emse: [emks] register_emse: %s registered; its requests omit "
					"emseId\n", p->ids[i].emse_id);
		} else {
			p->st.emse_register_failures++;
			fprintf(stderr, "emse: [emks] register_emse: %s: register-emse failed (%s); its "
					"requests keep sending emseId\n", p->ids[i].emse_id, why);
		}
	}
	return &p->base;
}
