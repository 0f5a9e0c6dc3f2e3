#include <string.h>

#include <openssl/crypto.h>
#include <rte_malloc.h>

#include "emse/resume.h"

int emse_resume_init(struct emse_resume *c, uint32_t max, uint32_t lifetime_s, int socket)
{
	memset(c, 0, sizeof(*c));
	c->lifetime_s = lifetime_s;
	if (!max)
		return 0;
	c->e = rte_zmalloc_socket("emse_resume", emse_resume_bytes(max), 64, socket);
	if (!c->e)
		return -1;
	c->max = max;
	return 0;
}

size_t emse_resume_bytes(uint32_t max)
{
	return (size_t)max * sizeof(struct emse_resume_entry);
}

static void drop(struct emse_resume_entry *e, struct emse_idarena *ids)
{
	if (ids && e->id_ref)
		emse_idarena_drop(ids, e->id_ref);
	e2m_wipe(e, sizeof(*e));
}

void emse_resume_fini(struct emse_resume *c, struct emse_idarena *ids)
{
	for (uint32_t i = 0; c->e && i < c->max; i++)
		drop(&c->e[i], ids);
	rte_free(c->e);
	memset(c, 0, sizeof(*c));
}

/* The id is random: its first octets are as good a hash as any. */
static struct emse_resume_entry *slot_of(struct emse_resume *c, const uint8_t *sid)
{
	uint32_t h;
	memcpy(&h, sid, 4);
	return &c->e[h % c->max];
}

void emse_resume_put(struct emse_resume *c, struct emse_idarena *ids, const uint8_t *sid,
		     const uint8_t *ms, const uint8_t suite[2], uint8_t cipher, uint8_t ems,
		     const struct e2m_identity *id, uint64_t now)
{
	if (!c->max)
		return;
	struct emse_resume_entry *e = slot_of(c, sid);
	if (e->expires > now)
		c->st.evictions++;
	drop(e, ids);
	e->id_ref = id ? emse_idarena_put(ids, id) : 0;
	if (id && !e->id_ref)
		return; /* no room for the identity: not resumable */
	memcpy(e->sid, sid, EMSE_SID_LEN);
	memcpy(e->ms, ms, EMSE_MS_LEN);
	memcpy(e->suite, suite, 2);
	e->cipher = cipher;
	e->ems = ems;
	e->expires = now + c->lifetime_s;
	c->st.stored++;
}

const struct emse_resume_entry *emse_resume_find(struct emse_resume *c, struct emse_idarena *ids,
						 const uint8_t *sid, size_t len, uint64_t now)
{
	if (!c->max || len != EMSE_SID_LEN)
		return NULL;
	struct emse_resume_entry *e = slot_of(c, sid);
	if (!e->expires || CRYPTO_memcmp(e->sid, sid, EMSE_SID_LEN) != 0)
		return NULL;
	if (e->expires <= now) {
		drop(e, ids);
		return NULL;
	}
	return e;
}

void emse_resume_sweep(struct emse_resume *c, struct emse_idarena *ids, uint64_t now, uint32_t n)
{
	for (uint32_t k = 0; c->max && k < n; k++) {
		struct emse_resume_entry *e = &c->e[c->sweep];
		if (e->expires && e->expires <= now)
			drop(e, ids);
		if (++c->sweep == c->max)
			c->sweep = 0;
	}
}
