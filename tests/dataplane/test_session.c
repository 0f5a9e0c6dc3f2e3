/* dataplane/session.c: the session table finds each session by its whole key (family, listener,
 * port, address) with its own hash (CRC32-C) and key compare; keys that differ in any one byte
 * are different sessions; a released session is gone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "eal.h"
#include "emse/session.h"

static struct emse_flow base_flow(void)
{
	struct emse_flow f = {0};
	f.peer.family = 6;
	for (int i = 0; i < 16; i++)
		f.peer.a[i] = (uint8_t)(0x20 + i);
	f.peer_port = 40000;
	return f;
}

/* Variant v of the base key: 0 is the base; 1-16 flip one address byte; 17/18 the port's bytes;
 * 19 the listener; 20 the family (4, same leading bytes). */
static void variant(int v, struct emse_flow *f, uint8_t *listener)
{
	*f = base_flow();
	*listener = 1;
	if (v >= 1 && v <= 16)
		f->peer.a[v - 1] ^= 0x01;
	else if (v == 17)
		f->peer_port ^= 0x0100;
	else if (v == 18)
		f->peer_port ^= 0x0001;
	else if (v == 19)
		*listener = 2;
	else if (v == 20)
		f->peer.family = 4;
}

static void test_every_byte_of_the_key_counts(void **state)
{
	(void)state;
	struct emse_sessions t;
	assert_int_equal(emse_sessions_init(&t, "test_sess", 64, 0, 0), 0);
	struct emse_session *s[21];
	struct emse_session_key k;
	bool full;
	for (int v = 0; v <= 20; v++) {
		struct emse_flow f;
		uint8_t li;
		variant(v, &f, &li);
		emse_session_key_of(&f, li, &k);
		assert_null(emse_session_find(&t, &k));
		s[v] = emse_session_new(&t, &k, 0, &full);
		assert_non_null(s[v]);
		s[v]->flow = f;
		s[v]->listener = li;
	}
	for (int v = 0; v <= 20; v++) {
		struct emse_flow f;
		uint8_t li;
		variant(v, &f, &li);
		emse_session_key_of(&f, li, &k);
		assert_ptr_equal(emse_session_find(&t, &k), s[v]);
	}
	/* released: gone, the others stay */
	emse_session_release(&t, s[7]);
	struct emse_flow f;
	uint8_t li;
	variant(7, &f, &li);
	emse_session_key_of(&f, li, &k);
	assert_null(emse_session_find(&t, &k));
	variant(8, &f, &li);
	emse_session_key_of(&f, li, &k);
	assert_ptr_equal(emse_session_find(&t, &k), s[8]);
	emse_sessions_free(&t);
}

/* The key is the flow's fields, whatever way session.c assembles it. */
static void test_key_holds_the_fields(void **state)
{
	(void)state;
	for (int fam = 4; fam <= 6; fam += 2) {
		struct emse_flow f = base_flow();
		f.peer.family = (uint8_t)fam;
		if (fam == 4)
			memset(f.peer.a + 4, 0, 12);
		struct emse_session_key k;
		memset(&k, 0xee, sizeof(k));
		emse_session_key_of(&f, 3, &k);
		assert_int_equal(k.family, fam);
		assert_int_equal(k.listener, 3);
		assert_int_equal(k.port, 40000);
		assert_memory_equal(k.addr, f.peer.a, 16);
	}
}

/* RFC 9146 address update: the 5-tuple index and the per-source count follow the session. */
static void test_move_follows(void **state)
{
	(void)state;
	struct emse_sessions t;
	assert_int_equal(emse_sessions_init(&t, "test_move", 8, 1, 0), 0);
	struct emse_flow a = base_flow(), b = base_flow(), c = base_flow();
	b.peer_port = 50000;          /* the NAT's new port */
	c.peer.a[15] ^= 0x40;         /* another address */
	struct emse_session_key ka, kb, kc;
	emse_session_key_of(&a, 1, &ka);
	emse_session_key_of(&b, 1, &kb);
	emse_session_key_of(&c, 1, &kc);
	bool full;
	struct emse_session *s = emse_session_new(&t, &ka, 0, &full);
	assert_non_null(s);
	s->flow = a;
	s->listener = 1;
	uint32_t gen = s->gen;
	/* to another address: the index and a's source count follow */
	assert_int_equal(emse_session_move(&t, s, &c), 0);
	assert_null(emse_session_find(&t, &ka));
	assert_ptr_equal(emse_session_find(&t, &kc), s);
	assert_memory_equal(s->flow.peer.a, c.peer.a, 16);
	assert_int_equal(s->gen, gen);
	/* one session per source: a's count went with s, so a new one from a fits */
	struct emse_session *o = emse_session_new(&t, &ka, 0, &full);
	assert_non_null(o);
	o->flow = a;
	o->listener = 1;
	/* back to a's address on the NAT's new port: a move is not held to the limit */
	assert_int_equal(emse_session_move(&t, s, &b), 0);
	assert_ptr_equal(emse_session_find(&t, &kb), s);
	assert_null(emse_session_find(&t, &kc));
	assert_int_equal(s->flow.peer_port, 50000);
	/* release unindexes where it is now; o stays */
	emse_session_release(&t, s);
	assert_null(emse_session_find(&t, &kb));
	assert_ptr_equal(emse_session_find(&t, &ka), o);
	/* a's address counts o alone again: one more from it is refused, from c's it fits */
	assert_null(emse_session_new(&t, &kb, 0, &full));
	assert_true(full);
	assert_non_null(emse_session_new(&t, &kc, 0, &full));
	emse_sessions_free(&t);
}

/* A NAT gives X's old port to Y (RFC 9146 6): Y's move takes the address, X (a CID session)
 * leaves the index but lives on; X's release later does not take Y's entry, and X's own next move
 * indexes it again. */
static void test_detach_keeps_holder(void **state)
{
	(void)state;
	struct emse_sessions t;
	assert_int_equal(emse_sessions_init(&t, "test_detach", 8, 2, 0), 0);
	struct emse_flow a = base_flow(), b = base_flow(), c = base_flow();
	b.peer_port = 50000;
	c.peer_port = 50001;
	struct emse_session_key ka, kb, kc;
	emse_session_key_of(&a, 1, &ka);
	emse_session_key_of(&b, 1, &kb);
	emse_session_key_of(&c, 1, &kc);
	bool full;
	struct emse_session *x = emse_session_new(&t, &ka, 0, &full);
	assert_non_null(x);
	x->flow = a;
	x->listener = 1;
	struct emse_session *y = emse_session_new(&t, &kb, 0, &full);
	assert_non_null(y);
	y->flow = b;
	y->listener = 1;
	for (struct emse_session *s = x; s; s = s == x ? y : NULL) {
		emse_list_remove(&t, &t.hs, s);
		s->state = EMSE_S_ESTABLISHED;
		s->u.rec.flags = EMSE_REC_F_CID;
		emse_list_push(&t, &t.est, s);
	}
	emse_session_detach(&t, x);
	assert_null(emse_session_find(&t, &ka));
	assert_int_equal(emse_session_move(&t, y, &a), 0);
	assert_ptr_equal(emse_session_find(&t, &ka), y);
	assert_null(emse_session_find(&t, &kb));
	/* the source (one address, two ports) counts y alone: one more session from it fits, and
	 * then the limit of 2 holds */
	struct emse_session *z = emse_session_new(&t, &kc, 0, &full);
	assert_non_null(z);
	z->flow = c;
	z->listener = 1;
	assert_null(emse_session_new(&t, &kb, 0, &full));
	assert_true(full);
	emse_session_release(&t, z);
	/* x ends while still at y's address: y's entry stays */
	emse_session_release(&t, x);
	assert_ptr_equal(emse_session_find(&t, &ka), y);
	/* a detached session's own next record moves it: indexed at its new port again */
	struct emse_session *w = emse_session_new(&t, &kc, 0, &full);
	assert_non_null(w);
	w->flow = c;
	w->listener = 1;
	emse_list_remove(&t, &t.hs, w);
	w->state = EMSE_S_ESTABLISHED;
	w->u.rec.flags = EMSE_REC_F_CID;
	emse_list_push(&t, &t.est, w);
	emse_session_detach(&t, w);
	assert_null(emse_session_find(&t, &kc));
	assert_int_equal(emse_session_move(&t, w, &b), 0);
	assert_false(w->u.rec.flags & EMSE_REC_F_UNINDEXED);
	assert_ptr_equal(emse_session_find(&t, &kb), w);
	assert_ptr_equal(emse_session_find(&t, &ka), y);
	emse_sessions_free(&t);
}

/* A restored CID session gets the slot its CID names, with or without the free-slot index, and
 * not a taken one; plain sessions then still get every other slot. */
static void test_new_at_takes_that_slot(void **state)
{
	(void)state;
	enum { MAX = 16 };
	for (int with_pos = 0; with_pos < 2; with_pos++) {
		struct emse_sessions t;
		assert_int_equal(emse_sessions_init(&t, with_pos ? "test_at_p" : "test_at", MAX, 0, 0),
				 0);
		uint32_t pos[MAX], *p = with_pos ? pos : NULL;
		emse_sessions_free_pos(&t, pos);
		static const uint32_t want[] = { 5, 0, 15, 6, 1 };
		struct emse_session_key k;
		bool full;
		int port = 1000;
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			struct emse_flow f = base_flow();
			f.peer_port = (uint16_t)port++;
			emse_session_key_of(&f, 1, &k);
			struct emse_session *s = emse_session_new_at(&t, &k, 0, want[i], p, &full);
			assert_non_null(s);
			assert_int_equal(emse_session_idx(&t, s), want[i]);
			assert_ptr_equal(emse_session_find(&t, &k), s);
		}
		struct emse_flow f = base_flow();
		f.peer_port = (uint16_t)port++;
		emse_session_key_of(&f, 1, &k);
		assert_null(emse_session_new_at(&t, &k, 0, 6, p, &full));   /* taken */
		assert_null(emse_session_new_at(&t, &k, 0, MAX, p, &full)); /* no such slot */
		assert_null(emse_session_find(&t, &k));
		/* the other 11 slots, each once */
		uint8_t seen[MAX] = {0};
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			seen[want[i]] = 1;
		for (int i = 0; i < MAX - 5; i++) {
			f.peer_port = (uint16_t)port++;
			emse_session_key_of(&f, 1, &k);
			struct emse_session *s = emse_session_new(&t, &k, 0, &full);
			assert_non_null(s);
			assert_int_equal(seen[emse_session_idx(&t, s)], 0);
			seen[emse_session_idx(&t, s)] = 1;
		}
		f.peer_port = (uint16_t)port++;
		emse_session_key_of(&f, 1, &k);
		assert_null(emse_session_new(&t, &k, 0, &full));
		emse_sessions_free(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte_of_the_key_counts),
		cmocka_unit_test(test_key_holds_the_fields),
		cmocka_unit_test(test_move_follows),
		cmocka_unit_test(test_detach_keeps_holder),
		cmocka_unit_test(test_new_at_takes_that_slot),
	};
	return cmocka_run_group_tests(tests, eal_up, eal_down);
}
