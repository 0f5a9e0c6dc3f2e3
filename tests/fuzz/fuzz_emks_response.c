/* libFuzzer: the EMSE's parser of EMKS answers (control/emks_client.c): a batch answer body for
 * 1..8 requested items, an RFC 3339 expiry, a Retry-After value. Whatever the bytes, the parser
 * returns a status in range for every item, never reads past the body, and a result it calls OK
 * answers the key id that was asked for. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emse/control.h"
#include "emse/emks_client.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned n = 1 + (data[0] & 7);
	struct emse_keyprov_item items[8];
	struct emse_keyprov_result res[8];
	for (unsigned i = 0; i < n; i++) {
		memset(&items[i], 0, sizeof(items[i]));
		items[i].key_id = 0xae47bf35u + i;
		items[i].app_id_len = 5;
		memcpy(items[i].app_id, "ue-00", 5);
		items[i].app_id[4] = (char)('0' + i);
	}
	/* exact-size copy: the body is not NUL-terminated on the wire */
	size_t len = size - 1;
	char *body = malloc(len ? len : 1);
	memcpy(body, data + 1, len);
	unsigned bad = 0;
	memset(res, 0xee, sizeof(res));
	int r = emks_parse_batch_response(body, len, items, n, res, &bad);
	CHECK(r == 0 || r == -1);
	for (unsigned i = 0; i < n; i++)
		CHECK(res[i].status < EMSE_FETCH__COUNT);
	CHECK(bad <= n);
	free(body);

	char *s = malloc(len + 1);
	memcpy(s, data + 1, len);
	s[len] = '\0';
	uint64_t t;
	uint32_t delay;
	CHECK(emks_parse_rfc3339(s, &t) == 0 || emks_parse_rfc3339(s, &t) == -1);
	if (emks_parse_retry_after(s, 1800000000u, &delay) == 0)
		CHECK(delay <= 3600);
	free(s);
	return 0;
}
