/* libFuzzer: ClientHello -> cookie verify and HelloVerifyRequest on arbitrary datagrams, with
 * fixed secrets (no RNG: a crash must reproduce). Properties: a forged cookie never verifies
 * unless it is the right HMAC; the right cookie, patched in, always verifies under the secret
 * that made it; our HVR is a well-formed record that parses back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emse/dtls/cookie.h"
#include "emse/dtls/dtls_peek.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static const uint8_t PEER[18] = {[10] = 0xff, [11] = 0xff, 198, 18, 0, 2, 0x9c, 0x40};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct emse_cookie_keys k;
	memset(&k, 0, sizeof(k));
	memset(k.cur, 0xa5, sizeof(k.cur));
	memset(k.prev, 0x5a, sizeof(k.prev));
	k.has_prev = 1;

	uint8_t *b = malloc(size ? size : 1);
	memcpy(b, data, size);
	struct dtls_client_hello ch;
	if (dtls_parse_client_hello(b, size, &ch) != DTLS_PEEK_OK) {
		free(b);
		return 0;
	}

	uint8_t want_cur[EMSE_COOKIE_LEN], want_prev[EMSE_COOKIE_LEN];
	emse_cookie_compute(k.cur, PEER, sizeof(PEER), &ch, want_cur);
	emse_cookie_compute(k.prev, PEER, sizeof(PEER), &ch, want_prev);
	const uint8_t *m = emse_cookie_verify(&k, PEER, sizeof(PEER), &ch);
	if (m == k.cur)
		CHECK(ch.cookie_len == 32 && memcmp(ch.cookie, want_cur, 32) == 0);
	else if (m == k.prev)
		CHECK(ch.cookie_len == 32 && memcmp(ch.cookie, want_prev, 32) == 0);
	else
		CHECK(m == NULL);

	uint8_t hvr[EMSE_HVR_MAX];
	size_t n = emse_cookie_build_hvr(k.cur, PEER, sizeof(PEER), &ch, hvr);
	CHECK(n == EMSE_HVR_MAX);
	struct dtls_record rec;
	size_t used;
	CHECK(dtls_record_parse(hvr, n, &rec, &used) == DTLS_PEEK_OK && used == n);
	CHECK(rec.type == DTLS_CT_HANDSHAKE && rec.epoch == 0 && rec.seq == ch.record_seq);
	CHECK(hvr[13] == DTLS_HS_HELLO_VERIFY && memcmp(hvr + n - 32, want_cur, 32) == 0);

	if (ch.cookie_len == 32) {
		/* the right cookie, in place: must verify, under the secret that made it */
		memcpy((uint8_t *)ch.cookie, want_prev, 32);
		CHECK(emse_cookie_verify(&k, PEER, sizeof(PEER), &ch) == k.prev);
		memcpy((uint8_t *)ch.cookie, want_cur, 32);
		CHECK(emse_cookie_verify(&k, PEER, sizeof(PEER), &ch) == k.cur);
		/* ...and only for this peer */
		uint8_t other[sizeof(PEER)];
		memcpy(other, PEER, sizeof(PEER));
		other[sizeof(other) - 1] ^= 1;
		CHECK(emse_cookie_verify(&k, other, sizeof(other), &ch) == NULL);
	}
	free(b);
	return 0;
}
