/* libFuzzer: emse_imsi_map_parse (control/imsi_map.c) on arbitrary file contents. An accepted table
 * must answer for every entry line of the input with that line's IMSI, hold only 5..15-digit
 * IMSIs, and an error must name the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emse/imsi_map.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *b = malloc(size ? size : 1); /* exact size: not NUL-terminated */
	memcpy(b, data, size);
	char err[256];
	err[0] = '\0';
	struct emse_imsi_map *m = emse_imsi_map_parse(b, size, "fuzz.map", err, sizeof(err));
	if (!m) {
		CHECK(strncmp(err, "fuzz.map", 8) == 0);
		free(b);
		return 0;
	}
	/* Walk the lines again: every two-field line that is not a comment is in the table. */
	size_t entries = 0;
	for (size_t pos = 0; pos < size;) {
		const char *nl = memchr(b + pos, '\n', size - pos);
		size_t ll = nl ? (size_t)(nl - (b + pos)) : size - pos;
		size_t i = pos, end = pos + ll;
		while (i < end && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r'))
			i++;
		if (i < end && b[i] != '#') {
			size_t a0 = i;
			while (i < end && b[i] != ' ' && b[i] != '\t' && b[i] != '\r')
				i++;
			size_t alen = i - a0;
			while (i < end && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r'))
				i++;
			size_t s0 = i;
			while (i < end && b[i] != ' ' && b[i] != '\t' && b[i] != '\r')
				i++;
			const char *imsi = emse_imsi_map_lookup(m, b + a0, alen);
			CHECK(imsi != NULL);
			CHECK(strlen(imsi) == i - s0 && memcmp(imsi, b + s0, i - s0) == 0);
			CHECK(strlen(imsi) >= 5 && strlen(imsi) <= EMSE_IMSI_MAX);
			entries++;
		}
		pos += ll + 1;
	}
	CHECK(entries == emse_imsi_map_size(m));
	char masked[EMSE_IMSI_MAX + 1];
	emse_imsi_mask(emse_imsi_map_lookup(m, "x", 1), masked);
	CHECK(strlen(masked) <= EMSE_IMSI_MAX);
	emse_imsi_map_free(m);
	free(b);
	return 0;
}
