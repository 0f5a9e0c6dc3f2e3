/* UE population sources (pop.h). The synthetic population is reproducible from its seed, so a
 * peer started with the same --synthetic N --seed S accepts exactly the UEs the generator plays. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "pop.h"

static struct pop_ue *pop_add(struct pop *p)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1024;
		struct pop_ue *ue = realloc(p->ue, cap * sizeof(*ue));
		if (!ue)
			return NULL;
		p->ue = ue;
		p->cap = cap;
	}
	struct pop_ue *u = &p->ue[p->n++];
	memset(u, 0, sizeof(*u));
	return u;
}

static int set_ue(struct pop *p, const char *identity, size_t id_len, const char *hex)
{
	if (id_len == 0 || id_len > E2M_PSK_IDENTITY_MAX || !hex || strlen(hex) != 2 * E2M_KEY_LEN)
		return -1;
	struct pop_ue *u = pop_add(p);
	if (!u)
		return -1;
	if (e2m_hex_decode(hex, u->key, E2M_KEY_LEN) != 0) {
		p->n--;
		return -1;
	}
	memcpy(u->identity, identity, id_len);
	u->identity[id_len] = 0;
	u->id_len = (uint8_t)id_len;
	return 0;
}

int pop_load_keyfile(struct pop *p, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[512];
	unsigned lineno = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		char *id = strtok(s, " \t\r\n");
		char *hex = strtok(NULL, " \t\r\n");
		if (!id || !hex || set_ue(p, id, strlen(id), hex) != 0) {
			fprintf(stderr, "%s:%u: expected '<psk_identity> <64 hex>'\n", path, lineno);
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* emks-hss's layout per EMSE_Id may be an object keyed by EMSE_Id or an array of objects with an
 * emse id field: accept any object holding psk_identity and e2m_key, and name it by its own
 * emse id field or else by the key it sits under. */
struct hss_pick {
	const char *want;
	const char *identity, *key;
	bool found; /* identity/key are the wanted EMSE_Id's, not just the first seen */
};

static void hss_walk(json_t *j, const char *under, struct hss_pick *pk)
{
	if (json_is_object(j)) {
		const char *id = json_string_value(json_object_get(j, "psk_identity"));
		const char *key = json_string_value(json_object_get(j, "e2m_key"));
		if (id && key) {
			const char *name = json_string_value(json_object_get(j, "emse_id"));
			if (!name)
				name = json_string_value(json_object_get(j, "emseId"));
			if (!name)
				name = under;
			bool match = pk->want && name && strcmp(name, pk->want) == 0;
			if (!pk->found && (match || !pk->identity)) {
				pk->identity = id;
				pk->key = key;
				pk->found = match;
			}
			return;
		}
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v)
			hss_walk(v, k, pk);
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v)
			hss_walk(v, under, pk);
	}
}

int pop_load_hss(struct pop *p, const char *path, const char *emse_id)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0, missing = 0;
	int rc = 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		json_error_t err;
		json_t *j = json_loads(line, 0, &err);
		if (!j) {
			fprintf(stderr, "%s:%u: %s\n", path, lineno, err.text);
			rc = -1;
			break;
		}
		struct hss_pick pk = { .want = emse_id };
		hss_walk(j, NULL, &pk);
		if (emse_id && !pk.found)
			pk.identity = NULL;
		if (!pk.identity) {
			missing++;
		} else if (set_ue(p, pk.identity, strlen(pk.identity), pk.key) != 0) {
			fprintf(stderr, "%s:%u: bad psk_identity or e2m_key\n", path, lineno);
			rc = -1;
		}
		json_decref(j);
		if (rc)
			break;
	}
	free(line);
	fclose(f);
	if (missing)
		fprintf(stderr, "%s: %u UEs without a key%s%s\n", path, missing,
			emse_id ? " for EMSE_Id " : "", emse_id ? emse_id : "");
	return rc;
}

int pop_load_auto(struct pop *p, const char *path, const char *emse_id)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	int c;
	while ((c = fgetc(f)) != EOF && isspace(c))
		;
	fclose(f);
	return c == '{' ? pop_load_hss(p, path, emse_id) : pop_load_keyfile(p, path);
}

static void seeded(uint64_t seed, const char *what, size_t i, uint8_t out[32])
{
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "emse-bench|%llu|%s|%zu", (unsigned long long)seed, what, i);
	SHA256((const uint8_t *)buf, (size_t)n, out);
}

int pop_synthetic(struct pop *p, size_t n, uint64_t seed, const char *emse_id)
{
	/* OP of TS 35.208 test set 1: an operator constant, as on a real network. */
	static const uint8_t op[16] = { 0xcd, 0xc2, 0x02, 0xd5, 0x12, 0x3e, 0x20, 0xf6,
					0x2b, 0x6d, 0x67, 0x6a, 0xc7, 0x2c, 0xb3, 0x18 };
	struct e2m_params prm;
	e2m_params_default(&prm);
	if (!emse_id || !*emse_id || strlen(emse_id) > E2M_EMSE_ID_MAX) {
		fprintf(stderr, "synthetic population: need an EMSE_Id of 1..64 octets\n");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t k[32], rnd[32], opc[16], ck[16], ik[16], ik_int[E2M_KEY_LEN];
		seeded(seed, "K", i, k);
		seeded(seed, "RAND", i, rnd);
		struct pop_ue *u = pop_add(p);
		char app[64];
		int alen = snprintf(app, sizeof(app), "ue%07zu@bench.example", i);
		int rc = !u || milenage_opc(k, op, opc) || milenage_f2345(k, opc, rnd, NULL, ck, ik, NULL, NULL) ||
			 e2m_int_key(&prm, ck, ik, ik_int) ||
			 e2m_key(&prm, ik_int, emse_id, strlen(emse_id), u->key);
		int idl = rc ? -1 : e2m_identity_encode(e2m_key_id(rnd), app, (size_t)alen, u->identity,
							sizeof(u->identity));
		e2m_wipe(k, sizeof(k));
		e2m_wipe(opc, sizeof(opc));
		e2m_wipe(ck, sizeof(ck));
		e2m_wipe(ik, sizeof(ik));
		e2m_wipe(ik_int, sizeof(ik_int));
		if (idl < 0) {
			fprintf(stderr, "synthetic population: derivation failed for UE %zu\n", i);
			return -1;
		}
		u->id_len = (uint8_t)idl;
	}
	return 0;
}

int pop_write_keyfile(const struct pop *p, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	char hex[2 * E2M_KEY_LEN + 1];
	for (size_t i = 0; i < p->n; i++) {
		e2m_hex_encode(p->ue[i].key, E2M_KEY_LEN, hex);
		fprintf(f, "%s %s\n", p->ue[i].identity, hex);
	}
	e2m_wipe(hex, sizeof(hex));
	return fclose(f) == 0 ? 0 : -1;
}

static uint32_t id_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a: enough for a benchmark's own table */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

int pop_index(struct pop *p)
{
	size_t cap = 16;
	while (cap < 2 * p->n)
		cap *= 2;
	free(p->index);
	p->index = malloc(cap * sizeof(*p->index));
	if (!p->index)
		return -1;
	memset(p->index, 0xff, cap * sizeof(*p->index));
	p->index_cap = cap;
	for (size_t i = 0; i < p->n; i++) {
		size_t h = id_hash(p->ue[i].identity, p->ue[i].id_len) & (cap - 1);
		while (p->index[h] != UINT32_MAX)
			h = (h + 1) & (cap - 1);
		p->index[h] = (uint32_t)i;
	}
	return 0;
}

const struct pop_ue *pop_find(const struct pop *p, const char *identity, size_t len)
{
	if (!p->index_cap)
		return NULL;
	size_t h = id_hash(identity, len) & (p->index_cap - 1);
	for (; p->index[h] != UINT32_MAX; h = (h + 1) & (p->index_cap - 1)) {
		const struct pop_ue *u = &p->ue[p->index[h]];
		if (u->id_len == len && memcmp(u->identity, identity, len) == 0)
			return u;
	}
	return NULL;
}

void pop_free(struct pop *p)
{
	if (p->ue)
		e2m_wipe(p->ue, p->cap * sizeof(*p->ue));
	free(p->ue);
	free(p->index);
	memset(p, 0, sizeof(*p));
}
