#include <stdio.h>
#include <emmintrin.h>
#include <stddef.h>
#include <string.h>

#include <sys/mman.h>
#include <unistd.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "emse/session.h"

/* Sessions per source address: the cookie proves the address, so one real host (or NAT) is
 * what this bounds. The count lives in the hash's data pointer. */
struct src_key {
	uint8_t family;
	uint8_t pad[3];
	uint8_t addr[16];
};

static void src_key_of(const struct emse_session_key *k, struct src_key *sk)
{
	memset(sk, 0, sizeof(*sk));
	sk->family = k->family;
	memcpy(sk->addr, k->addr, 16);
}

_Static_assert(sizeof(struct emse_session_key) == 20, "key_cmp compares 20 bytes");
/* The idle-session budget (docs/record.md, docs/cid.md): CID state lives in what was padding. */
_Static_assert(sizeof(struct emse_record_state) == 80, "record state: 80 B");
_Static_assert(sizeof(struct emse_session) == 168, "session: 168 B");

/* rte_hash compares 16/32/48... byte keys inline and calls memcmp for the 20-byte session key
 * (one libc call per datagram); this one is inline. 0 means equal, as for memcmp. */
static int key_cmp(const void *a, const void *b, size_t len)
{
	const uint8_t *x = a, *y = b;
	uint64_t p[2], q[2];
	uint32_t r, t;
	(void)len; /* always sizeof(struct emse_session_key) */
	memcpy(p, x, 16);
	memcpy(q, y, 16);
	memcpy(&r, x + 16, 4);
	memcpy(&t, y + 16, 4);
	return ((p[0] ^ q[0]) | (p[1] ^ q[1]) | (r ^ t)) != 0;
}

int emse_sessions_init(struct emse_sessions *t, const char *name, uint32_t max,
		       uint32_t max_per_source, int socket)
{
	char sname[64];
	memset(t, 0, sizeof(*t));
	t->max = max;
	t->max_per_source = max_per_source;
	t->s = rte_zmalloc_socket(name, sizeof(*t->s) * max, 64, socket);
	t->free_stack = rte_malloc_socket(name, sizeof(uint32_t) * max, 64, socket);
	/* EXT_TABLE: a full bucket spills over instead of failing, so max sessions always fit. */
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = max < 8 ? 8 : max,
		.key_len = sizeof(struct emse_session_key),
		/* CRC32-C instructions: ~3 ns for the 20-byte key, against ~11 ns for rte_jhash
		 * (perf, records benchmark); neither is keyed, neither was meant to resist chosen
		 * collisions (the cookie and max_sessions_per_source bound who can insert) */
		.hash_func = rte_hash_crc,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	t->h = rte_hash_create(&hp);
	if (t->h)
		rte_hash_set_cmp_func(t->h, key_cmp);
	snprintf(sname, sizeof(sname), "%s_src", name);
	hp.name = sname;
	hp.key_len = sizeof(struct src_key);
	t->per_src = rte_hash_create(&hp);
	if (!t->s || !t->free_stack || !t->h || !t->per_src) {
		emse_sessions_free(t);
		return -1;
	}
	for (uint32_t i = 0; i < max; i++)
		t->free_stack[i] = max - 1 - i;
	t->n_free = max;
	t->hs = (struct emse_list){ EMSE_NIL, EMSE_NIL, 0 };
	t->est = (struct emse_list){ EMSE_NIL, EMSE_NIL, 0 };
	return 0;
}

void emse_sessions_free(struct emse_sessions *t)
{
	if (t->s)
		for (uint32_t i = 0; i < t->max; i++)
			e2m_wipe(&t->s[i].u, sizeof(t->s[i].u));
	rte_hash_free(t->h);
	rte_hash_free(t->per_src);
	rte_free(t->s);
	rte_free(t->free_stack);
	memset(t, 0, sizeof(*t));
}

/* Built in registers and written as 16 + 4 bytes, one store each: the hash and the key compare
 * then load it in pieces that forward from those stores, as the loads here forward from the
 * flow's (net.c writes an address as its family word and its 16 bytes). Field by field after a
 * memset, every lookup waited for the stores to retire. */
void emse_session_key_of(const struct emse_flow *f, uint8_t listener, struct emse_session_key *k)
{
	_Static_assert(sizeof(*k) == 20 && offsetof(struct emse_session_key, addr) == 4,
		       "key layout: family, listener, port, 16 address bytes");
	uint64_t a0, a1;
	uint32_t a2;
	memcpy(&a0, f->peer.a, 8);
	memcpy(&a1, f->peer.a + 8, 8);
	memcpy(&a2, f->peer.a + 12, 4);
	uint64_t head = f->peer.family | (uint64_t)listener << 8 | (uint64_t)f->peer_port << 16;
	/* little-endian: bytes 0-3 the head, 4-15 address bytes 0-11, 16-19 bytes 12-15 */
	_mm_storeu_si128((__m128i *)(void *)k,
			 _mm_set_epi64x((long long)(a0 >> 32 | a1 << 32), (long long)(head | a0 << 32)));
	memcpy(k->addr + 12, &a2, 4);
}

struct emse_session *emse_session_find(struct emse_sessions *t, const struct emse_session_key *k)
{
	void *data;
	if (rte_hash_lookup_data(t->h, k, &data) < 0)
		return NULL;
	return &t->s[(uintptr_t)data];
}

static uintptr_t src_count(struct emse_sessions *t, const struct src_key *sk)
{
	void *d;
	return rte_hash_lookup_data(t->per_src, sk, &d) < 0 ? 0 : (uintptr_t)d;
}

struct emse_session *emse_session_new(struct emse_sessions *t, const struct emse_session_key *k,
				      uint64_t deadline, bool *per_source_full)
{
	struct src_key sk;
	*per_source_full = false;
	if (!t->n_free)
		return NULL;
	uintptr_t n = 0;
	if (t->max_per_source) { /* 0: no limit, and no table to keep (it costs ~40 B per address) */
		src_key_of(k, &sk);
		n = src_count(t, &sk);
		if (n >= t->max_per_source) {
			*per_source_full = true;
			return NULL;
		}
	}
	uint32_t i = t->free_stack[t->n_free - 1];
	if (rte_hash_add_key_data(t->h, k, (void *)(uintptr_t)i) < 0)
		return NULL;
	if (t->max_per_source && rte_hash_add_key_data(t->per_src, &sk, (void *)(n + 1)) < 0) {
		rte_hash_del_key(t->h, k);
		return NULL;
	}
	t->n_free--;
	struct emse_session *s = &t->s[i];
	uint32_t gen = s->gen + 1;
	memset(s, 0, sizeof(*s));
	s->gen = gen;
	s->state = EMSE_S_HANDSHAKE;
	s->deadline = deadline;
	emse_list_push(t, &t->hs, s);
	return s;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* A restore of a million sessions touches the first n slots in one go: populated by one call
 * instead of a page fault per 4 KiB, which on this project's paravirtualized VM cost more than
 * the restore itself (with hugepages there are none). Best effort: a kernel without
 * MADV_POPULATE_WRITE takes the faults as before. */
void emse_sessions_populate(struct emse_sessions *t, uint32_t n)
{
	if (n > t->max)
		n = t->max;
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)t->s, e = (uintptr_t)(t->s + n);
	if (!n || pg <= 0)
		return;
	a &= ~(uintptr_t)(pg - 1); /* whole pages: the ones around the array are ours or the heap's */
	madvise((void *)a, e - a, MADV_POPULATE_WRITE);
}

void emse_sessions_free_pos(const struct emse_sessions *t, uint32_t *pos)
{
	for (uint32_t j = 0; j < t->n_free; j++)
		pos[t->free_stack[j]] = j;
}

struct emse_session *emse_session_new_at(struct emse_sessions *t, const struct emse_session_key *k,
					 uint64_t deadline, uint32_t i, uint32_t *pos,
					 bool *per_source_full)
{
	*per_source_full = false;
	if (i >= t->max)
		return NULL;
	uint32_t j = pos ? pos[i] : t->max - 1 - i;
	if (j >= t->n_free || t->free_stack[j] != i)
		for (j = 0; j < t->n_free && t->free_stack[j] != i; j++)
			;
	if (j == t->n_free)
		return NULL; /* taken */
	/* to the top, where emse_session_new takes it; the one there takes its place */
	uint32_t top = t->free_stack[t->n_free - 1];
	t->free_stack[j] = top;
	t->free_stack[t->n_free - 1] = i;
	if (pos) {
		pos[top] = j;
		pos[i] = t->n_free - 1;
	}
	return emse_session_new(t, k, deadline, per_source_full);
}

/* The flag is in the record state, which only a compact established session has. */
static bool detached(const struct emse_session *s)
{
	return s->state == EMSE_S_ESTABLISHED && (s->u.rec.flags & EMSE_REC_F_UNINDEXED);
}

/* The 5-tuple index entry of k, and its source's count, go. */
static void unindex(struct emse_sessions *t, const struct emse_session_key *k)
{
	struct src_key sk;
	rte_hash_del_key(t->h, k);
	if (t->max_per_source) {
		src_key_of(k, &sk);
		uintptr_t n = src_count(t, &sk);
		if (n > 1)
			rte_hash_add_key_data(t->per_src, &sk, (void *)(n - 1));
		else
			rte_hash_del_key(t->per_src, &sk);
	}
}

int emse_session_move(struct emse_sessions *t, struct emse_session *s, const struct emse_flow *f)
{
	struct emse_session_key old, k;
	struct src_key sk;
	emse_session_key_of(&s->flow, s->listener, &old);
	emse_session_key_of(f, s->listener, &k);
	uint32_t i = emse_session_idx(t, s);
	bool indexed = !detached(s);
	if (rte_hash_add_key_data(t->h, &k, (void *)(uintptr_t)i) < 0)
		return -1;
	if (t->max_per_source) {
		/* the limit is not applied: an authentic record proved the session is this
		 * source's now, and the count goes down where it left */
		src_key_of(&k, &sk);
		if (rte_hash_add_key_data(t->per_src, &sk, (void *)(src_count(t, &sk) + 1)) < 0) {
			rte_hash_del_key(t->h, &k);
			return -1;
		}
	}
	if (indexed)
		unindex(t, &old);
	s->u.rec.flags &= (uint8_t)~EMSE_REC_F_UNINDEXED;
	s->flow = *f;
	return 0;
}

void emse_session_detach(struct emse_sessions *t, struct emse_session *s)
{
	struct emse_session_key k;
	if (s->state != EMSE_S_ESTABLISHED || detached(s))
		return;
	emse_session_key_of(&s->flow, s->listener, &k);
	unindex(t, &k);
	s->u.rec.flags |= EMSE_REC_F_UNINDEXED;
}

void emse_session_release(struct emse_sessions *t, struct emse_session *s)
{
	struct emse_session_key k;
	emse_session_key_of(&s->flow, s->listener, &k);
	if (!detached(s))
		unindex(t, &k);
	if (emse_session_established(s))
		emse_list_remove(t, &t->est, s);
	else if (s->state != EMSE_S_FREE)
		emse_list_remove(t, &t->hs, s);
	e2m_wipe(&s->u, sizeof(s->u)); /* the PSK or the record keys */
	s->state = EMSE_S_FREE;
	s->gen++;
	t->free_stack[t->n_free++] = emse_session_idx(t, s);
}

void emse_list_push(struct emse_sessions *t, struct emse_list *l, struct emse_session *s)
{
	uint32_t i = emse_session_idx(t, s);
	s->next = EMSE_NIL;
	s->prev = l->tail;
	if (l->tail != EMSE_NIL)
		t->s[l->tail].next = i;
	else
		l->head = i;
	l->tail = i;
	l->n++;
}

void emse_list_remove(struct emse_sessions *t, struct emse_list *l, struct emse_session *s)
{
	if (s->prev != EMSE_NIL)
		t->s[s->prev].next = s->next;
	else
		l->head = s->next;
	if (s->next != EMSE_NIL)
		t->s[s->next].prev = s->prev;
	else
		l->tail = s->prev;
	s->prev = s->next = EMSE_NIL;
	l->n--;
}
