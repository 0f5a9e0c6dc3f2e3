/* The HSS's HTTP/2 client to the EMKS (include/emse/hss.h): one libcurl easy handle, reused, so
 * all pushes of a run share one TLS connection. */
#include "emse/hss.h"
#include "emse/emks_api.h"
#include "emse/emks_wipe.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hss_client {
	CURL *curl;
	struct curl_slist *headers;
	char base[512];
	int retries;
};

struct sink {
	char *buf;
	size_t len, cap;
};

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	if (s->cap > s->len + 1) {
		size_t room = s->cap - s->len - 1;
		size_t take = n < room ? n : room;
		memcpy(s->buf + s->len, data, take);
		s->len += take;
		s->buf[s->len] = '\0';
	}
	return n;
}

struct hss_client *hss_client_new(const struct hss_client_config *cfg, char *err, size_t err_len)
{
	static int global_done;
	if (!global_done) {
		/* libcurl's buffers carry e2mIntKey: have them wiped on free. */
		if (emks_wipe_curl_global_init() != 0) {
			snprintf(err, err_len, "cannot initialise libcurl");
			return NULL;
		}
		global_done = 1;
	}
	struct hss_client *c = calloc(1, sizeof(*c));
	if (!c || !(c->curl = curl_easy_init())) {
		snprintf(err, err_len, "cannot initialise libcurl");
		free(c);
		return NULL;
	}
	size_t bl = strlen(cfg->base_url);
	while (bl && cfg->base_url[bl - 1] == '/')
		bl--;
	if (bl + strlen(EMKS_BASE_PATH) + 1 > sizeof(c->base)) {
		snprintf(err, err_len, "--emks: URL too long");
		hss_client_free(c);
		return NULL;
	}
	snprintf(c->base, sizeof(c->base), "%.*s%s", (int)bl, cfg->base_url, EMKS_BASE_PATH);
	c->retries = cfg->retries;
	c->headers = curl_slist_append(NULL, "content-type: application/json");
	CURL *h = c->curl;
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->cert);
	curl_easy_setopt(h, CURLOPT_SSLKEY, cfg->key);
	curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, cfg->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	return c;
}

void hss_client_free(struct hss_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	free(c);
}

long hss_client_request(struct hss_client *c, const char *method, const char *path,
			const char *json, char *resp, size_t resp_len, char *err, size_t err_len)
{
	char url[1024];
	snprintf(url, sizeof(url), "%s%s", c->base, path);
	CURL *h = c->curl;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	/* Not COPYPOSTFIELDS: curl reads our buffer, which the caller wipes; no unwiped copy. */
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	for (int attempt = 0;; attempt++) {
		struct sink s = {resp, 0, resp_len};
		if (resp_len)
			resp[0] = '\0';
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
		CURLcode rc = curl_easy_perform(h);
		if (rc != CURLE_OK) {
			snprintf(err, err_len, "%s %s: %s", method, url, curl_easy_strerror(rc));
			return -1;
		}
		long status = 0, version = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
		if (version != CURL_HTTP_VERSION_2_0) {
			snprintf(err, err_len, "%s %s: the EMKS did not speak HTTP/2", method, url);
			return -1;
		}
		if ((status != 429 && status != 503) || attempt >= c->retries)
			return status;
		curl_off_t wait_s = 0;
		curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &wait_s);
		sleep((unsigned)(wait_s > 0 && wait_s < 30 ? wait_s : 1));
	}
}
