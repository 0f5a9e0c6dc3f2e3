/* The session side of the wolfSSL glue (include/emse/dtls/dtls.h): the glue knows a session only as
 * wolfSSL's I/O context; what it reads of one (the pending datagram, the PSK) is answered here. */
#include <string.h>

#include "emse/dtls/dtls.h"
#include "emse/session.h"

void emse_dtls_conn_input(struct emse_session *s, const uint8_t *dgram, size_t len)
{
	s->u.hs.in = dgram;
	if (dgram)
		s->u.hs.in_len = (uint16_t)len;
}

int emse_dtls_conn_recv(struct emse_session *s, uint8_t *buf, int sz)
{
	if (!s->u.hs.in)
		return -1;
	/* A datagram larger than wolfSSL's buffer is cut, and its record layer then discards the
	 * damaged record. */
	int n = s->u.hs.in_len < sz ? s->u.hs.in_len : sz;
	memcpy(buf, s->u.hs.in, (size_t)n);
	s->u.hs.in = NULL;
	s->u.hs.in_len = 0;
	return n;
}

/* The key was looked up before wolfSSL saw the ClientKeyExchange (the callback cannot wait);
 * it is attached to the session, and the identity wolfSSL parsed must be the one we peeked. */
unsigned emse_dtls_conn_psk(struct emse_session *s, const char *identity, uint8_t *key,
			    unsigned max_len)
{
	struct e2m_identity id;
	if (!s->u.hs.have_key || !s->u.hs.x || max_len < E2M_KEY_LEN)
		return 0;
	const struct emse_hs_extra *x = s->u.hs.x;
	if (e2m_identity_parse((const uint8_t *)identity, strnlen(identity, 129), &id) != 0 ||
	    id.key_id != x->id.key_id || id.app_id_len != x->id.app_id_len ||
	    memcmp(id.app_id, x->id.app_id, id.app_id_len) != 0)
		return 0;
	memcpy(key, x->key, E2M_KEY_LEN);
	return E2M_KEY_LEN;
}
