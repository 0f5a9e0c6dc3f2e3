/* What fuzz_aesgcm.c and fuzz_aesccm.c share: the input layout, key(16) || nonce(12) || aad
 * length(1) || flip(2) || aad || message; the one-bit change both make to aad || ciphertext ||
 * tag; and the differential check itself (aead_fuzz_one), over tests/aead_ops.h. */
#ifndef EMSE_FUZZ_AEAD_INPUT_H
#define EMSE_FUZZ_AEAD_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../aead_ops.h"

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

#define AEAD_CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define AEAD_FUZZ_MAXN 4096

/* Both seal the message and agree on ciphertext and tag (ours also in place); both open it with
 * one bit flipped (in.flip; past the end nothing is) and agree on accept or refuse, and on the
 * plaintext when they accept; a refused open leaves the output as it was, in place too. */
static inline void aead_fuzz_one(const struct aead_ops *o, const uint8_t *data, size_t size)
{
	_Alignas(64) static uint8_t key[AEAD_KEY_MAX];
	struct aead_input in;
	if (aead_input_parse(data, size, AEAD_FUZZ_MAXN, &in) != 0)
		return;
	const uint8_t *nonce = in.nonce, *aad = in.aad, *msg = in.msg;
	size_t an = in.an, n = in.n, tl = o->tag_len;
	static uint8_t c1[AEAD_FUZZ_MAXN], c2[AEAD_FUZZ_MAXN], p1[AEAD_FUZZ_MAXN],
		p2[AEAD_FUZZ_MAXN], io[AEAD_FUZZ_MAXN], a2[256];
	uint8_t t1[16], t2[16];
	o->init(key, in.key);
	AEAD_CHECK(o->ref_seal(in.key, nonce, aad, an, msg, n, c1, t1) == 0);
	AEAD_CHECK(o->seal(key, nonce, aad, an, msg, n, c2, t2) == 0);
	AEAD_CHECK(memcmp(c1, c2, n) == 0 && memcmp(t1, t2, tl) == 0);
	memcpy(io, msg, n);
	AEAD_CHECK(o->seal(key, nonce, aad, an, io, n, io, t2) == 0);
	AEAD_CHECK(memcmp(io, c1, n) == 0 && memcmp(t1, t2, tl) == 0);

	aead_input_flip(&in, a2, c1, t1, tl);
	int rw = o->ref_open(in.key, nonce, a2, an, c1, n, p1, t1);
	memset(p2, 0xa5, n);
	int ro = o->open(key, nonce, a2, an, c1, n, p2, t1);
	AEAD_CHECK((rw == 0) == (ro == 0));
	if (ro == 0)
		AEAD_CHECK(memcmp(p1, p2, n) == 0 && memcmp(p2, msg, n) == 0);
	else
		for (size_t i = 0; i < n; i++)
			AEAD_CHECK(p2[i] == 0xa5);
	memcpy(io, c1, n);
	AEAD_CHECK(o->open(key, nonce, a2, an, io, n, io, t1) == ro);
	AEAD_CHECK(ro != 0 ? memcmp(io, c1, n) == 0 : memcmp(io, msg, n) == 0);
	o->wipe(key);
}

#endif
