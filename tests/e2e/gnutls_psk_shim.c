/* gnutls-cli 3.7.9 (Debian 12) calls gnutls_psk_server_get_username on its client session after a
 * successful PSK handshake and crashes; returning NULL is what the server-side call would say. */
#include <stddef.h>
const char *gnutls_psk_server_get_username(void *session);
const char *gnutls_psk_server_get_username(void *session)
{
	(void)session;
	return NULL;
}
