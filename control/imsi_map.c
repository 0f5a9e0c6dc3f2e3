/* The EMSE's application identity -> IMSI table (include/emse/imsi_map.h): a sorted array of
 * entries over one string arena, searched by binary search. Built once per (re)load, never
 * modified afterwards, so the control thread can swap a new one in whole. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "emse/e2m.h"
#include "emse/imsi_map.h"

struct entry {
	uint32_t app_off;  /* into arena */
	uint8_t app_len;
	char imsi[EMSE_IMSI_MAX + 1];
	uint32_t line;     /* for the duplicate message */
};

struct emse_imsi_map {
	struct entry *e;
	size_t n;
	char *arena;
	size_t arena_len;
};

void emse_imsi_mask(const char *imsi, char out[EMSE_IMSI_MAX + 1])
{
	size_t n = imsi ? strnlen(imsi, EMSE_IMSI_MAX + 1) : 0;
	int ok = n >= 5 && n <= EMSE_IMSI_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = imsi[i] >= '0' && imsi[i] <= '9';
	if (!ok) {
		snprintf(out, EMSE_IMSI_MAX + 1, "(invalid)");
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = i + 4 < n ? '*' : imsi[i];
	out[n] = '\0';
}

void emse_imsi_map_free(struct emse_imsi_map *m)
{
	if (!m)
		return;
	if (m->e)
		OPENSSL_cleanse(m->e, m->n * sizeof(*m->e));
	if (m->arena)
		OPENSSL_cleanse(m->arena, m->arena_len);
	free(m->e);
	free(m->arena);
	free(m);
}

static const char *arena_str(const struct emse_imsi_map *m, const struct entry *e)
{
	return m->arena + e->app_off;
}

static int cmp_app(const char *a, size_t alen, const char *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);
	if (r)
		return r;
	return alen < blen ? -1 : alen > blen;
}

static int entry_cmp(const void *x, const void *y, void *ctx)
{
	const struct emse_imsi_map *m = ctx;
	const struct entry *a = x, *b = y;
	int r = cmp_app(arena_str(m, a), a->app_len, arena_str(m, b), b->app_len);
	if (r)
		return r;
	return a->line < b->line ? -1 : a->line > b->line;
}

static int errf(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return -1;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* One line without its newline: 0 blank or comment, 1 an entry (app id, imsi), -1 and why. */
static int split_line(const char *s, size_t len, const char **app, size_t *app_len,
		      const char **imsi, size_t *imsi_len, const char **why)
{
	size_t i = 0;
	while (i < len && is_blank(s[i]))
		i++;
	if (i == len || s[i] == '#')
		return 0;
	const char *f[3];
	size_t fl[3];
	int nf = 0;
	while (i < len) {
		size_t st = i;
		while (i < len && !is_blank(s[i]))
			i++;
		if (nf == 3)
			break;
		f[nf] = s + st;
		fl[nf++] = i - st;
		while (i < len && is_blank(s[i]))
			i++;
	}
	if (nf != 2) {
		*why = "need two fields: <ue_app_id> <imsi>";
		return -1;
	}
	if (e2m_app_id_check(f[0], fl[0]) != E2M_ID_OK) {
		*why = "ue_app_id: need 1..115 octets of printable UTF-8 without blanks";
		return -1;
	}
	int digits = fl[1] >= 5 && fl[1] <= EMSE_IMSI_MAX;
	for (size_t k = 0; digits && k < fl[1]; k++)
		digits = f[1][k] >= '0' && f[1][k] <= '9';
	if (!digits) {
		*why = "imsi: need 5..15 digits";
		return -1;
	}
	*app = f[0];
	*app_len = fl[0];
	*imsi = f[1];
	*imsi_len = fl[1];
	return 1;
}

struct emse_imsi_map *emse_imsi_map_parse(const char *text, size_t len, const char *name,
					  char *err, size_t err_len)
{
	if (len > EMSE_IMSI_MAP_MAX_BYTES) {
		errf(err, err_len, "%s: %zu octets, over the limit of %u", name, len,
		     EMSE_IMSI_MAP_MAX_BYTES);
		return NULL;
	}
	struct emse_imsi_map *m = calloc(1, sizeof(*m));
	if (!m) {
		errf(err, err_len, "%s: out of memory", name);
		return NULL;
	}
	/* Entries are at most one per line and app ids fit in the text: size both up front. */
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	m->arena = malloc(len + 1);
	m->e = calloc(lines < EMSE_IMSI_MAP_MAX_ENTRIES ? lines : EMSE_IMSI_MAP_MAX_ENTRIES,
		      sizeof(*m->e));
	if (!m->arena || !m->e) {
		errf(err, err_len, "%s: out of memory", name);
		goto fail;
	}
	uint32_t lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		lineno++;
		const char *app, *imsi, *why = NULL;
		size_t app_len, imsi_len;
		if (memchr(text + pos, '\0', ll)) {
			errf(err, err_len, "%s:%u: NUL octet", name, lineno);
			goto fail;
		}
		int r = split_line(text + pos, ll, &app, &app_len, &imsi, &imsi_len, &why);
		if (r < 0) {
			errf(err, err_len, "%s:%u: %s", name, lineno, why);
			goto fail;
		}
		if (r == 1) {
			if (m->n == EMSE_IMSI_MAP_MAX_ENTRIES) {
				errf(err, err_len, "%s:%u: more than %u entries", name, lineno,
				     EMSE_IMSI_MAP_MAX_ENTRIES);
				goto fail;
			}
			struct entry *e = &m->e[m->n++];
			e->app_off = (uint32_t)m->arena_len;
			e->app_len = (uint8_t)app_len;
			e->line = lineno;
			memcpy(m->arena + m->arena_len, app, app_len);
			m->arena_len += app_len;
			memcpy(e->imsi, imsi, imsi_len);
			e->imsi[imsi_len] = '\0';
		}
		if (!nl)
			break;
		pos += ll + 1;
	}
	/* qsort_r: a reload on the control thread may parse while nothing else does, but a static
	 * context would make that a rule to remember. */
	qsort_r(m->e, m->n, sizeof(*m->e), entry_cmp, m);
	for (size_t i = 1; i < m->n; i++) {
		const struct entry *a = &m->e[i - 1], *b = &m->e[i];
		if (cmp_app(arena_str(m, a), a->app_len, arena_str(m, b), b->app_len) == 0) {
			char masked[EMSE_IMSI_MAX + 1];
			emse_imsi_mask(a->imsi, masked);
			errf(err, err_len, "%s:%u: ue_app_id given twice (line %u maps it to %s)", name,
			     b->line, a->line, masked);
			goto fail;
		}
	}
	return m;
fail:
	emse_imsi_map_free(m);
	return NULL;
}

struct emse_imsi_map *emse_imsi_map_load(const char *path, char *err, size_t err_len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		errf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct stat sb;
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
		fclose(f);
		errf(err, err_len, "%s: not a regular file", path);
		return NULL;
	}
	if ((uint64_t)sb.st_size > EMSE_IMSI_MAP_MAX_BYTES) {
		fclose(f);
		errf(err, err_len, "%s: %lld octets, over the limit of %u", path,
		     (long long)sb.st_size, EMSE_IMSI_MAP_MAX_BYTES);
		return NULL;
	}
	size_t cap = (size_t)sb.st_size + 1, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		fclose(f);
		errf(err, err_len, "%s: out of memory", path);
		return NULL;
	}
	size_t got;
	/* Read to EOF even if the file grew since fstat, within the limit. */
	while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			if (cap > EMSE_IMSI_MAP_MAX_BYTES) {
				OPENSSL_cleanse(buf, len);
				free(buf);
				fclose(f);
				errf(err, err_len, "%s: over the limit of %u octets", path,
				     EMSE_IMSI_MAP_MAX_BYTES);
				return NULL;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	int rerr = ferror(f);
	fclose(f);
	struct emse_imsi_map *m = NULL;
	if (rerr)
		errf(err, err_len, "%s: read error", path);
	else
		m = emse_imsi_map_parse(buf, len, path, err, err_len);
	OPENSSL_cleanse(buf, cap);
	free(buf);
	return m;
}

const char *emse_imsi_map_lookup(const struct emse_imsi_map *m, const char *app_id,
				 size_t app_id_len)
{
	if (!m || !app_id)
		return NULL;
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct entry *e = &m->e[mid];
		int r = cmp_app(app_id, app_id_len, arena_str(m, e), e->app_len);
		if (r == 0)
			return e->imsi;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t emse_imsi_map_size(const struct emse_imsi_map *m)
{
	return m ? m->n : 0;
}
