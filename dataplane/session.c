#include <string.h>

#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

#include "emse/session.h"

int emse_sessions_init(struct emse_sessions *t, const char *name, uint32_t max, int socket)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
	t->s = rte_zmalloc_socket(name, sizeof(*t->s) * max, 64, socket);
	t->free_stack = rte_malloc_socket(name, sizeof(uint32_t) * max, 64, socket);
	/* EXT_TABLE: a full bucket spills over instead of failing, so max sessions always fit. */
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = max < 8 ? 8 : max,
		.key_len = sizeof(struct emse_session_key),
		.hash_func = rte_jhash,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	t->h = rte_hash_create(&hp);
	if (!t->s || !t->free_stack || !t->h) {
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
			e2m_wipe(t->s[i].key, sizeof(t->s[i].key));
	rte_hash_free(t->h);
	rte_free(t->s);
	rte_free(t->free_stack);
	memset(t, 0, sizeof(*t));
}

void emse_session_key_of(const struct emse_flow *f, uint8_t listener, struct emse_session_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = f->peer.family;
	k->listener = listener;
	k->port = f->peer_port;
	memcpy(k->addr, f->peer.a, 16);
}

struct emse_session *emse_session_find(struct emse_sessions *t, const struct emse_session_key *k)
{
	void *data;
	if (rte_hash_lookup_data(t->h, k, &data) < 0)
		return NULL;
	return &t->s[(uintptr_t)data];
}

struct emse_session *emse_session_new(struct emse_sessions *t, const struct emse_session_key *k,
				      uint64_t deadline)
{
	if (!t->n_free)
		return NULL;
	uint32_t i = t->free_stack[t->n_free - 1];
	if (rte_hash_add_key_data(t->h, k, (void *)(uintptr_t)i) < 0)
		return NULL;
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

void emse_session_release(struct emse_sessions *t, struct emse_session *s)
{
	struct emse_session_key k;
	emse_session_key_of(&s->flow, s->listener, &k);
	rte_hash_del_key(t->h, &k);
	if (s->state == EMSE_S_ESTABLISHED)
		emse_list_remove(t, &t->est, s);
	else if (s->state != EMSE_S_FREE)
		emse_list_remove(t, &t->hs, s);
	e2m_wipe(s->key, sizeof(s->key));
	s->have_key = 0;
	s->state = EMSE_S_FREE;
	s->ssl = NULL;
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
