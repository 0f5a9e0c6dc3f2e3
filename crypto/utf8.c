/* The "printable UTF-8" rule of SPEC.md for identities that reach us from the network. */
#include "emse/e2m.h"

int e2m_printable_utf8(const uint8_t *s, size_t len)
{
	if (!s && len)
		return 0;
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		if (c < 0x80) {
			/* C0 controls (NUL included) and DEL can fool logs and C string handling. */
			if (c < 0x20 || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		size_t n;
		uint32_t cp;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			/* Stray continuation octet, the overlong leads 0xc0/0xc1, or beyond U+10FFFF. */
			return 0;
		}
		if (len - i - 1 < n)
			return 0;
		for (size_t j = 1; j <= n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		/* Overlong forms give one text two spellings; surrogates are not characters. */
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		/* C1 controls. */
		if (cp >= 0x80 && cp <= 0x9f)
			return 0;
		i += n + 1;
	}
	return 1;
}
