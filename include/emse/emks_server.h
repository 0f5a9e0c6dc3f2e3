/* The reference EMKS's HTTP/2-over-TLS front end (control/emks/h2server.c) and the mapping of a
 * client certificate to a caller role (control/emks/auth.c). */
#ifndef EMSE_EMKS_SERVER_H
#define EMSE_EMKS_SERVER_H

#include <stddef.h>
#include <openssl/x509.h>
#include "emse/emks_api.h"

struct event_base;

/* Certificate naming (docs/emks.md):
 *   EMSE: subject OU=emse, CN=<EMSE_Id> (exactly one CN, 1..64 octets, no control characters);
 *   HSS:  subject CN=<hss_cn> (default "hss") and no OU=emse.
 * Anything else is EMKS_PEER_NONE. The chain has already been verified against --ca. */
void emks_peer_from_cert(X509 *cert, const char *hss_cn, struct emks_peer *out);

struct emks_server_config {
	const char *listen;      /* "127.0.0.1:8443", "[::1]:8443"; port 0 picks one */
	const char *cert, *key;  /* PEM server certificate (chain) and key */
	const char *ca;          /* PEM CA bundle for client certificates */
	const char *hss_cn;
	unsigned max_streams;    /* concurrent streams per connection */
	unsigned max_conns;      /* open connections (handshaking or not); more are closed at once */
	int log_requests;        /* one line per request on stderr (never keys) */
	struct emks_api *api;
};

struct emks_server;
/* Binds and listens; returns NULL with a message naming the setting in err. */
struct emks_server *emks_server_new(struct event_base *base, const struct emks_server_config *cfg,
				    char *err, size_t err_len);
/* The bound address as "host:port" ("[v6]:port"). */
const char *emks_server_address(const struct emks_server *srv);
/* Transport-level counts (hostile or broken clients never crash the server; they are counted). */
struct emks_server_stats {
	unsigned long long connections, tls_failures, h2_errors, no_h2, refused_conns;
};
const struct emks_server_stats *emks_server_stats(const struct emks_server *srv);
/* Closes the listener and every connection. */
void emks_server_free(struct emks_server *srv);

#endif
