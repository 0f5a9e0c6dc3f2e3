/* Hex helpers and key wiping shared by the e2m code, the tools and the tests. */
#include <openssl/crypto.h>

#include "emse/e2m.h"

void e2m_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int e2m_hex_decode(const char *hex, uint8_t *out, size_t len)
{
	if (!hex || (len && !out))
		return -1;
	/* Read no further than the NUL, so a short string is rejected, never over-read. */
	for (size_t i = 0; i < 2 * len; i++)
		if (nibble(hex[i]) < 0)
			return -1;
	if (hex[2 * len] != '\0')
		return -1;
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
	return 0;
}

void e2m_wipe(void *p, size_t len)
{
	if (p && len)
		OPENSSL_cleanse(p, len);
}
