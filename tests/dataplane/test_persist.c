/* dataplane/persist.c: a saved session comes back field for field; every kind of bad file is
 * refused for its own reason; entries past their idle deadline or too close to 2^48 are dropped;
 * and the nonce margin holds: records sealed after a restore never repeat a (key, nonce) pair
 * sealed before the save or by the old process after it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "emse/dtls/cid.h"
#include "emse/persist.h"
#include "emse/dtls/record.h"

static const uint8_t KEY[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static char path[64];
#define T0 1800000000ull /* the save's time (unix s) */

static struct emse_persist_entry sample(int i)
{
	struct emse_persist_entry e;
	memset(&e, 0, sizeof(e));
	e.flow.peer.family = e.flow.local.family = i & 1 ? 6 : 4;
	for (int k = 0; k < 16; k++) {
		e.flow.peer.a[k] = (uint8_t)(i * 7 + k);
		e.flow.local.a[k] = (uint8_t)(0xa0 + k);
	}
	e.flow.peer_port = (uint16_t)(40000 + i);
	e.flow.local_port = 5684;
	memcpy(e.flow.peer_mac, "\x02\x00\x00\x00\x00\x07", 6);
	e.listener = (uint8_t)(i % 3);
	e.idle_deadline = T0 + 600 + (uint64_t)i;
	e.rec.cipher = i & 2 ? EMSE_REC_AES128_CCM8 : EMSE_REC_AES128_GCM;
	e.rec.suite[0] = 0xc0;
	e.rec.suite[1] = (uint8_t)(0xa8 + i);
	e.rec.wepoch = e.rec.repoch = 1;
	for (int k = 0; k < 16; k++) {
		e.rec.rkey[k] = (uint8_t)(0x10 + k + i);
		e.rec.wkey[k] = (uint8_t)(0x40 + k + i);
	}
	memcpy(e.rec.rsalt, "\x11\x22\x33\x44", 4);
	memcpy(e.rec.wsalt, "\x55\x66\x77\x88", 4);
	e.rec.wseq = 1000u + (uint64_t)i;
	e.rec.rnext = 77u + (uint64_t)i;
	e.rec.window = 0xf0f0f0f0f0f0f0f0ull ^ (uint64_t)i;
	e.has_id = i % 4 != 3;
	if (e.has_id) {
		e.id.key_id = 0xdeadbe00u + (uint32_t)i;
		e.id.app_id_len = (uint8_t)snprintf(e.id.app_id, sizeof(e.id.app_id), "app-%d.example",
						    i);
	}
	return e;
}

static void assert_same(const struct emse_persist_entry *a, const struct emse_persist_entry *b)
{
	assert_memory_equal(&a->flow.peer, &b->flow.peer, sizeof(a->flow.peer));
	assert_memory_equal(&a->flow.local, &b->flow.local, sizeof(a->flow.local));
	assert_int_equal(a->flow.peer_port, b->flow.peer_port);
	assert_int_equal(a->flow.local_port, b->flow.local_port);
	assert_memory_equal(a->flow.peer_mac, b->flow.peer_mac, 6);
	assert_int_equal(a->listener, b->listener);
	assert_int_equal(a->idle_deadline, b->idle_deadline);
	assert_memory_equal(a->rec.rkey, b->rec.rkey, 16);
	assert_memory_equal(a->rec.wkey, b->rec.wkey, 16);
	assert_memory_equal(a->rec.rsalt, b->rec.rsalt, 4);
	assert_memory_equal(a->rec.wsalt, b->rec.wsalt, 4);
	assert_int_equal(a->rec.wseq, b->rec.wseq);
	assert_int_equal(a->rec.rnext, b->rec.rnext);
	assert_int_equal(a->rec.window, b->rec.window);
	assert_int_equal(a->rec.wepoch, b->rec.wepoch);
	assert_int_equal(a->rec.repoch, b->rec.repoch);
	assert_int_equal(a->rec.cipher, b->rec.cipher);
	assert_memory_equal(a->rec.suite, b->rec.suite, 2);
	assert_int_equal(a->has_id, b->has_id);
	if (a->has_id) {
		assert_int_equal(a->id.key_id, b->id.key_id);
		assert_int_equal(a->id.app_id_len, b->id.app_id_len);
		assert_string_equal(a->id.app_id, b->id.app_id);
	}
}

/* n sample entries into path; returns the file size. */
static long long write_n(int n, uint64_t created, const uint8_t *key)
{
	static uint8_t buf[64 * EMSE_PERSIST_ENTRY_MAX];
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		struct emse_persist_entry e = sample(i);
		size_t k = emse_persist_entry_encode(&e, buf + off, sizeof(buf) - off);
		assert_true(k > 0);
		off += k;
	}
	struct emse_persist_part part = { buf, off };
	char err[256];
	long long size = emse_persist_write(path, key, created, (uint64_t)n, &part, 1, err,
					    sizeof(err));
	assert_true(size > 0);
	return size;
}

static uint8_t *slurp(size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static uint8_t b[1 << 16];
	*len = fread(b, 1, sizeof(b), f);
	fclose(f);
	return b;
}

static void spit(const uint8_t *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, len, f), len);
	fclose(f);
}

static enum emse_persist_refuse read_at(uint64_t now, uint32_t max_age, const uint8_t *key)
{
	struct emse_persist_file f;
	enum emse_persist_refuse r = emse_persist_read(path, key, now, max_age, &f);
	if (r == EMSE_PERSIST_OK)
		emse_persist_file_free(&f);
	else
		assert_null(f.body);
	return r;
}

static void test_entry_round_trip_and_strict(void **state)
{
	(void)state;
	for (int i = 0; i < 8; i++) {
		struct emse_persist_entry e = sample(i), d;
		uint8_t buf[EMSE_PERSIST_ENTRY_MAX];
		size_t n = emse_persist_entry_encode(&e, buf, sizeof(buf)), used;
		assert_true(n > 0 && n <= EMSE_PERSIST_ENTRY_MAX);
		assert_int_equal(emse_persist_entry_decode(buf, n, &used, &d), 0);
		assert_int_equal(used, n);
		assert_same(&e, &d);
		/* any shorter input is refused, and so is an unknown record-state version */
		for (size_t k = 0; k < n; k++)
			assert_int_equal(emse_persist_entry_decode(buf, k, &used, &d), -1);
		assert_int_equal(emse_persist_entry_encode(&e, buf, n - 1), 0);
	}
	struct emse_persist_entry e = sample(0), d;
	uint8_t buf[EMSE_PERSIST_ENTRY_MAX];
	size_t n = emse_persist_entry_encode(&e, buf, sizeof(buf)), used;
	size_t recv = 2 + 2 + 4 + 32 + 6 + 1 + 8; /* offset of the record state's version */
	assert_int_equal(buf[recv], EMSE_PERSIST_REC_V1);
	buf[recv] = 2;
	assert_int_equal(emse_persist_entry_decode(buf, n, &used, &d), -1);
}

static void test_file_round_trip(void **state)
{
	(void)state;
	long long size = write_n(20, T0, KEY);
	struct emse_persist_file f;
	assert_int_equal(emse_persist_read(path, KEY, T0 + 10, 60, &f), EMSE_PERSIST_OK);
	assert_int_equal(f.created, T0);
	assert_int_equal(f.count, 20);
	assert_int_equal((size_t)size, f.body_len + EMSE_PERSIST_HDR + EMSE_PERSIST_TAG);
	size_t off = 0;
	struct emse_persist_entry e;
	int i = 0;
	while (emse_persist_next(&f, &off, &e) == 1) {
		struct emse_persist_entry want = sample(i++);
		assert_same(&want, &e);
	}
	assert_int_equal(i, 20);
	emse_persist_file_free(&f);
	/* the budget, and no session key in clear on disk */
	assert_true(size / 20 <= 300);
	size_t len;
	const uint8_t *b = slurp(&len);
	struct emse_persist_entry s0 = sample(0);
	for (size_t k = 0; k + 16 <= len; k++) {
		assert_memory_not_equal(b + k, s0.rec.rkey, 16);
		assert_memory_not_equal(b + k, s0.rec.wkey, 16);
	}
	/* no temporary left behind */
	char tmp[80];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_not_equal(access(tmp, F_OK), 0);
}

static void test_refusals(void **state)
{
	(void)state;
	uint8_t other[32];
	memcpy(other, KEY, 32);
	other[31] ^= 1;
	write_n(5, T0, KEY);
	size_t len;
	uint8_t good[1 << 16];
	const uint8_t *g = slurp(&len);
	memcpy(good, g, len);
	uint8_t b[1 << 16];

	assert_int_equal(read_at(T0 + 1, 60, KEY), EMSE_PERSIST_OK);
	assert_int_equal(read_at(T0 + 1, 60, other), EMSE_PERSIST_R_AUTH);
	/* a bit of the body, of the count in the header (additional data) and of the tag */
	size_t flips[] = { EMSE_PERSIST_HDR + 3, 24, len - 1 };
	for (unsigned i = 0; i < 3; i++) {
		memcpy(b, good, len);
		b[flips[i]] ^= 0x20;
		spit(b, len);
		assert_int_equal(read_at(T0 + 1, 60, KEY), EMSE_PERSIST_R_AUTH);
	}
	/* truncated: inside the body, then below header + tag */
	spit(good, len - 7);
	assert_int_equal(read_at(T0 + 1, 60, KEY), EMSE_PERSIST_R_AUTH);
	spit(good, EMSE_PERSIST_HDR + EMSE_PERSIST_TAG - 1);
	assert_int_equal(read_at(T0 + 1, 60, KEY), EMSE_PERSIST_R_TRUNCATED);
	memcpy(b, good, len);
	b[0] = 'X';
	spit(b, len);
	assert_int_equal(read_at(T0 + 1, 60, KEY), EMSE_PERSIST_R_MAGIC);
	memcpy(b, good, len);
	b[8] = EMSE_PERSIST_VERSION + 1;
	spit(b, len);
	assert_int_equal(read_at(T0 + 1, 60, KEY), EMSE_PERSIST_R_VERSION);
	unlink(path);
	assert_int_equal(read_at(T0 + 1, 60, KEY), EMSE_PERSIST_R_IO);
	/* age: exactly max_age is accepted, one second more is not; the future is refused */
	spit(good, len);
	assert_int_equal(read_at(T0 + 60, 60, KEY), EMSE_PERSIST_OK);
	assert_int_equal(read_at(T0 + 61, 60, KEY), EMSE_PERSIST_R_TOO_OLD);
	assert_int_equal(read_at(T0 - 3600, 60, KEY), EMSE_PERSIST_R_FUTURE);
	/* an authentic file whose count disagrees with its entries */
	struct emse_persist_entry e = sample(0);
	uint8_t one[EMSE_PERSIST_ENTRY_MAX];
	struct emse_persist_part part = { one, emse_persist_entry_encode(&e, one, sizeof(one)) };
	char err[256];
	assert_true(emse_persist_write(path, KEY, T0, 2, &part, 1, err, sizeof(err)) > 0);
	assert_int_equal(read_at(T0 + 1, 60, KEY), EMSE_PERSIST_R_MALFORMED);
	/* and an empty one is a file like any other */
	write_n(0, T0, KEY);
	assert_int_equal(read_at(T0 + 1, 60, KEY), EMSE_PERSIST_OK);
}

static void test_admit(void **state)
{
	(void)state;
	struct emse_persist_entry e = sample(1);
	uint64_t m = emse_persist_wseq_margin(60);
	assert_int_equal(m, 61ull << 27);
	/* idle deadline passed */
	assert_int_equal(emse_persist_admit(&e, e.idle_deadline, 60), EMSE_PERSIST_D_IDLE);
	assert_int_equal(e.rec.wseq, 1001);
	/* restored: the margin added */
	assert_int_equal(emse_persist_admit(&e, e.idle_deadline - 1, 60), -1);
	assert_int_equal(e.rec.wseq, 1001 + m);
	/* the margin would cross 2^48 - 1: dropped, wseq untouched */
	e = sample(1);
	e.rec.wseq = EMSE_REC_SEQ_MAX - m + 1;
	assert_int_equal(emse_persist_admit(&e, T0, 60), EMSE_PERSIST_D_SEQ);
	assert_int_equal(e.rec.wseq, EMSE_REC_SEQ_MAX - m + 1);
	e.rec.wseq = EMSE_REC_SEQ_MAX - m;
	assert_int_equal(emse_persist_admit(&e, T0, 60), -1);
	assert_int_equal(e.rec.wseq, EMSE_REC_SEQ_MAX);
}

static void test_key_file(void **state)
{
	(void)state;
	uint8_t k[32];
	char err[256];
	spit(KEY, 32);
	assert_int_equal(emse_persist_key_load(path, k, err, sizeof(err)), 0);
	assert_memory_equal(k, KEY, 32);
	char hex[66];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", KEY[i]);
	hex[64] = '\n';
	spit((const uint8_t *)hex, 65);
	memset(k, 0, 32);
	assert_int_equal(emse_persist_key_load(path, k, err, sizeof(err)), 0);
	assert_memory_equal(k, KEY, 32);
	spit(KEY, 31);
	assert_int_equal(emse_persist_key_load(path, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "32 bytes"));
	unlink(path);
	assert_int_equal(emse_persist_key_load(path, k, err, sizeof(err)), -1);
}

/* The nonce of a sealed record: its explicit part (epoch || seq, RFC 5288 / 6655 as DTLS uses
 * them) under the session's fixed salt; the key is the same before and after the restore. */
static uint64_t nonce_of(const uint8_t *rec)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | rec[EMSE_REC_HDR + i];
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void nonce_margin(uint8_t cipher)
{
	const uint32_t max_age = 5;
	struct emse_record_ctx c;
	assert_int_equal(emse_record_ctx_init(&c, 4), 0);
	struct emse_persist_entry e = sample(0);
	e.rec.cipher = cipher;
	e.rec.wseq = 1;
	struct emse_record_state old = e.rec;
	enum { BEFORE = 50, AFTER = 50, RESTORED = 200 };
	static uint64_t seen[BEFORE + AFTER + 2 + RESTORED];
	unsigned n = 0;
	uint8_t rec[128];
	size_t len;
	const uint8_t msg[] = "hello";
	for (int i = 0; i < BEFORE; i++) {
		assert_int_equal(emse_record_seal(&c, &old, EMSE_REC_CT_APP, msg, 5, rec, sizeof(rec),
						  &len), 0);
		seen[n++] = nonce_of(rec);
	}
	/* the save */
	e.rec = old;
	uint8_t buf[EMSE_PERSIST_ENTRY_MAX];
	size_t elen = emse_persist_entry_encode(&e, buf, sizeof(buf));
	struct emse_persist_part part = { buf, elen };
	char err[256];
	assert_true(emse_persist_write(path, KEY, T0, 1, &part, 1, err, sizeof(err)) > 0);
	/* the old process keeps sending after the save: some records, then as many as line rate
	 * allows until the oldest moment the file is still accepted (max_age_s later) */
	for (int i = 0; i < AFTER; i++) {
		assert_int_equal(emse_record_seal(&c, &old, EMSE_REC_CT_APP, msg, 5, rec, sizeof(rec),
						  &len), 0);
		seen[n++] = nonce_of(rec);
	}
	old.wseq = e.rec.wseq + ((uint64_t)max_age << EMSE_PERSIST_RATE_LOG2) - 2;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(emse_record_seal(&c, &old, EMSE_REC_CT_APP, msg, 5, rec, sizeof(rec),
						  &len), 0);
		seen[n++] = nonce_of(rec);
	}
	/* the restart, as late as the file is accepted */
	struct emse_persist_file f;
	assert_int_equal(emse_persist_read(path, KEY, T0 + max_age, max_age, &f), EMSE_PERSIST_OK);
	size_t off = 0;
	struct emse_persist_entry r;
	assert_int_equal(emse_persist_next(&f, &off, &r), 1);
	emse_persist_file_free(&f);
	assert_memory_equal(r.rec.wkey, old.wkey, 16); /* same key: nonces must differ */
	assert_memory_equal(r.rec.wsalt, old.wsalt, 4);
	assert_int_equal(emse_persist_admit(&r, T0 + max_age, max_age), -1);
	unsigned before_restore = n;
	for (int i = 0; i < RESTORED; i++) {
		assert_int_equal(emse_record_seal(&c, &r.rec, EMSE_REC_CT_APP, msg, 5, rec, sizeof(rec),
						  &len), 0);
		seen[n++] = nonce_of(rec);
	}
	/* every nonce distinct, and every restored one above every old one */
	uint64_t old_max = 0;
	for (unsigned i = 0; i < before_restore; i++)
		old_max = seen[i] > old_max ? seen[i] : old_max;
	for (unsigned i = before_restore; i < n; i++)
		assert_true(seen[i] > old_max);
	qsort(seen, n, sizeof(seen[0]), cmp_u64);
	for (unsigned i = 1; i < n; i++)
		assert_true(seen[i] != seen[i - 1]);
	emse_record_wipe(&c, &old);
	emse_record_wipe(&c, &r.rec);
	emse_record_ctx_fini(&c);
}

/* RFC 9146: a CID session's state (our CID, which names its worker and slot; the client's CID and
 * its length; the check bits) is saved and read back; under the same CID key it is placed in the
 * worker and slot its CID names, under another key, node_id or cid_length, with CIDs off, with
 * fewer workers or with other check bits it is dropped as "cid_mismatch". */
static void cid_entry(struct emse_persist_entry *e, const struct emse_cid_codec *c, unsigned len,
		      unsigned worker, uint32_t slot, uint32_t check, const uint8_t *peer,
		      unsigned peer_len)
{
	check &= emse_cid_check_mask(c, len);
	e->rec.flags = (uint8_t)(EMSE_REC_F_CID | peer_len << EMSE_REC_PEER_CID_SHIFT);
	e->rec.cid_check = (uint16_t)check;
	e->cid_len = (uint8_t)len;
	emse_cid_encode(c, len, worker, slot, check, e->cid);
	if (peer_len)
		memcpy(e->peer_cid, peer, peer_len);
}

static void assert_same_cid(const struct emse_persist_entry *a, const struct emse_persist_entry *b)
{
	assert_same(a, b);
	const uint8_t bits = EMSE_REC_F_CID | EMSE_REC_F_PEER_CID;
	assert_int_equal(b->rec.flags & bits, a->rec.flags & bits);
	if (!(a->rec.flags & EMSE_REC_F_CID))
		return;
	assert_int_equal(b->rec.cid_check, a->rec.cid_check);
	assert_int_equal(b->cid_len, a->cid_len);
	assert_memory_equal(b->cid, a->cid, a->cid_len);
	assert_int_equal(emse_rec_peer_cid_len(&b->rec), emse_rec_peer_cid_len(&a->rec));
	if (emse_rec_peer_cid_len(&a->rec))
		assert_memory_equal(b->peer_cid, a->peer_cid, emse_rec_peer_cid_len(&a->rec));
}

static void test_cid_session_round_trip(void **state)
{
	(void)state;
	uint8_t ck[EMSE_CID_KEY_LEN], ck2[EMSE_CID_KEY_LEN];
	for (int k = 0; k < EMSE_CID_KEY_LEN; k++) {
		ck[k] = (uint8_t)(0x30 + k);
		ck2[k] = (uint8_t)(0x30 + k + (k == 5));
	}
	const uint32_t MAXS = 4096;
	struct emse_cid_codec c, c_key, c_node;
	assert_int_equal(emse_cid_codec_init(&c, ck, 9, MAXS), 0);
	assert_int_equal(emse_cid_codec_init(&c_key, ck2, 9, MAXS), 0);
	assert_int_equal(emse_cid_codec_init(&c_node, ck, 10, MAXS), 0);
	/* a 3-octet client CID; a zero-length one (our CID only) with the longest CID of ours and
	 * the longest identity; a session without CIDs */
	struct emse_persist_entry in[3] = { sample(1), sample(2), sample(0) };
	cid_entry(&in[0], &c, 8, 3, 77, 0xbeef, (const uint8_t *)"\xc1\xd2\xe3", 3);
	cid_entry(&in[1], &c, 16, 0, MAXS - 1, 0x1234, NULL, 0);
	in[1].has_id = true;
	in[1].id.app_id_len = E2M_APP_ID_MAX;
	memset(in[1].id.app_id, 'a', E2M_APP_ID_MAX);
	in[1].id.app_id[E2M_APP_ID_MAX] = '\0';
	uint8_t buf[3 * EMSE_PERSIST_ENTRY_MAX];
	size_t off = 0, used;
	for (int i = 0; i < 3; i++) {
		size_t n = emse_persist_entry_encode(&in[i], buf + off, sizeof(buf) - off);
		assert_true(n > 0 && n <= EMSE_PERSIST_ENTRY_MAX);
		off += n;
	}
	struct emse_persist_part part = { buf, off };
	char err[256];
	assert_true(emse_persist_write(path, KEY, T0, 3, &part, 1, err, sizeof(err)) > 0);
	struct emse_persist_file f;
	assert_int_equal(emse_persist_read(path, KEY, T0 + 1, 60, &f), EMSE_PERSIST_OK);
	struct emse_persist_entry out[3];
	size_t foff = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(emse_persist_next(&f, &foff, &out[i]), 1);
		assert_same_cid(&in[i], &out[i]);
	}
	emse_persist_file_free(&f);
	assert_int_equal(out[2].rec.flags & EMSE_REC_F_CID, 0);

	/* back to the worker and slot the CID names, with its check bits */
	unsigned w;
	uint32_t s;
	assert_int_equal(emse_persist_cid_place(&c, 8, 4, MAXS, &out[0], &w, &s), -1);
	assert_int_equal(w, 3);
	assert_int_equal(s, 77);
	assert_int_equal(emse_persist_cid_place(&c, 16, 1, MAXS, &out[1], &w, &s), -1);
	assert_int_equal(w, 0);
	assert_int_equal(s, MAXS - 1);
	/* or nowhere */
	const int D = EMSE_PERSIST_D_CID;
	assert_int_equal(emse_persist_cid_place(&c_key, 8, 4, MAXS, &out[0], &w, &s), D);
	assert_int_equal(emse_persist_cid_place(&c_node, 8, 4, MAXS, &out[0], &w, &s), D);
	assert_int_equal(emse_persist_cid_place(NULL, 8, 4, MAXS, &out[0], &w, &s), D);
	assert_int_equal(emse_persist_cid_place(&c, 0, 4, MAXS, &out[0], &w, &s), D);
	assert_int_equal(emse_persist_cid_place(&c, 10, 4, MAXS, &out[0], &w, &s), D);
	assert_int_equal(emse_persist_cid_place(&c, 8, 3, MAXS, &out[0], &w, &s), D);
	assert_int_equal(emse_persist_cid_place(&c, 8, 4, 77, &out[0], &w, &s), D);
	out[0].rec.cid_check ^= 1;
	assert_int_equal(emse_persist_cid_place(&c, 8, 4, MAXS, &out[0], &w, &s), D);
	assert_string_equal(emse_persist_drop_name(EMSE_PERSIST_D_CID), "cid_mismatch");

	/* strict: a CID shorter than 4 octets, a client CID without ours, one longer than 4 */
	struct emse_persist_entry d;
	size_t n0 = emse_persist_entry_encode(&in[0], buf, sizeof(buf));
	const size_t lens = 2 + 2 + 4 + 32 + 6 + 1 + 8 + 72; /* offset of the two CID lengths */
	assert_int_equal(buf[lens], 8);
	assert_int_equal(buf[lens + 1], 3);
	assert_int_equal(emse_persist_entry_decode(buf, n0, &used, &d), 0);
	buf[lens] = 3;
	assert_int_equal(emse_persist_entry_decode(buf, n0, &used, &d), -1);
	buf[lens] = 8;
	buf[lens + 1] = 5;
	assert_int_equal(emse_persist_entry_decode(buf, n0, &used, &d), -1);
	size_t n2 = emse_persist_entry_encode(&in[2], buf, sizeof(buf));
	buf[lens + 1] = 2;
	assert_int_equal(emse_persist_entry_decode(buf, n2, &used, &d), -1);
	emse_cid_codec_wipe(&c);
	emse_cid_codec_wipe(&c_key);
	emse_cid_codec_wipe(&c_node);
}

static void test_nonce_margin_gcm(void **state)
{
	(void)state;
	nonce_margin(EMSE_REC_AES128_GCM);
}

static void test_nonce_margin_ccm8(void **state)
{
	(void)state;
	nonce_margin(EMSE_REC_AES128_CCM8);
}

int main(void)
{
	snprintf(path, sizeof(path), "/tmp/emse-test-persist-%d", (int)getpid());
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_round_trip_and_strict),
		cmocka_unit_test(test_file_round_trip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_admit),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_nonce_margin_gcm),
		cmocka_unit_test(test_nonce_margin_ccm8),
		cmocka_unit_test(test_cid_session_round_trip),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return rc;
}
