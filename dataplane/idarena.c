#include <string.h>

#include <rte_malloc.h>

#include "emse/idarena.h"

int emse_idarena_init(struct emse_idarena *a, uint32_t chunks, int socket)
{
	memset(a, 0, sizeof(*a));
	a->chunk = rte_malloc_socket("emse_ids", (size_t)chunks * EMSE_IDCHUNK, 64, socket);
	a->free = rte_malloc_socket("emse_ids", (size_t)chunks * sizeof(uint32_t), 64, socket);
	if (!a->chunk || !a->free) {
		emse_idarena_fini(a);
		return -1;
	}
	for (uint32_t i = 0; i < chunks; i++)
		a->free[i] = chunks - 1 - i;
	a->n_free = a->cap = chunks;
	return 0;
}

void emse_idarena_fini(struct emse_idarena *a)
{
	rte_free(a->chunk);
	rte_free(a->free);
	memset(a, 0, sizeof(*a));
}

static uint32_t next_of(const uint8_t *c)
{
	uint32_t n;
	memcpy(&n, c, 4);
	return n;
}

uint32_t emse_idarena_put(struct emse_idarena *a, const struct e2m_identity *id)
{
	uint8_t flat[5 + E2M_APP_ID_MAX];
	size_t len = 5 + id->app_id_len;
	memcpy(flat, &id->key_id, 4);
	flat[4] = id->app_id_len;
	memcpy(flat + 5, id->app_id, id->app_id_len);
	uint32_t need = (uint32_t)((len + EMSE_IDCHUNK_DATA - 1) / EMSE_IDCHUNK_DATA);
	if (need > a->n_free)
		return 0;
	/* Chunks are linked from the last to the first, so the reference is the first. */
	uint32_t next = 0;
	for (uint32_t k = need; k-- > 0;) {
		uint32_t i = a->free[--a->n_free];
		uint8_t *c = a->chunk[i];
		memcpy(c, &next, 4);
		size_t off = (size_t)k * EMSE_IDCHUNK_DATA;
		size_t n = len - off < EMSE_IDCHUNK_DATA ? len - off : EMSE_IDCHUNK_DATA;
		memcpy(c + 4, flat + off, n);
		next = i + 1;
	}
	return next;
}

int emse_idarena_get(const struct emse_idarena *a, uint32_t ref, struct e2m_identity *id)
{
	uint8_t flat[5 + E2M_APP_ID_MAX];
	size_t got = 0;
	unsigned hops = 0;
	for (uint32_t r = ref; r; r = next_of(a->chunk[r - 1])) {
		if (r > a->cap || ++hops > 5)
			return -1;
		size_t n = sizeof(flat) - got < EMSE_IDCHUNK_DATA ? sizeof(flat) - got
								   : EMSE_IDCHUNK_DATA;
		memcpy(flat + got, a->chunk[r - 1] + 4, n);
		got += n;
	}
	if (got < 5 || flat[4] < 1 || flat[4] > E2M_APP_ID_MAX || got < 5u + flat[4])
		return -1;
	memset(id, 0, sizeof(*id));
	memcpy(&id->key_id, flat, 4);
	id->app_id_len = flat[4];
	memcpy(id->app_id, flat + 5, id->app_id_len);
	return 0;
}

void emse_idarena_drop(struct emse_idarena *a, uint32_t ref)
{
	unsigned hops = 0;
	while (ref && ref <= a->cap && hops++ < 5) {
		uint8_t *c = a->chunk[ref - 1];
		uint32_t next = next_of(c);
		memset(c, 0, EMSE_IDCHUNK);
		a->free[a->n_free++] = ref - 1;
		ref = next;
	}
}
