/* Wiping allocators (include/emse/emks_wipe.h). malloc_usable_size gives the block's size, so
 * free and realloc can cleanse the whole block before it goes back to the heap. */
#include "emse/emks_wipe.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <malloc.h>
#include <nghttp2/nghttp2.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

void *emks_wipe_malloc(size_t n)
{
	return malloc(n);
}

void emks_wipe_free(void *p)
{
	if (p) {
		OPENSSL_cleanse(p, malloc_usable_size(p));
		free(p);
	}
}

/* Never realloc in place: the old block would go back to the heap unwiped. */
void *emks_wipe_realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	if (n == 0) {
		emks_wipe_free(p);
		return NULL;
	}
	void *q = malloc(n);
	if (!q)
		return NULL;
	size_t old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	emks_wipe_free(p);
	return q;
}

static void *ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return emks_wipe_realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	emks_wipe_free(p);
}

int emks_wipe_install(void)
{
	json_set_alloc_funcs(emks_wipe_malloc, emks_wipe_free);
	event_set_mem_functions(emks_wipe_malloc, emks_wipe_realloc, emks_wipe_free);
	return CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) == 1 ? 0 : -1;
}

static char *wipe_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

int emks_wipe_curl_global_init(void)
{
	return curl_global_init_mem(CURL_GLOBAL_DEFAULT, emks_wipe_malloc, emks_wipe_free,
				    emks_wipe_realloc, wipe_strdup, calloc) == CURLE_OK ? 0 : -1;
}

static void *h2_malloc(size_t n, void *ud)
{
	(void)ud;
	return malloc(n);
}

static void h2_free(void *p, void *ud)
{
	(void)ud;
	emks_wipe_free(p);
}

static void *h2_calloc(size_t n, size_t size, void *ud)
{
	(void)ud;
	return calloc(n, size);
}

static void *h2_realloc(void *p, size_t n, void *ud)
{
	(void)ud;
	return emks_wipe_realloc(p, n);
}

void *emks_wipe_nghttp2_mem(void)
{
	static nghttp2_mem mem = {NULL, h2_malloc, h2_free, h2_calloc, h2_realloc};
	return &mem;
}
