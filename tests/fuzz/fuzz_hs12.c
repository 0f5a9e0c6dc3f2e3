/* libFuzzer: the native handshake engine (dataplane/dtls/hs12.c) on arbitrary bytes.
 * First byte even: the rest is a ClientHello datagram for emse_hs12_parse_hello (and, if it is
 * served, emse_hs12_start). Odd: a handshake is started from a fixed valid ClientHello, then the
 * rest is cut into datagrams (2-byte length prefixes) fed to emse_hs12_input as the client's
 * flight 3 (with bit 2 set: as the client's last flight of an abbreviated handshake, after
 * emse_hs12_resume with a fixed master secret; else with bit 3 set a full one with a session id).
 * Checks: no crash or overread (exact-size copies), outputs within their bounds, a finished engine
 * reads nothing more. With bit 1 (odd) the fixed ClientHello offers an RFC 9146 connection_id
 * (2-octet client CID) and is answered with a 16-octet CID of ours, so the flight holds tls12_cid
 * records; with bit 2 (even) any parsed offer is answered with one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emse/config.h"
#include "emse/dtls/hs12.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static const uint8_t hello_dg[] = {
	22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 61,
	1, 0, 0, 49, 0, 1, 0, 0, 0, 0, 0, 49,
	0xfe, 0xfd, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
	0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
	0x5a, 0x5a, 0x5a, 0x5a,
	0, 1, 0xcc, 0, 2, 0xc0, 0xa8, 1, 0,
	0, 4, 0x00, 0x17, 0x00, 0x00,
};

/* the same with connection_id {0xc1, 0xd2} after extended_master_secret */
static const uint8_t hello_cid_dg[] = {
	22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 68,
	1, 0, 0, 56, 0, 1, 0, 0, 0, 0, 0, 56,
	0xfe, 0xfd, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
	0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
	0x5a, 0x5a, 0x5a, 0x5a,
	0, 1, 0xcc, 0, 2, 0xc0, 0xa8, 1, 0,
	0, 11, 0x00, 0x17, 0x00, 0x00, 0x00, 0x36, 0x00, 0x03, 0x02, 0xc1, 0xd2,
};
static const uint8_t cid16[16] = {7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static struct emse_record_ctx rc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct emse_hs12 h;
	if (!rc.scratch && emse_record_ctx_init(&rc, 4) != 0)
		__builtin_trap();
	if (size < 1)
		return 0;
	const uint32_t suites = EMSE_SUITE_CCM8 | EMSE_SUITE_GCM | EMSE_SUITE_CBC;
	struct dtls_client_hello ch;
	struct emse_hs12_hello hello;
	if (!(data[0] & 1)) {
		size_t n = size - 1;
		uint8_t *b = malloc(n ? n : 1);
		memcpy(b, data + 1, n);
		if (dtls_parse_client_hello(b, n, &ch) == DTLS_PEEK_OK &&
		    emse_hs12_parse_hello(&ch, suites, &hello) == EMSE_HS12_OK) {
			CHECK(hello.msg >= b && hello.msg + hello.msg_len <= b + n);
			CHECK(hello.cipher == EMSE_REC_AES128_CCM8 || hello.cipher == EMSE_REC_AES128_GCM);
			if (hello.cid_offered)
				CHECK(hello.peer_cid_len <= EMSE_REC_PEER_CID_MAX &&
				      hello.peer_cid >= b && hello.peer_cid + hello.peer_cid_len <= b + n);
			CHECK(emse_hs12_start_cid(&h, &hello, (data[0] & 2) ? "e2m" : "", cid16,
						  (data[0] & 4) ? 16 : 0) == 0);
			CHECK(h.flight_len > 0 && h.flight_len <= EMSE_HS12_FLIGHT_MAX);
			emse_hs12_wipe(&h);
		}
		free(b);
		return 0;
	}
	int cid = data[0] & 2;
	CHECK(dtls_parse_client_hello(cid ? hello_cid_dg : hello_dg,
				      cid ? sizeof(hello_cid_dg) : sizeof(hello_dg), &ch) == DTLS_PEEK_OK);
	CHECK(emse_hs12_parse_hello(&ch, suites, &hello) == EMSE_HS12_OK);
	CHECK(!cid || (hello.cid_offered && hello.peer_cid_len == 2));
	static const uint8_t sid[32] = {7}, ms[EMSE_HS12_MS_LEN] = {9};
	if (data[0] & 4) {
		CHECK(emse_hs12_resume(&h, &rc, &hello, sid, ms, cid16, cid ? 16 : 0) == 0);
		CHECK(h.flight_len > 0 && h.flight_len <= EMSE_HS12_FLIGHT_MAX && h.resumed);
	} else {
		CHECK(emse_hs12_start_sid_cid(&h, &hello, "", (data[0] & 8) ? sid : NULL, cid16,
					      cid ? 16 : 0) == 0);
	}
	static const uint8_t psk[32] = {1, 2, 3};
	int over = 0;
	for (size_t at = 1; at + 2 <= size;) {
		size_t n = (size_t)data[at] << 8 | data[at + 1];
		at += 2;
		if (n > size - at)
			n = size - at;
		uint8_t *b = malloc(n ? n : 1);
		memcpy(b, data + at, n);
		at += n;
		uint8_t out[EMSE_HS12_OUT_MAX];
		size_t on = 12345;
		enum emse_hs_fail why;
		enum emse_hs12_rc r = emse_hs12_input(&h, &rc, psk, sizeof(psk), b, n, out, &on, &why);
		free(b);
		CHECK(on <= EMSE_HS12_OUT_MAX);
		CHECK(r == EMSE_HS12_WANT || r == EMSE_HS12_RESEND || r == EMSE_HS12_DONE ||
		      r == EMSE_HS12_FATAL);
		if (over)
			CHECK(r == EMSE_HS12_WANT && on == 0);
		if (r == EMSE_HS12_RESEND) {
			size_t fl;
			emse_hs12_flight(&h, &fl);
			CHECK(fl == h.flight_len);
		}
		if (r == EMSE_HS12_DONE || r == EMSE_HS12_FATAL)
			over = 1;
	}
	emse_hs12_wipe(&h);
	return 0;
}
