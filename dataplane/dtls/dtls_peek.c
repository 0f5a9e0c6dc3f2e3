/* Strict DTLS 1.2 record / ClientHello / ClientKeyExchange readers (include/emse/dtls/dtls_peek.h).
 * They run on every datagram before wolfSSL sees it, on bytes anyone can send: each length field
 * is checked against what encloses it before anything behind it is read. No allocation. */
#include <string.h>

#include "emse/dtls/dtls_peek.h"

#define DTLS_MAX_RECORD (16384 + 2048) /* RFC 6347 4.1 / RFC 5246 6.2.3: ciphertext bound */
#define MAX_SESSION_ID 32
/* Cookies we issue are 32 bytes; the wire allows 255, but a longer one can never be ours, and
 * wolfSSL would only answer it with another HelloVerifyRequest. */
#define MAX_COOKIE 32
#define MAX_PSK_IDENTITY 128

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

const char *dtls_peek_strerror(int r)
{
	switch (r) {
	case DTLS_PEEK_OK: return "ok";
	case DTLS_PEEK_SHORT: return "short";
	case DTLS_PEEK_BAD_VERSION: return "bad_version";
	case DTLS_PEEK_BAD_TYPE: return "bad_type";
	case DTLS_PEEK_FRAGMENTED: return "fragmented";
	case DTLS_PEEK_MALFORMED: return "malformed";
	case DTLS_PEEK_BAD_EPOCH: return "bad_epoch";
	default: return "unknown";
	}
}

int dtls_record_parse(const uint8_t *buf, size_t len, struct dtls_record *rec, size_t *consumed)
{
	if (len < DTLS_RECORD_HDR)
		return DTLS_PEEK_SHORT;
	if (buf[0] < DTLS_CT_CCS || buf[0] > DTLS_CT_APPDATA)
		return DTLS_PEEK_BAD_TYPE;
	/* 0xfeff is DTLS 1.0, which clients still put on their first ClientHello record. */
	if (buf[1] != 0xfe || (buf[2] != 0xff && buf[2] != 0xfd))
		return DTLS_PEEK_BAD_VERSION;
	uint16_t flen = rd16(buf + 11);
	if (flen > DTLS_MAX_RECORD)
		return DTLS_PEEK_MALFORMED;
	if ((size_t)flen > len - DTLS_RECORD_HDR)
		return DTLS_PEEK_SHORT;
	rec->type = buf[0];
	rec->ver_major = buf[1];
	rec->ver_minor = buf[2];
	rec->epoch = rd16(buf + 3);
	rec->seq = 0;
	for (int i = 5; i < 11; i++)
		rec->seq = rec->seq << 8 | buf[i];
	rec->len = flen;
	rec->frag = buf + DTLS_RECORD_HDR;
	*consumed = DTLS_RECORD_HDR + (size_t)flen;
	return DTLS_PEEK_OK;
}

/* The first record of the datagram must be an epoch-0 handshake record whose first message is
 * msg_type, whole in this one fragment. On success *body / *body_len is the message body and
 * *rec the record. */
static int peek_handshake(const uint8_t *dg, size_t len, uint8_t msg_type,
			  struct dtls_record *rec, uint16_t *message_seq, const uint8_t **body,
			  uint32_t *body_len)
{
	size_t consumed;
	int r = dtls_record_parse(dg, len, rec, &consumed);
	if (r != DTLS_PEEK_OK)
		return r;
	if (rec->type != DTLS_CT_HANDSHAKE)
		return DTLS_PEEK_BAD_TYPE;
	/* Epoch 0 is cleartext: any other epoch is encrypted and not ours to read. */
	if (rec->epoch != 0)
		return DTLS_PEEK_BAD_EPOCH;
	if (rec->len < DTLS_HS_HDR)
		return DTLS_PEEK_SHORT;
	const uint8_t *hs = rec->frag;
	if (hs[0] != msg_type)
		return DTLS_PEEK_BAD_TYPE;
	uint32_t mlen = rd24(hs + 1), foff = rd24(hs + 6), flen = rd24(hs + 9);
	if (foff != 0 || flen != mlen)
		return DTLS_PEEK_FRAGMENTED;
	if (flen > (uint32_t)rec->len - DTLS_HS_HDR)
		return DTLS_PEEK_SHORT;
	*message_seq = rd16(hs + 4);
	*body = hs + DTLS_HS_HDR;
	*body_len = mlen;
	return DTLS_PEEK_OK;
}

int dtls_parse_client_hello(const uint8_t *datagram, size_t len, struct dtls_client_hello *ch)
{
	struct dtls_record rec;
	const uint8_t *b;
	uint32_t n;
	uint16_t mseq;
	int r = peek_handshake(datagram, len, DTLS_HS_CLIENT_HELLO, &rec, &mseq, &b, &n);
	if (r != DTLS_PEEK_OK)
		return r;
	/* A ClientHello travels alone in its record: bytes after it mean a lying length. */
	if (n != (uint32_t)rec.len - DTLS_HS_HDR)
		return DTLS_PEEK_MALFORMED;

	uint32_t i = 0;
	if (n < 2 + 32 + 1)
		return DTLS_PEEK_MALFORMED;
	const uint8_t *version = b;
	/* What wolfSSL accepts (ClientHelloSanityCheck): DTLS 1.0 or 1.2. */
	if (version[0] != 0xfe || (version[1] != 0xff && version[1] != 0xfd))
		return DTLS_PEEK_BAD_VERSION;
	const uint8_t *random = b + 2;
	i = 2 + 32;

	uint8_t sid_len = b[i++];
	if (sid_len > MAX_SESSION_ID || sid_len > n - i)
		return DTLS_PEEK_MALFORMED;
	const uint8_t *sid = b + i;
	i += sid_len;

	if (n - i < 1)
		return DTLS_PEEK_MALFORMED;
	uint8_t cookie_len = b[i++];
	if (cookie_len > MAX_COOKIE || cookie_len > n - i)
		return DTLS_PEEK_MALFORMED;
	const uint8_t *cookie = b + i;
	i += cookie_len;

	if (n - i < 2)
		return DTLS_PEEK_MALFORMED;
	uint16_t suites_len = rd16(b + i);
	i += 2;
	if (suites_len < 2 || (suites_len & 1) || suites_len > n - i)
		return DTLS_PEEK_MALFORMED;
	const uint8_t *suites = b + i;
	i += suites_len;

	if (n - i < 1)
		return DTLS_PEEK_MALFORMED;
	uint8_t comp_len = b[i++];
	if (comp_len < 1 || comp_len > n - i)
		return DTLS_PEEK_MALFORMED;
	const uint8_t *comp = b + i;
	i += comp_len;

	const uint8_t *ext = NULL;
	uint16_t ext_total = 0;
	if (i < n) {
		/* Exactly as wolfSSL's ParseClientHello: a block of 2 bytes (an empty extension
		 * list) is refused there, so it is refused here. */
		if (n - i <= 2)
			return DTLS_PEEK_MALFORMED;
		uint16_t ext_len = rd16(b + i);
		i += 2;
		if (ext_len != n - i)
			return DTLS_PEEK_MALFORMED;
		ext = b + i;
		ext_total = ext_len;
		/* Each extension: type(2), length(2), data; they must tile the block exactly. */
		while (i < n) {
			if (n - i < 4)
				return DTLS_PEEK_MALFORMED;
			uint16_t el = rd16(b + i + 2);
			i += 4;
			if (el > n - i)
				return DTLS_PEEK_MALFORMED;
			i += el;
		}
	}

	memset(ch, 0, sizeof(*ch));
	ch->record_seq = rec.seq;
	ch->message_seq = mseq;
	ch->version = version;
	ch->random = random;
	ch->session_id = sid;
	ch->session_id_len = sid_len;
	ch->cookie = cookie;
	ch->cookie_len = cookie_len;
	ch->suites = suites;
	ch->suites_len = suites_len;
	ch->compression = comp;
	ch->compression_len = comp_len;
	ch->extensions = ext;
	ch->extensions_len = ext_total;
	ch->msg = rec.frag;
	ch->msg_len = DTLS_HS_HDR + n;
	return DTLS_PEEK_OK;
}

int dtls_peek_psk_identity(const uint8_t *datagram, size_t len, const uint8_t **identity,
			   uint16_t *identity_len)
{
	struct dtls_record rec;
	const uint8_t *b;
	uint32_t n;
	uint16_t mseq;
	/* Not only the first record: a client may put its flight in any order in one datagram
	 * (e.g. the Finished ahead), and the handshake engine reads the ClientKeyExchange wherever
	 * it is; without its key looked up here, the handshake would fail. The first record's
	 * verdict is kept when no record is a ClientKeyExchange. */
	int first = peek_handshake(datagram, len, DTLS_HS_CLIENT_KEY_EXCHANGE, &rec, &mseq, &b, &n);
	for (size_t off = 0, used; first != DTLS_PEEK_OK;) {
		if (dtls_record_parse(datagram + off, len - off, &rec, &used) != DTLS_PEEK_OK ||
		    (off += used) >= len)
			return first;
		if (peek_handshake(datagram + off, len - off, DTLS_HS_CLIENT_KEY_EXCHANGE, &rec, &mseq,
				   &b, &n) == DTLS_PEEK_OK)
			break;
	}
	if (n < 2)
		return DTLS_PEEK_MALFORMED;
	uint16_t il = rd16(b);
	/* RFC 4279 5.3 caps identities at 128 bytes; more is not an e2m identity anyway. Bytes
	 * after the identity are allowed (the DHE/ECDHE-PSK key exchanges put their share there). */
	if (il > MAX_PSK_IDENTITY || il > n - 2)
		return DTLS_PEEK_MALFORMED;
	*identity = b + 2;
	*identity_len = il;
	return DTLS_PEEK_OK;
}
