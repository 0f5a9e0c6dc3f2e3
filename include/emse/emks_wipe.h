/* Allocators that wipe every block they free, for the EMKS and the HSS simulator: request and
 * response bytes (e2mIntKey, e2mKey) pass through buffers of libevent, nghttp2, OpenSSL, libcurl
 * and jansson that those libraries free without wiping. */
#ifndef EMSE_EMKS_WIPE_H
#define EMSE_EMKS_WIPE_H

#include <stddef.h>

/* Installs the wiping allocators in OpenSSL, libevent and jansson. Call first in main, before
 * anything allocates through those libraries. Returns 0, or -1 if OpenSSL had already allocated. */
int emks_wipe_install(void);
/* The same for libcurl: call instead of curl_global_init (before any curl use). */
int emks_wipe_curl_global_init(void);

/* nghttp2 takes its allocator per session: an nghttp2_mem * (void * to keep nghttp2.h out). */
void *emks_wipe_nghttp2_mem(void);

void *emks_wipe_malloc(size_t n);
void *emks_wipe_realloc(void *p, size_t n);
void emks_wipe_free(void *p);

#endif
