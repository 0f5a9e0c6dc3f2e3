/* The lab key provider: keys from a file (format in emse/keyprov.h), all loaded into each EMSE's
 * cache at start, and served again from memory if the cache evicted them. A key the file does not
 * hold is NO_KEY. Answers are delivered from poll(), like a real fetch, so the control thread's
 * path is the same for both providers. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "emse/control.h"
#include "emse/keycache.h"
#include "emse/keyprov.h"

/* 9999-12-31T23:59:59Z: "never" for a lab key, still a valid time for anything that prints it. */
#define FAR_FUTURE 253402300799ull

struct rec {
	char emse_id[E2M_EMSE_ID_MAX + 1]; /* "" = every EMSE */
	uint32_t key_id;
	uint8_t app_id_len;
	char app_id[E2M_APP_ID_MAX + 1];
	uint8_t key[E2M_KEY_LEN];
};

struct answer {
	struct answer *next;
	uint64_t batch_id;
	unsigned n;
	struct emse_keyprov_result res[];
};

struct fprov {
	struct emse_keyprov base;
	struct rec *recs;
	size_t n_recs;
	struct answer *head, *tail;
	struct emse_keyprov_stats st;
};

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int r = strcmp(x->emse_id, y->emse_id);
	if (r)
		return r;
	if (x->key_id != y->key_id)
		return x->key_id < y->key_id ? -1 : 1;
	if (x->app_id_len != y->app_id_len)
		return x->app_id_len < y->app_id_len ? -1 : 1;
	return memcmp(x->app_id, y->app_id, x->app_id_len);
}

static const struct rec *find(const struct fprov *p, const char *emse_id, uint32_t key_id,
			      const char *app_id, uint8_t app_id_len)
{
	if (p->n_recs == 0)
		return NULL;
	struct rec k;
	memset(&k, 0, sizeof(k));
	k.key_id = key_id;
	k.app_id_len = app_id_len;
	memcpy(k.app_id, app_id, app_id_len);
	snprintf(k.emse_id, sizeof(k.emse_id), "%s", emse_id);
	const struct rec *r = bsearch(&k, p->recs, p->n_recs, sizeof(*r), rec_cmp);
	if (r)
		return r;
	k.emse_id[0] = '\0';
	return bsearch(&k, p->recs, p->n_recs, sizeof(*r), rec_cmp);
}

static int f_preload(struct emse_keyprov *bp, const char *emse_id, struct emse_keycache *kc)
{
	struct fprov *p = (struct fprov *)bp;
	/* Sorted by EMSE_Id with "" first: the keys for every EMSE go in, then this EMSE's own
	 * override them. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < p->n_recs; i++) {
			const struct rec *r = &p->recs[i];
			if (pass == 0 ? r->emse_id[0] != '\0' : strcmp(r->emse_id, emse_id) != 0)
				continue;
			if (emse_keycache_put(kc, r->key_id, r->app_id, r->app_id_len, r->key,
					      FAR_FUTURE) != 0)
				return -1;
		}
	return 0;
}

static int f_submit(struct emse_keyprov *bp, uint64_t batch_id, const char *emse_id,
		    const struct emse_keyprov_item *items, unsigned n, uint64_t now_ms)
{
	(void)now_ms;
	struct fprov *p = (struct fprov *)bp;
	if (n == 0 || n > EMSE_KEYPROV_BATCH_MAX)
		return -1;
	struct answer *a = calloc(1, sizeof(*a) + n * sizeof(a->res[0]));
	if (!a) {
		p->st.errors[EMSE_PERR_OTHER]++;
		return -1;
	}
	a->batch_id = batch_id;
	a->n = n;
	for (unsigned i = 0; i < n; i++) {
		const struct rec *r = find(p, emse_id, items[i].key_id, items[i].app_id,
					   items[i].app_id_len);
		if (r) {
			a->res[i].status = EMSE_FETCH_OK;
			a->res[i].expiry = FAR_FUTURE;
			memcpy(a->res[i].key, r->key, E2M_KEY_LEN);
			p->st.item_ok++;
		} else {
			a->res[i].status = EMSE_FETCH_NO_KEY;
			p->st.item_no_key++;
		}
	}
	if (p->tail)
		p->tail->next = a;
	else
		p->head = a;
	p->tail = a;
	p->st.batches++;
	p->st.items += n;
	p->st.inflight++;
	return 0;
}

static void free_answer(struct answer *a)
{
	OPENSSL_cleanse(a->res, a->n * sizeof(a->res[0]));
	free(a);
}

static unsigned f_poll(struct emse_keyprov *bp, uint64_t now_ms)
{
	(void)now_ms;
	struct fprov *p = (struct fprov *)bp;
	unsigned done = 0;
	while (p->head) {
		struct answer *a = p->head;
		p->head = a->next;
		if (!p->head)
			p->tail = NULL;
		p->st.inflight--;
		emse_lat_hist_add(p->st.latency_ms, 0);
		p->base.done(p->base.done_ctx, a->batch_id, a->res, a->n);
		free_answer(a);
		done++;
	}
	return done;
}

static void f_stats(struct emse_keyprov *bp, struct emse_keyprov_stats *out)
{
	*out = ((struct fprov *)bp)->st;
}

static void f_destroy(struct emse_keyprov *bp)
{
	struct fprov *p = (struct fprov *)bp;
	if (!p)
		return;
	while (p->head) {
		struct answer *a = p->head;
		p->head = a->next;
		free_answer(a);
	}
	if (p->recs)
		OPENSSL_cleanse(p->recs, p->n_recs * sizeof(*p->recs));
	free(p->recs);
	free(p);
}

static const struct emse_keyprov_ops file_ops = {
	.name = "file",
	.preload = f_preload,
	.submit = f_submit,
	.poll = f_poll,
	.stats = f_stats,
	.destroy = f_destroy,
};

static int parse_line(char *line, struct rec *r, const char **why)
{
	char *f[4], *save = NULL;
	int nf = 0;
	for (char *t = strtok_r(line, " \t", &save); t && nf < 4; t = strtok_r(NULL, " \t", &save))
		f[nf++] = t;
	if (nf < 2 || nf > 3) {
		*why = "expected '[emse_id] psk_identity hexkey'";
		return -1;
	}
	memset(r, 0, sizeof(*r));
	if (nf == 3) {
		if (strlen(f[0]) > E2M_EMSE_ID_MAX) {
			*why = "EMSE_Id longer than 64 octets";
			return -1;
		}
		snprintf(r->emse_id, sizeof(r->emse_id), "%s", f[0]);
	}
	const char *ident = f[nf - 2], *hex = f[nf - 1];
	struct e2m_identity id;
	int rc = e2m_identity_parse((const uint8_t *)ident, strlen(ident), &id);
	if (rc != E2M_ID_OK) {
		*why = e2m_identity_strerror(rc);
		return -1;
	}
	r->key_id = id.key_id;
	r->app_id_len = id.app_id_len;
	memcpy(r->app_id, id.app_id, id.app_id_len);
	if (strlen(hex) != 2 * E2M_KEY_LEN || e2m_hex_decode(hex, r->key, E2M_KEY_LEN) != 0) {
		*why = "key is not 64 hex digits";
		return -1;
	}
	return 0;
}

struct emse_keyprov *emse_keyprov_file_from_string(const char *text, char *err, size_t err_len)
{
	struct fprov *p = calloc(1, sizeof(*p));
	char *copy = strdup(text ? text : "");
	size_t copy_len = copy ? strlen(copy) : 0; /* the parse puts NULs into it: wipe all of it */
	size_t cap = 0;
	unsigned lineno = 0;
	if (!p || !copy) {
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	p->base.ops = &file_ops;
	for (char *line = copy, *nl; line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		size_t len = strlen(line);
		while (len && (line[len - 1] == '\r' || isspace((unsigned char)line[len - 1])))
			line[--len] = '\0';
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			continue;
		if (p->n_recs == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct rec *nr = calloc(ncap, sizeof(*nr));
			if (!nr) {
				snprintf(err, err_len, "out of memory");
				goto fail;
			}
			if (p->recs) {
				memcpy(nr, p->recs, p->n_recs * sizeof(*nr));
				OPENSSL_cleanse(p->recs, p->n_recs * sizeof(*nr));
				free(p->recs);
			}
			p->recs = nr;
			cap = ncap;
		}
		const char *why = NULL;
		if (parse_line(s, &p->recs[p->n_recs], &why) != 0) {
			snprintf(err, err_len, "key file line %u: %s", lineno, why);
			goto fail;
		}
		p->n_recs++;
	}
	if (p->n_recs > 1)
		qsort(p->recs, p->n_recs, sizeof(*p->recs), rec_cmp);
	for (size_t i = 1; i < p->n_recs; i++)
		if (rec_cmp(&p->recs[i - 1], &p->recs[i]) == 0) {
			snprintf(err, err_len, "key file: the same identity twice for one EMSE");
			goto fail;
		}
	OPENSSL_cleanse(copy, copy_len);
	free(copy);
	return &p->base;
fail:
	if (copy) {
		OPENSSL_cleanse(copy, copy_len);
		free(copy);
	}
	f_destroy(p ? &p->base : NULL);
	return NULL;
}

struct emse_keyprov *emse_keyprov_file_create(const char *path, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, err_len, "cannot open key file %s", path);
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap) {
			size_t ncap = (len + n + 1) * 2;
			char *nb = malloc(ncap);
			if (!nb) {
				fclose(f);
				if (buf)
					OPENSSL_cleanse(buf, len);
				free(buf);
				OPENSSL_cleanse(chunk, sizeof(chunk));
				snprintf(err, err_len, "out of memory");
				return NULL;
			}
			if (buf) {
				memcpy(nb, buf, len);
				OPENSSL_cleanse(buf, len);
				free(buf);
			}
			buf = nb;
			cap = ncap;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	fclose(f);
	if (buf)
		buf[len] = '\0';
	if (buf && memchr(buf, '\0', len)) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		snprintf(err, err_len, "key file %s: NUL byte", path);
		return NULL;
	}
	struct emse_keyprov *p = emse_keyprov_file_from_string(buf ? buf : "", err, err_len);
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	return p;
}
