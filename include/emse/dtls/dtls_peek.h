/* Reading DTLS 1.2 records before wolfSSL does: enough to answer a ClientHello statelessly and to
 * take the PSK identity out of a ClientKeyExchange. Strict, bounds-checked parsers of untrusted
 * bytes; each failure has a reason that the worker counts. */
#ifndef EMSE_DTLS_PEEK_H
#define EMSE_DTLS_PEEK_H

#include <stddef.h>
#include <stdint.h>

#define DTLS_RECORD_HDR 13
#define DTLS_HS_HDR 12
#define DTLS_CT_CCS 20
#define DTLS_CT_ALERT 21
#define DTLS_CT_HANDSHAKE 22
#define DTLS_CT_APPDATA 23
#define DTLS_HS_CLIENT_HELLO 1
#define DTLS_HS_HELLO_VERIFY 3
#define DTLS_HS_CLIENT_KEY_EXCHANGE 16

struct dtls_record {
	uint8_t type;
	uint8_t ver_major, ver_minor;
	uint16_t epoch;
	uint64_t seq;          /* 48 bits */
	uint16_t len;          /* fragment length */
	const uint8_t *frag;   /* points into the datagram */
};

enum dtls_peek_result {
	DTLS_PEEK_OK = 0,
	DTLS_PEEK_SHORT = -1,        /* record or message cut short */
	DTLS_PEEK_BAD_VERSION = -2,  /* record version not 0xfe 0xff / 0xfe 0xfd */
	DTLS_PEEK_BAD_TYPE = -3,     /* content type unknown / not what was asked for */
	DTLS_PEEK_FRAGMENTED = -4,   /* handshake message not in one fragment */
	DTLS_PEEK_MALFORMED = -5,    /* a length field disagrees with what surrounds it */
	DTLS_PEEK_BAD_EPOCH = -6,
};
const char *dtls_peek_strerror(int r);

/* First record of a datagram (a datagram may hold several: *consumed says how many bytes this one
 * took). */
int dtls_record_parse(const uint8_t *buf, size_t len, struct dtls_record *rec, size_t *consumed);

/* A ClientHello in one unfragmented handshake record (epoch 0), with pointers to the fields the
 * cookie covers (RFC 6347 4.2.1, as wolfSSL 5.7.2 computes it). */
struct dtls_client_hello {
	uint64_t record_seq;
	uint16_t message_seq;
	const uint8_t *version;       /* 2 bytes */
	const uint8_t *random;        /* 32 bytes */
	const uint8_t *session_id;    uint8_t session_id_len;
	const uint8_t *cookie;        uint8_t cookie_len;
	const uint8_t *suites;        uint16_t suites_len;
	const uint8_t *compression;   uint8_t compression_len;
	/* The extensions (without the block's 2-byte length; they tile it exactly), NULL if none */
	const uint8_t *extensions;    uint16_t extensions_len;
	/* The whole handshake message, its 12-byte header included (the handshake transcript) */
	const uint8_t *msg;           uint32_t msg_len;
};
int dtls_parse_client_hello(const uint8_t *datagram, size_t len, struct dtls_client_hello *ch);

/* The PSK identity of a ClientKeyExchange: the first record of the datagram that is one (epoch 0,
 * handshake, msg_type 16, fragment offset 0 and fragment length = message length), then a 2-byte
 * identity length and at most 128 identity bytes (RFC 4279). *identity points into the datagram.
 * With none, the first record's verdict. */
int dtls_peek_psk_identity(const uint8_t *datagram, size_t len, const uint8_t **identity,
			   uint16_t *identity_len);

#endif
