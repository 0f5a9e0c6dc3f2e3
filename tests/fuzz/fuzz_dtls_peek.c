/* libFuzzer: the DTLS readers on arbitrary UDP payloads: every record of the datagram, the
 * ClientHello parser and the ClientKeyExchange identity peek. Checks that results stay inside
 * the input and agree with their own length fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emse/dtls/dtls_peek.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define INSIDE(p, n, buf, len) \
	CHECK((const uint8_t *)(p) >= (buf) && (const uint8_t *)(p) + (n) <= (buf) + (len))

static void check_rc(int r)
{
	CHECK(r <= 0 && r >= DTLS_PEEK_BAD_EPOCH);
	CHECK(strcmp(dtls_peek_strerror(r), "unknown") != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b = malloc(size ? size : 1); /* exact size, so ASan sees any overread */
	memcpy(b, data, size);

	size_t at = 0;
	for (int i = 0; i < 64 && at < size; i++) {
		struct dtls_record rec;
		size_t used = 0;
		int r = dtls_record_parse(b + at, size - at, &rec, &used);
		check_rc(r);
		if (r != DTLS_PEEK_OK)
			break;
		CHECK(used == DTLS_RECORD_HDR + (size_t)rec.len && used <= size - at);
		INSIDE(rec.frag, rec.len, b, size);
		CHECK(rec.seq < (1ULL << 48));
		at += used;
	}

	struct dtls_client_hello ch;
	int r = dtls_parse_client_hello(b, size, &ch);
	check_rc(r);
	if (r == DTLS_PEEK_OK) {
		INSIDE(ch.version, 2, b, size);
		INSIDE(ch.random, 32, b, size);
		INSIDE(ch.session_id, ch.session_id_len, b, size);
		INSIDE(ch.cookie, ch.cookie_len, b, size);
		INSIDE(ch.suites, ch.suites_len, b, size);
		INSIDE(ch.compression, ch.compression_len, b, size);
		INSIDE(ch.msg, ch.msg_len, b, size);
		if (ch.extensions)
			INSIDE(ch.extensions, ch.extensions_len, b, size);
		else
			CHECK(ch.extensions_len == 0);
		CHECK(ch.compression + ch.compression_len <= ch.msg + ch.msg_len);
		CHECK(ch.session_id_len <= 32 && ch.cookie_len <= 32);
		CHECK(ch.suites_len >= 2 && ch.suites_len % 2 == 0 && ch.compression_len >= 1);
		CHECK(ch.version[0] == 0xfe);
	}

	const uint8_t *id = NULL;
	uint16_t il = 0;
	r = dtls_peek_psk_identity(b, size, &id, &il);
	check_rc(r);
	if (r == DTLS_PEEK_OK) {
		CHECK(il <= 128);
		INSIDE(id, il, b, size);
	}
	free(b);
	return 0;
}
