/* dataplane/dtls/dtls_peek.c against real wolfSSL 5.7.2 DTLS 1.2 bytes (a client and a server talking
 * in memory: ClientHello without and with cookie, the ClientKeyExchange of flight 3), then the
 * same bytes broken in every way the parsers must refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wolfmem.h"
#include "emse/dtls/dtls_peek.h"

/* Captured once per run: the client's datagrams of a complete handshake. */
static uint8_t CH1[WM_DG_SIZE], CH2[WM_DG_SIZE], CKE[WM_DG_SIZE], FIN[WM_DG_SIZE];
static size_t CH1_LEN, CH2_LEN, CKE_LEN, FIN_LEN;

static struct wm_queue c2s, s2c;

/* With EMSE_FUZZ_SEEDS=<dir> set, the captured datagrams are written to <dir>/<harness>/ as
 * fuzz seeds (that is how tests/fuzz/corpus/{dtls_peek,cookie_verify}/ were made). */
static void dump_seed(const char *harness, const char *name, const uint8_t *p, size_t n)
{
	const char *root = getenv("EMSE_FUZZ_SEEDS");
	char path[512];
	if (!root)
		return;
	snprintf(path, sizeof(path), "%s/%s/%s", root, harness, name);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

static int capture(void **state)
{
	(void)state;
	struct wm_end ce = {&s2c, &c2s}, se = {&c2s, &s2c};
	WOLFSSL_CTX *cc = wm_ctx(0), *sc = wm_ctx(1);
	if (!cc || !sc)
		return -1;
	WOLFSSL *c = wm_new(cc, &ce), *s = wm_new(sc, &se);
	if (!c || !s)
		return -1;
	int cd = 0, sd = 0;
	for (int i = 0; i < 20 && !(cd == 1 && sd == 1); i++) {
		if (cd != 1)
			cd = wm_step(c, 0);
		if (sd != 1)
			sd = wm_step(s, 1);
		if (cd < 0 || sd < 0)
			return -1;
	}
	if (cd != 1 || sd != 1 || c2s.nlog < 4)
		return -1;
	/* client: CH1, CH2 (with cookie), flight 3 = CKE, then CCS + Finished */
	memcpy(CH1, c2s.log[0], CH1_LEN = c2s.log_len[0]);
	memcpy(CH2, c2s.log[1], CH2_LEN = c2s.log_len[1]);
	memcpy(CKE, c2s.log[2], CKE_LEN = c2s.log_len[2]);
	memcpy(FIN, c2s.log[3], FIN_LEN = c2s.log_len[3]);
	dump_seed("dtls_peek", "client_hello", CH1, CH1_LEN);
	dump_seed("dtls_peek", "client_hello_cookie", CH2, CH2_LEN);
	dump_seed("dtls_peek", "client_key_exchange", CKE, CKE_LEN);
	dump_seed("dtls_peek", "ccs_finished", FIN, FIN_LEN);
	dump_seed("cookie_verify", "client_hello", CH1, CH1_LEN);
	dump_seed("cookie_verify", "client_hello_cookie", CH2, CH2_LEN);
	for (int i = 0; i < s2c.nlog; i++) {
		char name[32];
		snprintf(name, sizeof(name), "server_%d", i);
		dump_seed("dtls_peek", name, s2c.log[i], s2c.log_len[i]);
	}
	wolfSSL_free(c);
	wolfSSL_free(s);
	wolfSSL_CTX_free(cc);
	wolfSSL_CTX_free(sc);
	return 0;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static int parse_copy(const uint8_t *dg, size_t len)
{
	/* exact-size heap copy: the ASan build catches any read past len */
	uint8_t *p = malloc(len ? len : 1);
	memcpy(p, dg, len);
	struct dtls_client_hello ch;
	int r = dtls_parse_client_hello(p, len, &ch);
	free(p);
	return r;
}

static void test_record_parse_real(void **state)
{
	(void)state;
	struct dtls_record rec;
	size_t used;
	assert_int_equal(dtls_record_parse(CH1, CH1_LEN, &rec, &used), DTLS_PEEK_OK);
	assert_int_equal(rec.type, DTLS_CT_HANDSHAKE);
	assert_int_equal(rec.ver_major, 0xfe);
	assert_int_equal(rec.epoch, 0);
	assert_int_equal(rec.seq, 0);
	assert_int_equal(rec.len, CH1_LEN - 13);
	assert_ptr_equal(rec.frag, CH1 + 13);
	assert_int_equal(used, CH1_LEN);

	/* the second ClientHello is the client's second record */
	assert_int_equal(dtls_record_parse(CH2, CH2_LEN, &rec, &used), DTLS_PEEK_OK);
	assert_int_equal(rec.seq, 1);

	/* CCS + Finished: two records in one datagram, the second in epoch 1 */
	assert_int_equal(dtls_record_parse(FIN, FIN_LEN, &rec, &used), DTLS_PEEK_OK);
	assert_int_equal(rec.type, DTLS_CT_CCS);
	assert_int_equal(rec.len, 1);
	assert_int_equal(used, 14);
	size_t used2;
	assert_int_equal(dtls_record_parse(FIN + used, FIN_LEN - used, &rec, &used2),
			 DTLS_PEEK_OK);
	assert_int_equal(rec.type, DTLS_CT_HANDSHAKE);
	assert_int_equal(rec.epoch, 1);
	assert_int_equal(used + used2, FIN_LEN);
}

static void test_record_parse_bad(void **state)
{
	(void)state;
	struct dtls_record rec;
	size_t used;
	uint8_t b[64];
	for (size_t l = 0; l < 13; l++)
		assert_int_equal(dtls_record_parse(CH1, l, &rec, &used), DTLS_PEEK_SHORT);
	memcpy(b, CH1, sizeof(b));
	b[0] = 24; /* heartbeat */
	assert_int_equal(dtls_record_parse(b, sizeof(b), &rec, &used), DTLS_PEEK_BAD_TYPE);
	b[0] = 19;
	assert_int_equal(dtls_record_parse(b, sizeof(b), &rec, &used), DTLS_PEEK_BAD_TYPE);
	memcpy(b, CH1, sizeof(b));
	b[1] = 0x03; /* TLS */
	b[2] = 0x03;
	assert_int_equal(dtls_record_parse(b, sizeof(b), &rec, &used), DTLS_PEEK_BAD_VERSION);
	b[1] = 0xfe;
	b[2] = 0xfc; /* DTLS 1.3 is never a record version on the wire */
	assert_int_equal(dtls_record_parse(b, sizeof(b), &rec, &used), DTLS_PEEK_BAD_VERSION);
	memcpy(b, CH1, sizeof(b));
	put16(b + 11, 16384 + 2048 + 1);
	assert_int_equal(dtls_record_parse(b, sizeof(b), &rec, &used), DTLS_PEEK_MALFORMED);
	put16(b + 11, 64 - 13 + 1);
	assert_int_equal(dtls_record_parse(b, sizeof(b), &rec, &used), DTLS_PEEK_SHORT);
	put16(b + 11, 64 - 13);
	assert_int_equal(dtls_record_parse(b, sizeof(b), &rec, &used), DTLS_PEEK_OK);
	assert_int_equal(used, 64);
	/* 48-bit sequence number, all of it */
	memset(b + 5, 0xff, 6);
	b[5] = 0x80;
	assert_int_equal(dtls_record_parse(b, sizeof(b), &rec, &used), DTLS_PEEK_OK);
	assert_true(rec.seq == 0x80ffffffffffULL);
}

static void test_client_hello_real(void **state)
{
	(void)state;
	struct dtls_client_hello ch;
	assert_int_equal(dtls_parse_client_hello(CH1, CH1_LEN, &ch), DTLS_PEEK_OK);
	assert_int_equal(ch.record_seq, 0);
	assert_int_equal(ch.message_seq, 0);
	const uint8_t *body = CH1 + 13 + 12;
	assert_ptr_equal(ch.version, body);
	assert_int_equal(be16(ch.version), 0xfefd);
	assert_ptr_equal(ch.random, body + 2);
	assert_int_equal(ch.session_id_len, body[34]);
	assert_ptr_equal(ch.session_id, body + 35);
	assert_int_equal(ch.cookie_len, 0);
	assert_ptr_equal(ch.suites, body + 35 + body[34] + 1 + 2);
	/* the three suites we configured, in order */
	assert_int_equal(ch.suites_len % 2, 0);
	assert_true(ch.suites_len >= 6);
	assert_int_equal(be16(ch.suites), 0xc0a8);     /* TLS_PSK_WITH_AES_128_CCM_8 */
	assert_int_equal(be16(ch.suites + 2), 0x00a8); /* TLS_PSK_WITH_AES_128_GCM_SHA256 */
	assert_int_equal(be16(ch.suites + 4), 0x00ae); /* TLS_PSK_WITH_AES_128_CBC_SHA256 */
	assert_int_equal(ch.compression_len, 1);
	assert_int_equal(ch.compression[0], 0);
	assert_ptr_equal(ch.compression, ch.suites + ch.suites_len + 1);

	assert_int_equal(dtls_parse_client_hello(CH2, CH2_LEN, &ch), DTLS_PEEK_OK);
	assert_int_equal(ch.record_seq, 1);
	assert_int_equal(ch.message_seq, 1);
	assert_int_equal(ch.cookie_len, 32);
	assert_ptr_equal(ch.cookie, CH2 + 13 + 12 + 35 + ch.session_id_len + 1);
	/* same random as the first ClientHello (RFC 6347 4.2.1) */
	struct dtls_client_hello ch1;
	assert_int_equal(dtls_parse_client_hello(CH1, CH1_LEN, &ch1), DTLS_PEEK_OK);
	assert_memory_equal(ch.random, ch1.random, 32);
}

static void test_client_hello_not_a_client_hello(void **state)
{
	(void)state;
	struct dtls_client_hello ch;
	assert_int_equal(dtls_parse_client_hello(CKE, CKE_LEN, &ch), DTLS_PEEK_BAD_TYPE);
	assert_int_equal(dtls_parse_client_hello(FIN, FIN_LEN, &ch), DTLS_PEEK_BAD_TYPE);
	/* the Finished record alone: epoch 1 */
	assert_int_equal(dtls_parse_client_hello(FIN + 14, FIN_LEN - 14, &ch), DTLS_PEEK_BAD_EPOCH);
}

static void test_client_hello_every_prefix_short(void **state)
{
	(void)state;
	for (size_t l = 0; l < CH2_LEN; l++)
		if (parse_copy(CH2, l) != DTLS_PEEK_SHORT)
			fail_msg("prefix %zu: %s", l, dtls_peek_strerror(parse_copy(CH2, l)));
	assert_int_equal(parse_copy(CH2, CH2_LEN), DTLS_PEEK_OK);
}

/* A mutable copy of CH2 with its offsets, to break one field at a time. */
struct chm {
	uint8_t b[WM_DG_SIZE];
	size_t len;
	size_t body, sid, cookie, suites, comp, ext;
};
static void chm_load(struct chm *m)
{
	memcpy(m->b, CH2, CH2_LEN);
	m->len = CH2_LEN;
	m->body = 25;
	m->sid = m->body + 34;
	m->cookie = m->sid + 1 + m->b[m->sid];
	m->suites = m->cookie + 1 + m->b[m->cookie];
	m->comp = m->suites + 2 + be16(m->b + m->suites);
	m->ext = m->comp + 1 + m->b[m->comp];
}
/* Grows or shrinks the message by d bytes at its end, keeping record and handshake lengths
 * consistent, so only the field under test is wrong. */
static void chm_resize(struct chm *m, int d)
{
	m->len = (size_t)((long)m->len + d);
	put16(m->b + 11, (uint16_t)(m->len - 13));
	put24(m->b + 14, (uint32_t)(m->len - 25));
	put24(m->b + 22, (uint32_t)(m->len - 25));
}
static int chm_parse(struct chm *m)
{
	return parse_copy(m->b, m->len);
}

static void test_client_hello_bad(void **state)
{
	(void)state;
	struct chm m;

	chm_load(&m);
	assert_true(m.ext < m.len); /* wolfSSL sends extensions: the tests below rely on it */
	assert_int_equal(chm_parse(&m), DTLS_PEEK_OK);

	chm_load(&m);
	m.b[0] = DTLS_CT_APPDATA;
	assert_int_equal(chm_parse(&m), DTLS_PEEK_BAD_TYPE);
	chm_load(&m);
	m.b[2] = 0x01;
	assert_int_equal(chm_parse(&m), DTLS_PEEK_BAD_VERSION);
	chm_load(&m);
	m.b[4] = 1; /* epoch 1 */
	assert_int_equal(chm_parse(&m), DTLS_PEEK_BAD_EPOCH);
	chm_load(&m);
	m.b[13] = 2; /* ServerHello */
	assert_int_equal(chm_parse(&m), DTLS_PEEK_BAD_TYPE);
	chm_load(&m);
	put24(m.b + 19, 1); /* fragment offset 1 */
	assert_int_equal(chm_parse(&m), DTLS_PEEK_FRAGMENTED);
	chm_load(&m);
	put24(m.b + 22, (uint32_t)(m.len - 25 - 10)); /* first fragment of a longer message */
	assert_int_equal(chm_parse(&m), DTLS_PEEK_FRAGMENTED);
	chm_load(&m);
	put24(m.b + 14, (uint32_t)(m.len - 25 + 1)); /* message longer than its record */
	put24(m.b + 22, (uint32_t)(m.len - 25 + 1));
	assert_int_equal(chm_parse(&m), DTLS_PEEK_SHORT);
	chm_load(&m);
	put16(m.b + 11, 11); /* record too short for a handshake header */
	assert_int_equal(chm_parse(&m), DTLS_PEEK_SHORT);
	chm_load(&m);
	m.b[m.len] = 0; /* a stray byte after the message, inside the record */
	m.len++;
	put16(m.b + 11, (uint16_t)(m.len - 13));
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);

	chm_load(&m);
	put16(m.b + m.body, 0x0303); /* client_version TLS 1.2 */
	assert_int_equal(chm_parse(&m), DTLS_PEEK_BAD_VERSION);
	chm_load(&m);
	m.b[m.sid] = 33;
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);
	chm_load(&m);
	m.b[m.cookie] = 33;
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);
	chm_load(&m);
	m.b[m.cookie] = 255;
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);
	chm_load(&m);
	put16(m.b + m.suites, (uint16_t)(be16(m.b + m.suites) - 1)); /* odd */
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);
	chm_load(&m);
	put16(m.b + m.suites, 0);
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);
	chm_load(&m);
	put16(m.b + m.suites, 0xfffe); /* beyond the message */
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);
	chm_load(&m);
	m.b[m.comp] = 0;
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);
	chm_load(&m);
	m.b[m.comp] = 200;
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);
	chm_load(&m);
	put16(m.b + m.ext, (uint16_t)(be16(m.b + m.ext) + 1));
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);
	chm_load(&m);
	put16(m.b + m.ext, (uint16_t)(be16(m.b + m.ext) - 1));
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);
	chm_load(&m);
	put16(m.b + m.ext + 4, 0xffff); /* first extension runs past the block */
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);

	/* body cut right after compression: no extensions at all is fine */
	chm_load(&m);
	chm_resize(&m, -(int)(m.len - m.ext));
	assert_int_equal(chm_parse(&m), DTLS_PEEK_OK);
	/* one byte where the extensions length would be */
	chm_load(&m);
	chm_resize(&m, -(int)(m.len - m.ext - 1));
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);
	/* an empty extension block, refused as wolfSSL's ParseClientHello refuses it */
	chm_load(&m);
	chm_resize(&m, -(int)(m.len - m.ext - 2));
	put16(m.b + m.ext, 0);
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);
	/* body too short for version + random + session id length */
	chm_load(&m);
	chm_resize(&m, -(int)(m.len - m.body - 34));
	assert_int_equal(chm_parse(&m), DTLS_PEEK_MALFORMED);
}

static void test_psk_identity_real(void **state)
{
	(void)state;
	const uint8_t *id = NULL;
	uint16_t il = 0;
	assert_int_equal(dtls_peek_psk_identity(CKE, CKE_LEN, &id, &il), DTLS_PEEK_OK);
	assert_int_equal(il, strlen(wm_identity));
	assert_memory_equal(id, wm_identity, il);
	assert_true(id > CKE && id + il <= CKE + CKE_LEN);

	assert_int_equal(dtls_peek_psk_identity(CH1, CH1_LEN, &id, &il), DTLS_PEEK_BAD_TYPE);
	assert_int_equal(dtls_peek_psk_identity(FIN, FIN_LEN, &id, &il), DTLS_PEEK_BAD_TYPE);
	assert_int_equal(dtls_peek_psk_identity(FIN + 14, FIN_LEN - 14, &id, &il),
			 DTLS_PEEK_BAD_EPOCH);
	for (size_t l = 0; l < CKE_LEN; l++) {
		uint8_t *p = malloc(l ? l : 1);
		memcpy(p, CKE, l);
		int r = dtls_peek_psk_identity(p, l, &id, &il);
		free(p);
		if (r != DTLS_PEEK_SHORT)
			fail_msg("CKE prefix %zu: %s", l, dtls_peek_strerror(r));
	}
}

/* A hand-made CKE record: identity of il bytes, message body of body_len. */
static size_t make_cke(uint8_t *b, uint16_t il, uint32_t body_len)
{
	memset(b, 'a', 13 + 12 + body_len);
	b[0] = 22;
	b[1] = 0xfe;
	b[2] = 0xfd;
	memset(b + 3, 0, 8);
	put16(b + 11, (uint16_t)(12 + body_len));
	b[13] = 16;
	put24(b + 14, body_len);
	put16(b + 17, 2);
	put24(b + 19, 0);
	put24(b + 22, body_len);
	put16(b + 25, il);
	return 13 + 12 + body_len;
}

/* A flight reordered in one datagram (Finished and ChangeCipherSpec ahead of the
 * ClientKeyExchange): the identity is found in the record that holds it, so the worker looks its
 * key up instead of failing the handshake (issue 17, the conformance suite's finding). */
static void test_psk_identity_later_record(void **state)
{
	(void)state;
	static const uint8_t ccs[14] = {20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1, 1};
	uint8_t b[512];
	const uint8_t *id;
	uint16_t il;
	memcpy(b, ccs, sizeof(ccs));
	size_t n = sizeof(ccs) + make_cke(b + sizeof(ccs), 10, 12);
	assert_int_equal(dtls_peek_psk_identity(b, n, &id, &il), DTLS_PEEK_OK);
	assert_int_equal(il, 10);
	assert_ptr_equal(id, b + sizeof(ccs) + 27);
	/* none in the datagram: the first record's verdict */
	assert_int_equal(dtls_peek_psk_identity(b, sizeof(ccs), &id, &il), DTLS_PEEK_BAD_TYPE);
	memcpy(b + sizeof(ccs), ccs, sizeof(ccs));
	assert_int_equal(dtls_peek_psk_identity(b, 2 * sizeof(ccs), &id, &il), DTLS_PEEK_BAD_TYPE);
	/* a record that does not frame ends the search */
	b[sizeof(ccs) + 12] = 200;
	assert_int_equal(dtls_peek_psk_identity(b, 2 * sizeof(ccs), &id, &il), DTLS_PEEK_BAD_TYPE);
}

static void test_psk_identity_crafted(void **state)
{
	(void)state;
	uint8_t b[512];
	const uint8_t *id;
	uint16_t il;
	size_t n = make_cke(b, 128, 130); /* the maximum */
	assert_int_equal(dtls_peek_psk_identity(b, n, &id, &il), DTLS_PEEK_OK);
	assert_int_equal(il, 128);
	assert_ptr_equal(id, b + 27);
	n = make_cke(b, 129, 131);
	assert_int_equal(dtls_peek_psk_identity(b, n, &id, &il), DTLS_PEEK_MALFORMED);
	n = make_cke(b, 20, 21); /* identity longer than the message */
	assert_int_equal(dtls_peek_psk_identity(b, n, &id, &il), DTLS_PEEK_MALFORMED);
	n = make_cke(b, 0, 1); /* not even an identity length */
	assert_int_equal(dtls_peek_psk_identity(b, n, &id, &il), DTLS_PEEK_MALFORMED);
	n = make_cke(b, 10, 12);
	put24(b + 19, 4); /* a later fragment */
	assert_int_equal(dtls_peek_psk_identity(b, n, &id, &il), DTLS_PEEK_FRAGMENTED);
	n = make_cke(b, 10, 12);
	put24(b + 22, 6); /* first half of the message */
	assert_int_equal(dtls_peek_psk_identity(b, n, &id, &il), DTLS_PEEK_FRAGMENTED);
	n = make_cke(b, 10, 12);
	b[4] = 2;
	assert_int_equal(dtls_peek_psk_identity(b, n, &id, &il), DTLS_PEEK_BAD_EPOCH);
	n = make_cke(b, 10, 12);
	b[1] = 0xfd;
	assert_int_equal(dtls_peek_psk_identity(b, n, &id, &il), DTLS_PEEK_BAD_VERSION);
	n = make_cke(b, 10, 12);
	b[0] = 23;
	assert_int_equal(dtls_peek_psk_identity(b, n, &id, &il), DTLS_PEEK_BAD_TYPE);
	n = make_cke(b, 10, 12);
	put16(b + 11, 12 + 11); /* record ends inside the message */
	assert_int_equal(dtls_peek_psk_identity(b, n, &id, &il), DTLS_PEEK_SHORT);
}

static void test_strerror(void **state)
{
	(void)state;
	for (int r = 0; r >= -6; r--)
		assert_string_not_equal(dtls_peek_strerror(r), "unknown");
	assert_string_equal(dtls_peek_strerror(-7), "unknown");
	assert_string_equal(dtls_peek_strerror(DTLS_PEEK_FRAGMENTED), "fragmented");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_parse_real),
		cmocka_unit_test(test_record_parse_bad),
		cmocka_unit_test(test_client_hello_real),
		cmocka_unit_test(test_client_hello_not_a_client_hello),
		cmocka_unit_test(test_client_hello_every_prefix_short),
		cmocka_unit_test(test_client_hello_bad),
		cmocka_unit_test(test_psk_identity_real),
		cmocka_unit_test(test_psk_identity_crafted),
		cmocka_unit_test(test_psk_identity_later_record),
		cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, capture, wm_done);
}
