/* The input layout of fuzz_aesgcm.c and fuzz_aesccm.c: key(16) || nonce(12) || aad length(1) ||
 * flip(2) || aad || message, and the one-bit change both make to aad || ciphertext || tag. */
#ifndef EMSE_FUZZ_AEAD_INPUT_H
#define EMSE_FUZZ_AEAD_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct aead_input {
	const uint8_t *key, *nonce, *aad, *msg;
	size_t an, n, flip;
};

/* 0, or -1 if the input is too short to hold the fixed fields. */
static inline int aead_input_parse(const uint8_t *data, size_t size, size_t maxn,
				   struct aead_input *in)
{
	if (size < 31)
		return -1;
	in->key = data;
	in->nonce = data + 16;
	in->an = data[28];
	in->flip = (size_t)data[29] << 8 | data[30];
	data += 31;
	size -= 31;
	if (in->an > size)
		in->an = size;
	in->aad = data;
	in->msg = data + in->an;
	in->n = size - in->an;
	if (in->n > maxn)
		in->n = maxn;
	return 0;
}

/* a2 := the AAD; then bit `flip` of a2 || c (n bytes) || t (tl bytes) flipped, if it is there. */
static inline void aead_input_flip(const struct aead_input *in, uint8_t *a2, uint8_t *c,
				   uint8_t *t, size_t tl)
{
	memcpy(a2, in->aad, in->an);
	size_t bit = in->flip & 7, at = in->flip >> 3;
	if (at < in->an)
		a2[at] ^= (uint8_t)(1u << bit);
	else if (at - in->an < in->n)
		c[at - in->an] ^= (uint8_t)(1u << bit);
	else if (at - in->an - in->n < tl)
		t[at - in->an - in->n] ^= (uint8_t)(1u << bit);
}

#endif
