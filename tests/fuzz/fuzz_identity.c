/* libFuzzer: e2m_identity_parse (crypto/identity.c) on arbitrary identity bytes. An accepted
 * identity must be canonical: encoding what was parsed gives back exactly the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emse/e2m.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b = malloc(size ? size : 1); /* exact size: not NUL-terminated, as on the wire */
	memcpy(b, data, size);
	struct e2m_identity id;
	memset(&id, 0xee, sizeof(id));
	int r = e2m_identity_parse(b, size, &id);
	CHECK(r <= 0 && r >= E2M_ID_BAD_CHAR);
	CHECK(e2m_identity_strerror(r) != NULL);
	if (r == E2M_ID_OK) {
		CHECK(size <= E2M_PSK_IDENTITY_MAX);
		CHECK(id.app_id_len >= 1 && id.app_id_len <= E2M_APP_ID_MAX);
		CHECK(id.app_id[id.app_id_len] == '\0' && strlen(id.app_id) == id.app_id_len);
		char enc[E2M_PSK_IDENTITY_MAX + 1];
		int n = e2m_identity_encode(id.key_id, id.app_id, id.app_id_len, enc, sizeof(enc));
		CHECK(n >= 0 && (size_t)n == size && memcmp(enc, b, size) == 0);
	}
	free(b);
	return 0;
}
