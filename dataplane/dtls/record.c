/* Compact DTLS 1.2 record layer for established sessions (include/emse/dtls/record.h, docs/record.md).
 * The export blob layout parsed here is wolfSSL 5.7.2's (src/internal.c: ExportOptions,
 * ExportKeyState, ExportCipherSpecState, ExportPeerInfo), export version 5. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <emmintrin.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "emse/dtls/aesccm.h"
#include "emse/dtls/aesgcm.h"
#include "emse/dtls/cid.h"
#include "emse/dtls/ct.h"
#include "emse/dtls/record.h"

const char *const emse_rec_drop_names[EMSE_REC_DROP_MAX] = {
	[EMSE_REC_MALFORMED] = "malformed",
	[EMSE_REC_WRONG_EPOCH] = "wrong_epoch",
	[EMSE_REC_REPLAY] = "replay",
	[EMSE_REC_TOO_OLD] = "too_old",
	[EMSE_REC_BAD_TAG] = "bad_tag",
	[EMSE_REC_UNEXPECTED] = "unexpected",
	[EMSE_REC_SEQ_EXHAUSTED] = "seq_exhausted",
	[EMSE_REC_TOO_BIG] = "too_big",
	[EMSE_REC_FLIGHT_GONE] = "flight_gone",
	[EMSE_REC_CRYPTO] = "crypto",
};

#define SEQ_LIMIT (1ULL << 48)

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be48(const uint8_t *p)
{
	return (uint64_t)be16(p) << 32 | be32(p + 2);
}
static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* ---- crypto: a per-worker cache of expanded keys, or one scratch key keyed per record ------- */

/* Our own expanded key (aesgcm.c's or aesccm.c's), whichever cipher it is for. */
union own_key {
	struct emse_gcm_key gcm;
	struct emse_ccm_key ccm;
};

/* One direction's key: ours where the CPU runs our code for the cipher (own()), else wolfCrypt's. */
struct dir_key {
	union own_key own;
	Aes aes;
};

/* The keys of one session, both directions. The raw keys say whose they are: a slot is used only
 * for the state that owns it, still holds the same keys and was keyed for the same code. */
struct emse_key_slot {
	struct dir_key r, w;
	const struct emse_record_state *owner;
	uint8_t rkey[16], wkey[16];
	uint8_t cipher;
	uint8_t own;               /* keyed for our code; the ctx's switches can change (tests, bench) */
};

/* Whether the state's cipher runs on our own code here. */
static inline int own(const struct emse_record_ctx *c, const struct emse_record_state *st)
{
	return st->cipher == EMSE_REC_AES128_GCM ? c->gcm_ni : c->ccm_ni;
}

static int key_set(struct emse_record_ctx *c, struct dir_key *d, uint8_t cipher, int ours,
		   const uint8_t key[16])
{
	if (ours) {
		if (cipher == EMSE_REC_AES128_GCM)
			emse_gcm_init(&d->own.gcm, key);
		else
			emse_ccm_init(&d->own.ccm, key);
		return 0;
	}
	if (cipher == EMSE_REC_AES128_CCM8)
		return wc_AesCcmSetKey(&d->aes, key, 16);
	/* wc_AesGcmSetKey also builds the 4-bit GHASH table (~250-400 ns here); the AES-NI GCM code
	 * derives H from the schedule itself, so where the ctx self-test proved that, the schedule
	 * alone is enough. */
	return c->gcm_fast ? wc_AesSetKey(&d->aes, key, 16, NULL, AES_ENCRYPTION)
			   : wc_AesGcmSetKey(&d->aes, key, 16);
}

/* No key of a session outlives its use in a dir_key (schedules, GHASH keys, powers of H). */
static void key_wipe(const struct emse_record_ctx *c, struct dir_key *d)
{
	explicit_bzero(&d->own, sizeof(d->own));
	explicit_bzero(d->aes.key, sizeof(d->aes.key));
	if (!c->gcm_fast)
		explicit_bzero(&d->aes.gcm, sizeof(d->aes.gcm));
}

static void slot_wipe(const struct emse_record_ctx *c, struct emse_key_slot *k)
{
	key_wipe(c, &k->r);
	key_wipe(c, &k->w);
	explicit_bzero(k->rkey, sizeof(k->rkey));
	explicit_bzero(k->wkey, sizeof(k->wkey));
	k->owner = NULL;
	k->cipher = 0;
	k->own = 0;
}

/* No early exit on secret bytes. */
static int same16(const uint8_t a[16], const uint8_t b[16])
{
	uint64_t x[2], y[2];
	memcpy(x, a, 16);
	memcpy(y, b, 16);
	return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

static struct emse_key_slot *slot_of(struct emse_record_ctx *c, const struct emse_record_state *st)
{
	uint32_t i = st->kslot - 1;
	return i < c->n_keys && c->keys[i].owner == st ? &c->keys[i] : NULL;
}

/* The session's slot, keyed: a hit costs two 16-byte compares; a miss takes the state's own stale
 * slot or the next one round-robin, wipes it and expands both keys. NULL if wolfCrypt refuses. */
static struct emse_key_slot *keyed(struct emse_record_ctx *c, struct emse_record_state *st)
{
	struct emse_key_slot *k = slot_of(c, st);
	int ours = own(c, st);
	int hit = k && k->cipher == st->cipher && k->own == ours &&
		  (same16(k->rkey, st->rkey) & same16(k->wkey, st->wkey));
	EMSE_CT_PUBLIC(hit); /* a hit or a miss, not the keys */
	if (hit)
		return k;
	if (!k) {
		k = &c->keys[c->key_next];
		c->key_next = c->key_next + 1 == c->n_keys ? 0 : c->key_next + 1;
	}
	slot_wipe(c, k);
	st->kslot = (uint16_t)(k - c->keys + 1);
	c->st.keys_expanded++;
	if (key_set(c, &k->r, st->cipher, ours, st->rkey) != 0 ||
	    key_set(c, &k->w, st->cipher, ours, st->wkey) != 0) {
		slot_wipe(c, k);
		return NULL;
	}
	k->owner = st;
	k->cipher = st->cipher;
	k->own = (uint8_t)ours;
	memcpy(k->rkey, st->rkey, 16);
	memcpy(k->wkey, st->wkey, 16);
	return k;
}

/* The key to seal (write) or open with: the session's cache slot, or the scratch keyed now (the
 * caller wipes it after: key_done). NULL if wolfCrypt refuses the key. */
static struct dir_key *key_for(struct emse_record_ctx *c, struct emse_record_state *st, int write)
{
	if (c->n_keys) {
		struct emse_key_slot *k = keyed(c, st);
		return k ? (write ? &k->w : &k->r) : NULL;
	}
	struct dir_key *d = c->scratch;
	return key_set(c, d, st->cipher, own(c, st), write ? st->wkey : st->rkey) == 0 ? d : NULL;
}

static void key_done(struct emse_record_ctx *c)
{
	if (!c->n_keys)
		key_wipe(c, c->scratch);
}

/* aesgcm.c or aesccm.c; wolfCrypt's error codes, so both kinds of key answer alike */
/* al: 13 (RFC 6347) or a tls12_cid record's 23 + CID length (RFC 9146 5); a constant where
 * the plain records call, so their code is what it was. */
static inline int aead_own(const union own_key *o, int gcm, int seal, const uint8_t nonce[12],
			   const uint8_t *aad, size_t al, const uint8_t *in, size_t n,
			   uint8_t *out, uint8_t *tag)
{
	if (gcm) {
		if (seal) {
			emse_gcm_seal(&o->gcm, nonce, aad, al, in, n, out, tag);
			return 0;
		}
		return emse_gcm_open(&o->gcm, nonce, aad, al, in, n, out, tag) ? AES_GCM_AUTH_E : 0;
	}
	/* n <= EMSE_REC_MAX_PLAIN + 1: within CCM's limits */
	if (seal)
		return emse_ccm8_seal(&o->ccm, nonce, aad, al, in, n, out, tag) ? BAD_FUNC_ARG : 0;
	return emse_ccm8_open(&o->ccm, nonce, aad, al, in, n, out, tag) ? AES_CCM_AUTH_E : 0;
}

static inline int aead_wolf(Aes *a, int gcm, int seal, const uint8_t nonce[12],
			    const uint8_t *aad, size_t al, const uint8_t *in, size_t n,
			    uint8_t *out, uint8_t *tag)
{
	word32 tl = gcm ? 16 : 8, w = (word32)al;
	if (seal)
		return gcm ? wc_AesGcmEncrypt(a, out, in, (word32)n, nonce, 12, tag, tl, aad, w)
			   : wc_AesCcmEncrypt(a, out, in, (word32)n, nonce, 12, tag, tl, aad, w);
	return gcm ? wc_AesGcmDecrypt(a, out, in, (word32)n, nonce, 12, tag, tl, aad, w)
		   : wc_AesCcmDecrypt(a, out, in, (word32)n, nonce, 12, tag, tl, aad, w);
}

/* seal: in -> out and the tag into tag; else open: in -> out, checked against tag. */
static inline int aead_al(struct emse_record_ctx *c, struct emse_record_state *st, int seal,
			  const uint8_t nonce[12], const uint8_t *aad, size_t al, const uint8_t *in,
			  size_t n, uint8_t *out, uint8_t *tag)
{
	struct dir_key *d = key_for(c, st, seal);
	int gcm = st->cipher == EMSE_REC_AES128_GCM, r;
	if (!d)
		r = BAD_FUNC_ARG;
	else if (own(c, st))
		r = aead_own(&d->own, gcm, seal, nonce, aad, al, in, n, out, tag);
	else
		r = aead_wolf(&d->aes, gcm, seal, nonce, aad, al, in, n, out, tag);
	key_done(c);
	return r;
}

static int aead(struct emse_record_ctx *c, struct emse_record_state *st, int seal,
		const uint8_t nonce[12], const uint8_t aad[13], const uint8_t *in, size_t n,
		uint8_t *out, uint8_t *tag)
{
	return aead_al(c, st, seal, nonce, aad, 13, in, n, out, tag);
}

/* Keying GCM by the schedule alone is only right if wolfCrypt takes its AES-NI path at run time:
 * check against the documented set-up, after priming H with another key so a stale H fails. */
static int gcm_fast_selftest(Aes *a)
{
	static const uint8_t k1[16] = {1}, k2[16] = {0x2b, 0x7e, 0x15, 0x16}, nonce[12] = {9},
			     aad[13] = {7}, pt[40] = {3};
	uint8_t ct1[40], ct2[40], t1[16], t2[16];
	if (wc_AesGcmSetKey(a, k2, 16) != 0 ||
	    wc_AesGcmEncrypt(a, ct1, pt, sizeof(pt), nonce, 12, t1, 16, aad, 13) != 0 ||
	    wc_AesGcmSetKey(a, k1, 16) != 0 || wc_AesSetKey(a, k2, 16, NULL, AES_ENCRYPTION) != 0 ||
	    wc_AesGcmEncrypt(a, ct2, pt, sizeof(pt), nonce, 12, t2, 16, aad, 13) != 0)
		return 0;
	return memcmp(ct1, ct2, sizeof(ct1)) == 0 && memcmp(t1, t2, 16) == 0;
}

int emse_record_ctx_init(struct emse_record_ctx *c, uint32_t n_flights)
{
	return emse_record_ctx_init_keys(c, n_flights, EMSE_REC_KEY_SLOTS);
}

int emse_record_ctx_init_keys(struct emse_record_ctx *c, uint32_t n_flights, uint32_t n_key_slots)
{
	memset(c, 0, sizeof(*c));
	struct dir_key *d = aligned_alloc(64, (sizeof(*d) + 63) & ~(size_t)63);
	if (!d)
		return -1;
	memset(d, 0, sizeof(*d));
	if (wc_AesInit(&d->aes, NULL, INVALID_DEVID) != 0) {
		free(d);
		return -1;
	}
	c->scratch = d;
	c->gcm_fast = gcm_fast_selftest(&d->aes);
	explicit_bzero(d->aes.key, sizeof(d->aes.key));
	explicit_bzero(&d->aes.gcm, sizeof(d->aes.gcm));
	c->gcm_ni = emse_gcm_available();
	c->ccm_ni = emse_ccm_available();
	if (n_flights) {
		c->flights = calloc(n_flights, sizeof(*c->flights));
		if (!c->flights) {
			emse_record_ctx_fini(c);
			return -1;
		}
	}
	c->n_flights = n_flights;
	c->next_handle = 1;
	if (n_key_slots >= UINT16_MAX) { /* kslot is 16 bits */
		emse_record_ctx_fini(c);
		return -1;
	}
	if (n_key_slots) {
		c->keys = aligned_alloc(64, ((size_t)n_key_slots * sizeof(*c->keys) + 63) & ~(size_t)63);
		if (!c->keys) {
			emse_record_ctx_fini(c);
			return -1;
		}
		memset(c->keys, 0, (size_t)n_key_slots * sizeof(*c->keys));
		for (uint32_t i = 0; i < n_key_slots; i++)
			if (wc_AesInit(&c->keys[i].r.aes, NULL, INVALID_DEVID) != 0 ||
			    wc_AesInit(&c->keys[i].w.aes, NULL, INVALID_DEVID) != 0) {
				emse_record_ctx_fini(c);
				return -1;
			}
		c->n_keys = n_key_slots;
	}
	return 0;
}

size_t emse_record_keys_bytes(const struct emse_record_ctx *c)
{
	return (size_t)c->n_keys * sizeof(*c->keys);
}

size_t emse_record_scratch_bytes(void)
{
	return sizeof(struct dir_key);
}

void emse_record_ctx_fini(struct emse_record_ctx *c)
{
	if (c->scratch) {
		struct dir_key *d = c->scratch;
		wc_AesFree(&d->aes);
		explicit_bzero(d, sizeof(*d));
		free(d);
	}
	if (c->flights) {
		explicit_bzero(c->flights, (size_t)c->n_flights * sizeof(*c->flights));
		free(c->flights);
	}
	if (c->keys) {
		for (uint32_t i = 0; i < c->n_keys; i++) {
			wc_AesFree(&c->keys[i].r.aes);
			wc_AesFree(&c->keys[i].w.aes);
		}
		/* every schedule, GHASH key and raw key in the cache */
		explicit_bzero(c->keys, (size_t)c->n_keys * sizeof(*c->keys));
		free(c->keys);
	}
	memset(c, 0, sizeof(*c));
}

/* ---- import ------------------------------------------------------------------------------ */

/* A bounds-checked cursor over the blob: every read fails once past the end. */
struct cur {
	const uint8_t *p;
	size_t n, i;
	int bad;
};

static const uint8_t *take(struct cur *c, size_t k)
{
	if (c->bad || c->i > c->n || k > c->n - c->i) {
		c->bad = 1;
		return NULL;
	}
	const uint8_t *r = c->p + c->i;
	c->i += k;
	return r;
}
static uint8_t get8(struct cur *c) { const uint8_t *p = take(c, 1); return p ? p[0] : 0; }
static uint16_t get16(struct cur *c) { const uint8_t *p = take(c, 2); return p ? be16(p) : 0; }
static uint32_t get32(struct cur *c) { const uint8_t *p = take(c, 4); return p ? be32(p) : 0; }

/* wolfSSL 5.7.2 constants the layout depends on */
#define EXP_PROTO 165             /* DTLS_EXPORT_PRO */
#define EXP_VERSION 5             /* WOLFSSL_EXPORT_VERSION */
#define EXP_OPT_SZ 62             /* DTLS_EXPORT_OPT_SZ */
#define EXP_KEY_MAX (325 + 16)    /* DTLS_EXPORT_KEY_SZ */
#define EXP_SPC_SZ 16             /* WOLFSSL_EXPORT_SPC_SZ */
#define EXP_WINDOW_WORDS 2        /* WOLFSSL_DTLS_WINDOW_WORDS */
#define EXP_MAX_IP 46
/* offsets in the options block (ExportOptions, DTLS, version 5) */
#define OPT_SIDE 17
#define OPT_DTLS 22
#define OPT_IS_CLOSED 24
#define OPT_CLOSE_NOTIFY 25
#define OPT_SUITE0 49
#define OPT_SUITE 50
#define OPT_HS_DONE 54
#define OPT_VERSION 60

struct keys {
	uint16_t next_epoch, dtls_epoch;
	uint64_t next_seq, dtls_seq, window;
	uint8_t key_sz, iv_sz;
	const uint8_t *ckey, *skey, *civ, *siv;
};

static int parse_keys(const uint8_t *p, size_t n, struct keys *k)
{
	struct cur c = {p, n, 0, 0};
	take(&c, 16);                                   /* TLS sequence numbers, unused in DTLS */
	k->next_epoch = get16(&c);
	uint16_t hi = get16(&c);
	k->next_seq = (uint64_t)hi << 32 | get32(&c);
	take(&c, 2 + 2 + 4 + 2 + 4);                    /* curEpoch/curSeq, prevSeq */
	take(&c, 2 + 2);                                /* handshake numbers */
	hi = get16(&c);
	k->dtls_seq = (uint64_t)hi << 32 | get32(&c);
	take(&c, 2 + 4);                                /* previous-epoch write sequence */
	k->dtls_epoch = get16(&c);
	take(&c, 2 + 4 + 4 + 1 + 1);                    /* handshake number, encryptSz, padSz, flags */
	if (get16(&c) != EXP_WINDOW_WORDS)
		return -1;
	uint32_t w0 = get32(&c), w1 = get32(&c);
	k->window = (uint64_t)w1 << 32 | w0;            /* word 0 holds the newest records */
	if (get16(&c) != EXP_WINDOW_WORDS)
		return -1;
	take(&c, 4 * EXP_WINDOW_WORDS);                 /* previous epoch's window */
	take(&c, 1);                                    /* truncated HMAC flag */
	uint8_t mac_sz = get8(&c);
	if (mac_sz > 64)
		return -1;
	take(&c, 2u * mac_sz);
	k->key_sz = get8(&c);
	if (k->key_sz > 32)
		return -1;
	k->ckey = take(&c, k->key_sz);
	k->skey = take(&c, k->key_sz);
	k->iv_sz = get8(&c);
	if (k->iv_sz > 16)
		return -1;
	k->civ = take(&c, k->iv_sz);
	k->siv = take(&c, k->iv_sz);
	take(&c, 8);                                    /* aead_exp_IV */
	uint8_t imp = get8(&c);
	if (imp > 12)
		return -1;
	take(&c, 2u * imp);
	/* the key block must be consumed exactly: anything else is another layout */
	return c.bad || c.i != n ? -1 : 0;
}

int emse_record_import_blob(struct emse_record_state *st, const uint8_t *blob, size_t len)
{
	struct cur c = {blob, len, 0, 0};
	const uint8_t *h = take(&c, 4);
	if (!h || h[0] != EXP_PROTO || (h[1] & 0xF0) != (EXP_PROTO & 0xF0))
		return EMSE_REC_E_PARSE;
	if ((h[1] & 0x0F) != EXP_VERSION)
		return EMSE_REC_E_PARSE;
	size_t total = be16(h + 2);
	if (total < 2 || total + 2 > len)
		return EMSE_REC_E_PARSE;
	c.n = total + 2;                                /* parse exactly what the blob says */

	if (get16(&c) != EXP_OPT_SZ)
		return EMSE_REC_E_PARSE;
	const uint8_t *opt = take(&c, EXP_OPT_SZ);
	uint16_t key_len = get16(&c);
	if (key_len > EXP_KEY_MAX)
		return EMSE_REC_E_PARSE;
	const uint8_t *kb = take(&c, key_len);
	if (get16(&c) != EXP_SPC_SZ)
		return EMSE_REC_E_PARSE;
	const uint8_t *spc = take(&c, EXP_SPC_SZ);
	uint16_t peer_len = get16(&c);
	if (peer_len > 2 + 2 + EXP_MAX_IP + 2)
		return EMSE_REC_E_PARSE;
	take(&c, peer_len);
	if (c.bad || c.i != c.n)
		return EMSE_REC_E_PARSE;

	struct keys k;
	if (parse_keys(kb, key_len, &k) != 0)
		return EMSE_REC_E_PARSE;

	if (opt[OPT_DTLS] != 1 || opt[OPT_VERSION] != 0xfe || opt[OPT_VERSION + 1] != 0xfd ||
	    opt[OPT_SIDE] > 1)
		return EMSE_REC_E_STATE;
	if (opt[OPT_HS_DONE] != 1 || opt[OPT_IS_CLOSED] || opt[OPT_CLOSE_NOTIFY])
		return EMSE_REC_E_STATE;
	if (k.next_epoch == 0 || k.dtls_epoch == 0 || k.next_seq >= SEQ_LIMIT ||
	    k.dtls_seq >= SEQ_LIMIT)
		return EMSE_REC_E_STATE;

	uint16_t key_size = be16(spc), iv_size = be16(spc + 2), mac = be16(spc + 6);
	uint8_t bulk = spc[8], type = spc[9];
	uint8_t cipher;
	if (type != 2 /* aead */ || key_size != 16 || iv_size != 4)
		return EMSE_REC_E_UNSUPPORTED;
	if (bulk == wolfssl_aes_gcm && mac == 16)
		cipher = EMSE_REC_AES128_GCM;
	else if (bulk == wolfssl_aes_ccm && mac == 8)
		cipher = EMSE_REC_AES128_CCM8;
	else
		return EMSE_REC_E_UNSUPPORTED;
	if (k.key_sz != 16 || k.iv_sz != 4)
		return EMSE_REC_E_PARSE;

	int server = opt[OPT_SIDE] == WOLFSSL_SERVER_END;
	memset(st, 0, sizeof(*st));
	memcpy(st->rkey, server ? k.ckey : k.skey, 16);
	memcpy(st->wkey, server ? k.skey : k.ckey, 16);
	memcpy(st->rsalt, server ? k.civ : k.siv, 4);
	memcpy(st->wsalt, server ? k.siv : k.civ, 4);
	st->wseq = k.dtls_seq;
	st->wepoch = k.dtls_epoch;
	st->repoch = k.next_epoch;
	st->rnext = k.next_seq;
	/* bits for sequence numbers below 0 mean nothing */
	st->window = k.next_seq >= 64 ? k.window : k.window & ((1ULL << k.next_seq) - 1);
	st->cipher = cipher;
	st->suite[0] = opt[OPT_SUITE0];
	st->suite[1] = opt[OPT_SUITE];
	return 0;
}

int emse_record_import(struct emse_record_state *st, WOLFSSL *ssl)
{
	uint8_t blob[512];
	unsigned int sz = sizeof(blob);
	int r = wolfSSL_dtls_export(ssl, blob, &sz);
	if (r <= 0 || sz > sizeof(blob)) {
		explicit_bzero(blob, sizeof(blob));
		return EMSE_REC_E_EXPORT;
	}
	r = emse_record_import_blob(st, blob, sz);
	explicit_bzero(blob, sizeof(blob));
	return r;
}

void emse_record_moved(struct emse_record_ctx *c, const struct emse_record_state *from,
		       struct emse_record_state *to)
{
	uint32_t i = to->kslot - 1;
	if (i < c->n_keys && c->keys[i].owner == from)
		c->keys[i].owner = to;
}

void emse_record_wipe(struct emse_record_ctx *c, struct emse_record_state *st)
{
	if (c) {
		emse_record_flight_release(c, st);
		struct emse_key_slot *k = slot_of(c, st);
		if (k)
			slot_wipe(c, k);
	}
	explicit_bzero(st, sizeof(*st));
}

/* ---- held flights ------------------------------------------------------------------------ */

static struct emse_flight_slot *flight_slot(struct emse_record_ctx *c,
					    const struct emse_record_state *st)
{
	if (!(st->flags & EMSE_REC_F_FLIGHT) || !c->n_flights)
		return NULL;
	struct emse_flight_slot *f = &c->flights[st->flight % c->n_flights];
	return f->handle == st->flight ? f : NULL;
}

int emse_record_flight_hold(struct emse_record_ctx *c, struct emse_record_state *st,
			    const uint8_t *const dg[], const size_t len[], unsigned n_dg)
{
	size_t total = 0;
	if (!c->n_flights || n_dg == 0 || n_dg > EMSE_FLIGHT_MAX_DG)
		return -1;
	for (unsigned i = 0; i < n_dg; i++)
		total += len[i];
	if (total > EMSE_FLIGHT_BYTES)
		return -1;
	emse_record_flight_release(c, st);
	uint32_t h = c->next_handle++;
	if (c->next_handle == 0)
		c->next_handle = 1;
	struct emse_flight_slot *f = &c->flights[h % c->n_flights];
	if (f->handle)
		c->st.flights_evicted++;
	f->handle = h;
	f->n_dg = (uint8_t)n_dg;
	size_t off = 0;
	for (unsigned i = 0; i < n_dg; i++) {
		memcpy(f->bytes + off, dg[i], len[i]);
		f->len[i] = (uint16_t)len[i];
		off += len[i];
	}
	st->flight = h;
	st->flags |= EMSE_REC_F_FLIGHT;
	c->st.flights_held++;
	return 0;
}

const struct emse_flight_slot *emse_record_flight(struct emse_record_ctx *c,
						   const struct emse_record_state *st)
{
	return flight_slot(c, st);
}

void emse_record_flight_release(struct emse_record_ctx *c, struct emse_record_state *st)
{
	struct emse_flight_slot *f = flight_slot(c, st);
	if (f) {
		memset(f, 0, sizeof(*f));
		c->st.flights_released++;
	}
	st->flags &= (uint8_t)~EMSE_REC_F_FLIGHT;
	st->flight = 0;
}

/* ---- records ----------------------------------------------------------------------------- */

/* The AEAD's nonce and AAD, each written with one 16-byte store: the AEAD loads them in pieces
 * that each forward from that store. Assembled with byte writes and memcpy, as before, the
 * forwards failed and every seal and open waited for those stores to retire (bench-record: the
 * key-cache seal + open of a 100-byte GCM record went from 106 to 60 ns,
 * CCM-8 from 370 to 278). */
struct aead_in {
	alignas(16) uint8_t nonce[16]; /* salt (4) || explicit nonce (8) || unused */
	alignas(16) uint8_t aad[16];   /* epoch || seq (8) || type || version (2) || length (2) */
};

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline void put_block(uint8_t *dst, uint64_t lo, uint64_t hi)
{
	_mm_store_si128((__m128i *)(void *)dst, _mm_set_epi64x((long long)hi, (long long)lo));
}

/* explicit and seq: the 8 bytes as they are on the wire, loaded little-endian (load64) */
static inline void aead_in_fill(struct aead_in *a, const uint8_t salt[4], uint64_t explicit,
				uint64_t seq, uint8_t type, size_t n)
{
	uint32_t s;
	memcpy(&s, salt, 4);
	put_block(a->nonce, s | explicit << 32, explicit >> 32);
	put_block(a->aad, seq,
		  type | 0xfeu << 8 | 0xfdu << 16 | (uint64_t)(n >> 8 & 0xff) << 24 |
			  (uint64_t)(n & 0xff) << 32);
}

static inline unsigned tag_len(const struct emse_record_state *st)
{
	return st->cipher == EMSE_REC_AES128_GCM ? 16 : 8;
}

static enum emse_rec_rc drop(struct emse_record_ctx *c, enum emse_rec_drop why,
			     enum emse_rec_drop *reason)
{
	c->st.drops[why]++;
	if (reason)
		*reason = why;
	return EMSE_REC_DROP;
}

/* The AEAD refused (r: wolfCrypt's code): nothing of the output may be used. */
static enum emse_rec_rc refused(struct emse_record_ctx *c, uint8_t *out, size_t n, int r,
				enum emse_rec_drop *reason)
{
	explicit_bzero(out, n);
	return drop(c, r == AES_GCM_AUTH_E || r == AES_CCM_AUTH_E ? EMSE_REC_BAD_TAG : EMSE_REC_CRYPTO,
		    reason);
}

/* RFC 6347 4.1.2.6: 0 if seq may be opened, else the drop reason */
static inline int replay_check(const struct emse_record_state *st, uint64_t seq)
{
	if (seq < st->rnext) {
		uint64_t d = st->rnext - 1 - seq;
		if (d >= 64)
			return EMSE_REC_TOO_OLD;
		if (st->window >> d & 1)
			return EMSE_REC_REPLAY;
	}
	return -1;
}

/* the window moves only once the record proved authentic */
static inline void replay_update(struct emse_record_state *st, uint64_t seq)
{
	if (seq >= st->rnext) {
		uint64_t shift = seq - st->rnext + 1;
		st->window = (shift >= 64 ? 0 : st->window << shift) | 1;
		st->rnext = seq + 1;
	} else {
		st->window |= 1ULL << (st->rnext - 1 - seq);
	}
}

/* An authentic record of content type type, n bytes in out: what it means to the session. */
static inline enum emse_rec_rc deliver(struct emse_record_ctx *c, struct emse_record_state *st,
				       uint8_t type, const uint8_t *out, size_t n,
				       enum emse_rec_drop *reason)
{
	switch (type) {
	case EMSE_REC_CT_APP:
		/* the peer finished its handshake, so it has our Finished */
		if (st->flags & EMSE_REC_F_FLIGHT)
			emse_record_flight_release(c, st);
		c->st.opened++;
		return EMSE_REC_DATA;
	case EMSE_REC_CT_ALERT:
		if (n != 2)
			return drop(c, EMSE_REC_UNEXPECTED, reason);
		c->st.alerts++;
		return EMSE_REC_ALERT;
	case EMSE_REC_CT_HANDSHAKE:
		if (st->flags & EMSE_REC_F_HANDSHAKE)
			return EMSE_REC_HANDSHAKE;
		/* A Finished (type 20) in the new epoch after the handshake can only be the peer
		 * repeating its last flight: it never saw ours. Anything else (renegotiation) is
		 * not served by the compact layer. */
		if (n < 12 || out[0] != 20)
			return drop(c, EMSE_REC_UNEXPECTED, reason);
		if (!(st->flags & EMSE_REC_F_FLIGHT))
			return drop(c, EMSE_REC_UNEXPECTED, reason);
		if (!flight_slot(c, st)) {
			st->flags &= (uint8_t)~EMSE_REC_F_FLIGHT;
			return drop(c, EMSE_REC_FLIGHT_GONE, reason);
		}
		c->st.retx++;
		return EMSE_REC_RETX;
	default:
		return drop(c, EMSE_REC_UNEXPECTED, reason);
	}
}

/* What a record must pass before its AEAD runs, on a header of hl octets whose last two are the
 * length (13, or 13 + CID length for tls12_cid): it frames (*consumed), has our version and the
 * read epoch, is not refused (a plain record on a CID session), holds an explicit nonce, the
 * tag and at least min_inner octets of plaintext (and at most 2^14 more), and is not a replay or
 * left of the window. -1 with *rlen and *seq set, or the drop reason. Inlined into both opens:
 * the plain one's arguments are constants, so its code is what it was. */
static inline __attribute__((always_inline)) int record_check(
	const struct emse_record_state *st, const uint8_t *buf, size_t len, size_t hl, int refuse,
	unsigned min_inner, size_t *consumed, size_t *rlen, uint64_t *seq)
{
	if (len < hl)
		return EMSE_REC_MALFORMED;
	size_t rl = be16(buf + hl - 2);
	if (rl > len - hl)
		return EMSE_REC_MALFORMED;
	*consumed = hl + rl;
	if (buf[1] != 0xfe || buf[2] != 0xfd)
		return EMSE_REC_MALFORMED;
	if (be16(buf + 3) != st->repoch)
		return EMSE_REC_WRONG_EPOCH;
	if (refuse)
		return EMSE_REC_MALFORMED;
	unsigned tl = tag_len(st);
	if (rl < EMSE_REC_EXPLICIT + tl + min_inner ||
	    rl - EMSE_REC_EXPLICIT - tl > EMSE_REC_MAX_PLAIN + min_inner)
		return EMSE_REC_MALFORMED;
	*rlen = rl;
	*seq = be48(buf + 5);
	return replay_check(st, *seq);
}

enum emse_rec_rc emse_record_open(struct emse_record_ctx *c, struct emse_record_state *st,
				  const uint8_t *buf, size_t len, size_t *consumed, uint8_t *out,
				  size_t *plain_len, uint8_t *content_type,
				  enum emse_rec_drop *reason)
{
	*consumed = len;
	*plain_len = 0;
	*content_type = len ? buf[0] : 0;
	size_t rlen;
	uint64_t seq;
	/* RFC 9146 6: with CIDs negotiated the peer's records carry ours; a plain one is not its */
	int bad = record_check(st, buf, len, EMSE_REC_HDR, st->flags & EMSE_REC_F_CID, 0, consumed,
			       &rlen, &seq);
	if (bad >= 0)
		return drop(c, (enum emse_rec_drop)bad, reason);
	uint8_t type = buf[0];
	unsigned tl = tag_len(st);

	size_t n = rlen - EMSE_REC_EXPLICIT - tl;
	const uint8_t *explicit_iv = buf + EMSE_REC_HDR;
	struct aead_in a;
	aead_in_fill(&a, st->rsalt, load64(explicit_iv), load64(buf + 3), type, n);
	const uint8_t *ct = explicit_iv + EMSE_REC_EXPLICIT;
	int r = aead(c, st, 0, a.nonce, a.aad, ct, n, out, (uint8_t *)(uintptr_t)(ct + n));
	if (r != 0)
		return refused(c, out, n, r, reason);
	/* authentic: what the peer sent, no secret of ours */
	EMSE_CT_PUBLIC_MEM(out, n);
	replay_update(st, seq);
	*plain_len = n;
	return deliver(c, st, type, out, n, reason);
}

/* ---- RFC 9146 tls12_cid records -------------------------------------------------------------- */

/* RFC 9146 5 (AEAD): seq_num_placeholder (8 x 0xff) || tls12_cid || cid_length || tls12_cid ||
 * version || epoch || sequence_number || cid || length_of_DTLSInnerPlaintext: 23 + CID length
 * bytes. Written, as aead_in, one 16-byte store per block from values in registers (es: epoch ||
 * sequence number as on the wire, loaded by load64), so that the AEAD's loads of it forward; cl
 * <= EMSE_CID_MAX (16), so 48 bytes hold it. */
#define CID_AAD_MAX 48
struct cid_aead_in {
	alignas(16) uint8_t nonce[16];
	alignas(16) uint8_t aad[CID_AAD_MAX];
};

typedef unsigned __int128 u128;

/* cid[0..cl), cl <= 16, as a little-endian number (the bytes in order). Fixed-size loads for the
 * usual lengths (ours 8, a client's 4): a memcpy of a variable length is a call, and its stores
 * would not forward to the load after it. */
static inline u128 load_cid(const uint8_t *cid, unsigned cl)
{
	if (cl == 8)
		return load64(cid);
	if (cl == 4) {
		uint32_t w;
		memcpy(&w, cid, 4);
		return w;
	}
	u128 v = 0;
	for (unsigned i = cl; i-- > 0;)
		v = v << 8 | cid[i];
	return v;
}

static inline size_t cid_aead_fill(struct cid_aead_in *a, const uint8_t salt[4], uint64_t explicit,
				   uint64_t es, const uint8_t *cid, unsigned cl, size_t inner)
{
	uint32_t s;
	memcpy(&s, salt, 4);
	put_block(a->nonce, s | explicit << 32, explicit >> 32);
	put_block(a->aad, ~(uint64_t)0,
		  EMSE_REC_CT_CID | (uint64_t)cl << 8 | (uint64_t)EMSE_REC_CT_CID << 16 |
			  0xfeull << 24 | 0xfdull << 32 | (es & 0xffffff) << 40);
	/* bytes 16..47: es[3..8) || cid || length (big-endian), zeros after */
	u128 c = load_cid(cid, cl), len = (u128)((inner >> 8 & 0xff) | (inner & 0xff) << 8);
	unsigned at = 8 * (5 + cl); /* the length's bit offset, 72..168 */
	u128 lo = (u128)(es >> 24) | c << 40 | (at < 128 ? len << at : 0);
	u128 hi = c >> 88 | (at >= 128 ? len << (at - 128) : at > 112 ? len >> (128 - at) : 0);
	put_block(a->aad + 16, (uint64_t)lo, (uint64_t)(lo >> 64));
	put_block(a->aad + 32, (uint64_t)hi, (uint64_t)(hi >> 64));
	return 23 + cl;
}

enum emse_rec_rc emse_record_open_cid(struct emse_record_ctx *c, struct emse_record_state *st,
				      const uint8_t *buf, size_t len, unsigned cid_len,
				      size_t *consumed, uint8_t *out, size_t *plain_len,
				      uint8_t *content_type, enum emse_rec_drop *reason)
{
	if (!len || buf[0] != EMSE_REC_CT_CID) /* plain: refused there on a CID session */
		return emse_record_open(c, st, buf, len, consumed, out, plain_len, content_type,
					reason);
	if (!(st->flags & EMSE_REC_F_CID)) {
		/* a CID record on a session without: framed (the datagram may go on), refused */
		size_t h = EMSE_REC_HDR + cid_len;
		*consumed = len >= h && h + be16(buf + h - 2) <= len ? h + be16(buf + h - 2) : len;
		*plain_len = 0;
		*content_type = buf[0];
		return drop(c, EMSE_REC_MALFORMED, reason);
	}
	size_t hl = EMSE_REC_HDR + cid_len;
	*consumed = len;
	*plain_len = 0;
	*content_type = EMSE_REC_CT_CID;
	if (cid_len > EMSE_CID_MAX)
		return drop(c, EMSE_REC_MALFORMED, reason);
	size_t rlen;
	uint64_t seq;
	/* the inner plaintext holds the real type at least */
	int bad = record_check(st, buf, len, hl, 0, 1, consumed, &rlen, &seq);
	if (bad >= 0)
		return drop(c, (enum emse_rec_drop)bad, reason);
	unsigned tl = tag_len(st);

	size_t n = rlen - EMSE_REC_EXPLICIT - tl;
	const uint8_t *explicit_iv = buf + hl;
	struct cid_aead_in a;
	size_t al = cid_aead_fill(&a, st->rsalt, load64(explicit_iv), load64(buf + 3), buf + 11,
				  cid_len, n);
	const uint8_t *ct = explicit_iv + EMSE_REC_EXPLICIT;
	int r = aead_al(c, st, 0, a.nonce, a.aad, al, ct, n, out, (uint8_t *)(uintptr_t)(ct + n));
	if (r != 0)
		return refused(c, out, n, r, reason);
	/* authentic: what the peer sent, no secret of ours */
	EMSE_CT_PUBLIC_MEM(out, n);
	replay_update(st, seq);
	/* DTLSInnerPlaintext: content || real type || zeros; the type is the last non-zero byte */
	size_t i = n;
	while (i > 0 && out[i - 1] == 0)
		i--;
	if (i == 0)
		return drop(c, EMSE_REC_MALFORMED, reason);
	uint8_t type = out[i - 1];
	*content_type = type;
	*plain_len = i - 1;
	return deliver(c, st, type, out, i - 1, reason);
}

int emse_record_seal_cid(struct emse_record_ctx *c, struct emse_record_state *st, uint8_t type,
			 const uint8_t *peer_cid, const uint8_t *plain, size_t len, uint8_t *out,
			 size_t cap, size_t *out_len)
{
	unsigned cl = emse_rec_peer_cid_len(st);
	if (!cl)
		return emse_record_seal(c, st, type, plain, len, out, cap, out_len);
	unsigned tl = tag_len(st);
	size_t hl = EMSE_REC_HDR + cl;
	if (len > EMSE_REC_MAX_PLAIN || cap < hl + EMSE_REC_EXPLICIT + len + 1 + tl) {
		c->st.drops[EMSE_REC_TOO_BIG]++;
		return -1;
	}
	if (st->wseq >= SEQ_LIMIT) {
		c->st.drops[EMSE_REC_SEQ_EXHAUSTED]++;
		return -1;
	}
	uint64_t es = __builtin_bswap64((uint64_t)st->wepoch << 48 | st->wseq);
	uint8_t *ct = out + hl + EMSE_REC_EXPLICIT;
	/* the inner plaintext is built where it is sealed (in place: it is there already; a copy
	 * over itself would also make the AEAD's loads of it wait for the copy's stores) */
	if (ct != plain)
		memmove(ct, plain, len);
	ct[len] = type;          /* no padding */
	out[0] = EMSE_REC_CT_CID;
	out[1] = 0xfe;
	out[2] = 0xfd;
	memcpy(out + 3, &es, 8);
	memcpy(out + EMSE_REC_HDR - 2, peer_cid, cl);
	put16(out + hl - 2, (uint16_t)(EMSE_REC_EXPLICIT + len + 1 + tl));
	memcpy(out + hl, &es, 8);
	struct cid_aead_in a;
	size_t al = cid_aead_fill(&a, st->wsalt, es, es, peer_cid, cl, len + 1);
	if (aead_al(c, st, 1, a.nonce, a.aad, al, ct, len + 1, ct, ct + len + 1) != 0) {
		c->st.drops[EMSE_REC_CRYPTO]++;
		return -1;
	}
	st->wseq++;
	c->st.sealed++;
	*out_len = hl + EMSE_REC_EXPLICIT + len + 1 + tl;
	return 0;
}

int emse_record_seal(struct emse_record_ctx *c, struct emse_record_state *st, uint8_t type,
		     const uint8_t *plain, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	unsigned tl = tag_len(st);
	if (len > EMSE_REC_MAX_PLAIN || cap < EMSE_REC_HDR + EMSE_REC_EXPLICIT + len + tl) {
		c->st.drops[EMSE_REC_TOO_BIG]++;
		return -1;
	}
	if (st->wseq >= SEQ_LIMIT) {
		c->st.drops[EMSE_REC_SEQ_EXHAUSTED]++;
		return -1;
	}
	/* explicit nonce = epoch || seq: unique per key without any extra state */
	uint64_t es = __builtin_bswap64((uint64_t)st->wepoch << 48 | st->wseq);
	struct aead_in a;
	aead_in_fill(&a, st->wsalt, es, es, type, len);
	out[0] = type;
	out[1] = 0xfe;
	out[2] = 0xfd;
	memcpy(out + 3, &es, 8);
	put16(out + 11, (uint16_t)(EMSE_REC_EXPLICIT + len + tl));
	memcpy(out + EMSE_REC_HDR, &es, 8);
	uint8_t *ct = out + EMSE_REC_HDR + EMSE_REC_EXPLICIT;
	if (aead(c, st, 1, a.nonce, a.aad, plain, len, ct, ct + len) != 0) {
		c->st.drops[EMSE_REC_CRYPTO]++;
		return -1;
	}
	st->wseq++;
	c->st.sealed++;
	*out_len = EMSE_REC_HDR + EMSE_REC_EXPLICIT + len + tl;
	return 0;
}

int emse_record_seal_close_notify(struct emse_record_ctx *c, struct emse_record_state *st,
				  uint8_t *out, size_t cap, size_t *out_len)
{
	static const uint8_t alert[2] = {EMSE_REC_ALERT_WARNING, EMSE_REC_ALERT_CLOSE_NOTIFY};
	return emse_record_seal(c, st, EMSE_REC_CT_ALERT, alert, 2, out, cap, out_len);
}
