/* Saving and restoring established compact sessions (persist.h, docs/persist.md). Off the packet
 * path: OpenSSL's EVP AES-256-GCM seals the file on the main lcore. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <rte_cycles.h>
#include <rte_telemetry.h>

#include "emse/control_plane.h"
#include "emse/persist.h"
#include "emse/session.h"
#include "emse/worker.h"

struct emse_persist_stats emse_persist_stats;

static const char *const refuse_names[EMSE_PERSIST_R__COUNT] = {
	[EMSE_PERSIST_OK] = "none",
	[EMSE_PERSIST_R_IO] = "io",
	[EMSE_PERSIST_R_TRUNCATED] = "truncated",
	[EMSE_PERSIST_R_MAGIC] = "not_a_session_file",
	[EMSE_PERSIST_R_VERSION] = "format_version",
	[EMSE_PERSIST_R_AUTH] = "bad_tag_or_key",
	[EMSE_PERSIST_R_MALFORMED] = "malformed",
	[EMSE_PERSIST_R_TOO_OLD] = "too_old",
	[EMSE_PERSIST_R_FUTURE] = "created_in_future",
};

static const char *const drop_names[EMSE_PERSIST_D__COUNT] = {
	[EMSE_PERSIST_D_IDLE] = "idle_expired",
	[EMSE_PERSIST_D_SEQ] = "seq_exhausted",
	[EMSE_PERSIST_D_LISTENER] = "no_listener",
	[EMSE_PERSIST_D_FULL] = "table_full",
	[EMSE_PERSIST_D_DUPLICATE] = "duplicate",
};

const char *emse_persist_refuse_name(enum emse_persist_refuse r)
{
	return (unsigned)r < EMSE_PERSIST_R__COUNT ? refuse_names[r] : "?";
}

const char *emse_persist_drop_name(enum emse_persist_drop d)
{
	return (unsigned)d < EMSE_PERSIST_D__COUNT ? drop_names[d] : "?";
}

void emse_persist_stats_walk(const struct emse_persist_stats *s, emse_emit_fn emit, void *ctx)
{
#define C(n) emit(ctx, "persist_" #n, NULL, NULL, s->n, 1)
#define G(n) emit(ctx, "persist_" #n, NULL, NULL, s->n, 0)
	C(saves); C(save_failures); C(sessions_saved); G(save_us_last); G(save_bytes_last);
	C(loads); C(sessions_restored); G(load_us_last);
#undef C
#undef G
	for (int i = 0; i < EMSE_PERSIST_D__COUNT; i++)
		emit(ctx, "persist_dropped", "reason", drop_names[i], s->dropped[i], 1);
	for (int i = 1; i < EMSE_PERSIST_R__COUNT; i++)
		emit(ctx, "persist_files_refused", "reason", refuse_names[i], s->refused[i], 1);
}

/* ---- entries ---------------------------------------------------------------------------------- */

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 8;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint8_t *put(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

/* Fixed part: length 2; flow 2 + 4 + 32 + 6; listener 1; idle deadline 8; record state 72;
 * CID hook 2; identity key_id 4 + length 1. */
#define FIXED (2 + 2 + 4 + 32 + 6 + 1 + 8 + 72 + 2 + 4 + 1)
_Static_assert(FIXED + E2M_APP_ID_MAX <= EMSE_PERSIST_ENTRY_MAX, "entry bound");

size_t emse_persist_entry_encode(const struct emse_persist_entry *e, uint8_t *out, size_t cap)
{
	size_t idl = e->has_id ? e->id.app_id_len : 0;
	size_t len = FIXED + idl;
	if (cap < len || idl > E2M_APP_ID_MAX)
		return 0;
	const struct emse_flow *f = &e->flow;
	const struct emse_record_state *r = &e->rec;
	uint8_t *p = put16(out, (uint16_t)(len - 2));
	*p++ = f->peer.family;
	*p++ = f->local.family;
	p = put16(p, f->peer_port);
	p = put16(p, f->local_port);
	p = put(p, f->peer.a, 16);
	p = put(p, f->local.a, 16);
	p = put(p, f->peer_mac, 6);
	*p++ = e->listener;
	p = put64(p, e->idle_deadline);
	/* the record state, v1 */
	*p++ = EMSE_PERSIST_REC_V1;
	*p++ = r->cipher;
	p = put(p, r->suite, 2);
	p = put16(p, r->wepoch);
	p = put16(p, r->repoch);
	p = put(p, r->rkey, 16);
	p = put(p, r->wkey, 16);
	p = put(p, r->rsalt, 4);
	p = put(p, r->wsalt, 4);
	p = put64(p, r->wseq);
	p = put64(p, r->rnext);
	p = put64(p, r->window);
	/* CID HOOK (branch cid): read CID length, write CID length, then their bytes; v1 has none.
	 * The lead's merge writes the session's CIDs here and adds their bytes to len. */
	*p++ = 0;
	*p++ = 0;
	uint32_t kid = e->has_id ? e->id.key_id : 0;
	p = put(p, &kid, 4);
	*p++ = (uint8_t)idl;
	if (idl)
		p = put(p, e->id.app_id, idl);
	return (size_t)(p - out);
}

int emse_persist_entry_decode(const uint8_t *in, size_t len, size_t *used,
			      struct emse_persist_entry *e)
{
	if (len < FIXED)
		return -1;
	size_t n = (size_t)get16(in) + 2;
	if (n < FIXED || n > len)
		return -1;
	memset(e, 0, sizeof(*e));
	const uint8_t *p = in + 2;
	struct emse_flow *f = &e->flow;
	struct emse_record_state *r = &e->rec;
	f->peer.family = *p++;
	f->local.family = *p++;
	if ((f->peer.family != 4 && f->peer.family != 6) || f->local.family != f->peer.family)
		return -1;
	f->peer_port = get16(p);
	f->local_port = get16(p + 2);
	p += 4;
	memcpy(f->peer.a, p, 16);
	memcpy(f->local.a, p + 16, 16);
	memcpy(f->peer_mac, p + 32, 6);
	p += 38;
	e->listener = *p++;
	e->idle_deadline = get64(p);
	p += 8;
	if (*p++ != EMSE_PERSIST_REC_V1)
		return -1;
	r->cipher = *p++;
	if (r->cipher != EMSE_REC_AES128_GCM && r->cipher != EMSE_REC_AES128_CCM8)
		return -1;
	memcpy(r->suite, p, 2);
	r->wepoch = get16(p + 2);
	r->repoch = get16(p + 4);
	p += 6;
	memcpy(r->rkey, p, 16);
	memcpy(r->wkey, p + 16, 16);
	memcpy(r->rsalt, p + 32, 4);
	memcpy(r->wsalt, p + 36, 4);
	p += 40;
	r->wseq = get64(p);
	r->rnext = get64(p + 8);
	r->window = get64(p + 16);
	p += 24;
	if (r->wseq > EMSE_REC_SEQ_MAX || r->rnext > EMSE_REC_SEQ_MAX + 1)
		return -1;
	/* CID HOOK (branch cid): v1 files hold no CID */
	if (p[0] || p[1])
		return -1;
	p += 2;
	memcpy(&e->id.key_id, p, 4);
	p += 4;
	size_t idl = *p++;
	if (idl > E2M_APP_ID_MAX || n != FIXED + idl)
		return -1;
	e->has_id = idl > 0;
	e->id.app_id_len = (uint8_t)idl;
	memcpy(e->id.app_id, p, idl);
	e->id.app_id[idl] = '\0';
	*used = n;
	return 0;
}

int emse_persist_admit(struct emse_persist_entry *e, uint64_t now, uint32_t max_age_s)
{
	if (e->idle_deadline <= now)
		return EMSE_PERSIST_D_IDLE;
	uint64_t m = emse_persist_wseq_margin(max_age_s);
	if (e->rec.wseq > EMSE_REC_SEQ_MAX - m)
		return EMSE_PERSIST_D_SEQ;
	e->rec.wseq += m;
	return -1;
}

/* ---- the key ----------------------------------------------------------------------------------- */

int emse_persist_key_load(const char *path, uint8_t key[EMSE_PERSIST_KEY_LEN], char *err,
			  size_t err_size)
{
	uint8_t buf[80];
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	int rc = -1;
	if (n == EMSE_PERSIST_KEY_LEN) {
		memcpy(key, buf, EMSE_PERSIST_KEY_LEN);
		rc = 0;
	} else {
		size_t h = n;
		while (h && (buf[h - 1] == '\n' || buf[h - 1] == '\r'))
			h--;
		char hex[2 * EMSE_PERSIST_KEY_LEN + 1];
		if (h == 2 * EMSE_PERSIST_KEY_LEN) {
			memcpy(hex, buf, h);
			hex[h] = '\0';
			rc = e2m_hex_decode(hex, key, EMSE_PERSIST_KEY_LEN) == 0 ? 0 : -1;
			e2m_wipe(hex, sizeof(hex));
		}
		if (rc)
			snprintf(err, err_size, "%s: expected 32 bytes or 64 hex digits (%zu bytes read)",
				 path, n);
	}
	e2m_wipe(buf, sizeof(buf));
	return rc;
}

/* ---- the file ---------------------------------------------------------------------------------- */

static void header_build(uint8_t h[EMSE_PERSIST_HDR], uint64_t created, uint64_t count,
			 const uint8_t nonce[12])
{
	memset(h, 0, EMSE_PERSIST_HDR);
	memcpy(h, EMSE_PERSIST_MAGIC, 8);
	uint32_t v = EMSE_PERSIST_VERSION;
	for (int i = 0; i < 4; i++)
		h[8 + i] = (uint8_t)(v >> (8 * i));
	put64(h + 16, created);
	put64(h + 24, count);
	memcpy(h + 32, nonce, 12);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char d[EMSE_PATH_MAX + 8];
	snprintf(d, sizeof(d), "%s", path);
	int fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

long long emse_persist_write(const char *path, const uint8_t key[EMSE_PERSIST_KEY_LEN],
			     uint64_t created, uint64_t count, const struct emse_persist_part *parts,
			     unsigned n_parts, char *err, size_t err_size)
{
	char tmp[EMSE_PATH_MAX + 16];
	uint8_t hdr[EMSE_PERSIST_HDR], nonce[12], tag[EMSE_PERSIST_TAG];
	static uint8_t chunk[1 << 16]; /* ciphertext staging; main thread only */
	long long total = -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		snprintf(err, err_size, "no randomness for the nonce");
		return -1;
	}
	header_build(hdr, created, count, nonce);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int outl;
	if (!c || fd < 0) {
		snprintf(err, err_size, "%s: %s", tmp, fd < 0 ? strerror(errno) : "no cipher context");
		goto out;
	}
	if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &outl, hdr, sizeof(hdr)) != 1 ||
	    write_all(fd, hdr, sizeof(hdr)) != 0)
		goto fail;
	total = sizeof(hdr);
	for (unsigned i = 0; i < n_parts; i++)
		for (size_t off = 0; off < parts[i].len;) {
			size_t n = parts[i].len - off < sizeof(chunk) ? parts[i].len - off
								      : sizeof(chunk);
			if (EVP_EncryptUpdate(c, chunk, &outl, parts[i].p + off, (int)n) != 1 ||
			    write_all(fd, chunk, (size_t)outl) != 0)
				goto fail;
			total += outl;
			off += n;
		}
	if (EVP_EncryptFinal_ex(c, chunk, &outl) != 1 || write_all(fd, chunk, (size_t)outl) != 0 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, sizeof(tag), tag) != 1 ||
	    write_all(fd, tag, sizeof(tag)) != 0)
		goto fail;
	total += outl + (long long)sizeof(tag);
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	if (fsync_dir_of(path) != 0) {
		snprintf(err, err_size, "%s: fsync of its directory: %s", path, strerror(errno));
		total = -1;
	}
	goto out;
fail:
	snprintf(err, err_size, "%s: %s", tmp, errno ? strerror(errno) : "encryption failed");
	total = -1;
	if (fd >= 0)
		close(fd);
	fd = -1;
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	e2m_wipe(chunk, sizeof(chunk));
	EVP_CIPHER_CTX_free(c);
	return total;
}

void emse_persist_file_free(struct emse_persist_file *f)
{
	if (f->body) {
		e2m_wipe(f->body, f->body_len);
		free(f->body);
	}
	memset(f, 0, sizeof(*f));
}

enum emse_persist_refuse emse_persist_read(const char *path, const uint8_t key[EMSE_PERSIST_KEY_LEN],
					   uint64_t now, uint32_t max_age_s,
					   struct emse_persist_file *f)
{
	memset(f, 0, sizeof(*f));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return EMSE_PERSIST_R_IO;
	}
	size_t size = (size_t)st.st_size;
	uint8_t hdr[EMSE_PERSIST_HDR], tag[EMSE_PERSIST_TAG];
	enum emse_persist_refuse r = EMSE_PERSIST_R_IO;
	uint8_t *buf = NULL;
	EVP_CIPHER_CTX *c = NULL;
	if (size < EMSE_PERSIST_HDR + EMSE_PERSIST_TAG) {
		r = EMSE_PERSIST_R_TRUNCATED;
		goto out;
	}
	size_t body = size - EMSE_PERSIST_HDR - EMSE_PERSIST_TAG;
	buf = malloc(body ? body : 1);
	if (!buf || pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		goto out;
	size_t got = 0;
	while (got < body) {
		ssize_t n = pread(fd, buf + got, body - got, (off_t)(EMSE_PERSIST_HDR + got));
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	if (pread(fd, tag, sizeof(tag), (off_t)(EMSE_PERSIST_HDR + body)) != (ssize_t)sizeof(tag))
		goto out;
	if (memcmp(hdr, EMSE_PERSIST_MAGIC, 8) != 0) {
		r = EMSE_PERSIST_R_MAGIC;
		goto out;
	}
	uint32_t v = (uint32_t)hdr[8] | (uint32_t)hdr[9] << 8 | (uint32_t)hdr[10] << 16 |
		     (uint32_t)hdr[11] << 24;
	if (v != EMSE_PERSIST_VERSION) {
		r = EMSE_PERSIST_R_VERSION;
		goto out;
	}
	/* In place: a failed tag leaves garbage that is wiped below, never parsed. */
	int outl;
	c = EVP_CIPHER_CTX_new();
	r = EMSE_PERSIST_R_AUTH;
	if (!c || EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_DecryptInit_ex(c, NULL, NULL, key, hdr + 32) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &outl, hdr, sizeof(hdr)) != 1)
		goto out;
	for (size_t off = 0; off < body;) {
		size_t n = body - off < (1u << 30) ? body - off : (1u << 30);
		if (EVP_DecryptUpdate(c, buf + off, &outl, buf + off, (int)n) != 1)
			goto out;
		off += n;
	}
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, sizeof(tag), tag) != 1 ||
	    EVP_DecryptFinal_ex(c, buf + body, &outl) != 1) /* the tag check, constant time */
		goto out;
	f->created = get64(hdr + 16);
	f->count = get64(hdr + 24);
	if (f->created > now + 60) { /* a minute of slack between hosts' clocks on a move */
		r = EMSE_PERSIST_R_FUTURE;
		goto out;
	}
	if (now > f->created && now - f->created > max_age_s) {
		r = EMSE_PERSIST_R_TOO_OLD;
		goto out;
	}
	/* the entries must parse and match the count: an authentic file that does not is refused
	 * whole rather than half-loaded */
	uint64_t k = 0;
	struct emse_persist_entry e;
	size_t off = 0, used;
	while (off < body) {
		if (emse_persist_entry_decode(buf + off, body - off, &used, &e) != 0)
			break;
		off += used;
		k++;
	}
	e2m_wipe(&e, sizeof(e));
	if (off != body || k != f->count) {
		r = EMSE_PERSIST_R_MALFORMED;
		goto out;
	}
	f->body = buf;
	f->body_len = body;
	buf = NULL;
	r = EMSE_PERSIST_OK;
out:
	if (buf) {
		e2m_wipe(buf, size - EMSE_PERSIST_HDR - EMSE_PERSIST_TAG);
		free(buf);
	}
	EVP_CIPHER_CTX_free(c);
	close(fd);
	if (r != EMSE_PERSIST_OK)
		memset(f, 0, sizeof(*f));
	return r;
}

int emse_persist_next(const struct emse_persist_file *f, size_t *off, struct emse_persist_entry *e)
{
	if (*off >= f->body_len)
		return 0;
	size_t used;
	if (emse_persist_entry_decode(f->body + *off, f->body_len - *off, &used, e) != 0)
		return -1;
	*off += used;
	return 1;
}

/* ---- the running emse ------------------------------------------------------------------------- */

static uint8_t g_key[EMSE_PERSIST_KEY_LEN];
static bool g_on;
static uint32_t g_req, g_done;      /* live save requests (signal, telemetry) and answers */
static int64_t g_last_bytes = -1;   /* the last save, for the telemetry command's answer */
static uint64_t g_last_n, g_last_us;

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int emse_persist_setup(const struct emse_runtime *rt, char *err, size_t err_size)
{
	const struct emse_config *c = rt->cfg;
	if (!c->persist_file[0])
		return 0;
	char why[EMSE_PATH_MAX + 96];
	if (emse_persist_key_load(c->persist_key_file, g_key, why, sizeof(why)) != 0) {
		snprintf(err, err_size, "[persist] key_file: %s", why);
		return -1;
	}
	g_on = true;
	return 0;
}

static uint64_t unix_of_tsc(const struct emse_runtime *rt, uint64_t tsc)
{
	return tsc <= rt->tsc0 ? rt->unix0 : rt->unix0 + (tsc - rt->tsc0) / rt->hz;
}

/* w's compact established sessions, in LRU order (the restored table keeps it), into buf. A
 * session kept on wolfSSL (CBC) has no compact state to save and re-handshakes. */
static size_t collect(const struct emse_worker *w, uint8_t *buf, size_t cap, uint64_t *count)
{
	const struct emse_sessions *t = &w->sessions;
	struct emse_persist_entry e;
	size_t off = 0;
	*count = 0;
	for (uint32_t i = t->est.head; i != EMSE_NIL; i = t->s[i].next) {
		const struct emse_session *s = &t->s[i];
		if (s->state != EMSE_S_ESTABLISHED)
			continue;
		memset(&e, 0, sizeof(e));
		e.flow = s->flow;
		e.listener = s->listener;
		e.idle_deadline = unix_of_tsc(w->rt, s->deadline) + 1;
		e.rec = s->u.rec;
		e.has_id = s->id_ref && emse_idarena_get(&w->ids, s->id_ref, &e.id) == 0;
		size_t n = emse_persist_entry_encode(&e, buf + off, cap - off);
		if (!n)
			break; /* cannot happen: the buffer is sized for every slot */
		off += n;
		(*count)++;
	}
	e2m_wipe(&e, sizeof(e));
	return off;
}

static size_t worker_cap(const struct emse_worker *w)
{
	return (size_t)w->sessions.est.n * EMSE_PERSIST_ENTRY_MAX;
}

static int save_parts(struct emse_runtime *rt, struct emse_persist_part *parts, uint64_t count,
		      uint64_t t0)
{
	char err[EMSE_PATH_MAX + 96];
	const char *path = rt->cfg->persist_file;
	long long size = emse_persist_write(path, g_key, (uint64_t)time(NULL), count, parts,
					    rt->n_workers, err, sizeof(err));
	uint64_t us = mono_us() - t0;
	if (size < 0) {
		emse_persist_stats.save_failures++;
		fprintf(stderr, "emse: persist: save failed: %s\n", err);
		g_last_bytes = -1;
		return -1;
	}
	emse_persist_stats.saves++;
	emse_persist_stats.sessions_saved += count;
	emse_persist_stats.save_us_last = us;
	emse_persist_stats.save_bytes_last = (uint64_t)size;
	g_last_bytes = size;
	g_last_n = count;
	g_last_us = us;
	printf("emse: persist: %lu sessions saved to %s (%lld bytes, %lu us)\n",
	       (unsigned long)count, path, size, (unsigned long)us);
	fflush(stdout);
	return 0;
}

int emse_persist_save_stopped(struct emse_runtime *rt)
{
	if (!g_on)
		return -1;
	uint64_t t0 = mono_us(), total = 0;
	struct emse_persist_part parts[EMSE_MAX_WORKERS];
	int rc = -1;
	for (unsigned i = 0; i < rt->n_workers; i++) {
		const struct emse_worker *w = rt->workers[i];
		size_t cap = worker_cap(w);
		uint8_t *buf = malloc(cap ? cap : 1);
		uint64_t n = 0;
		parts[i].p = buf;
		parts[i].len = buf ? collect(w, buf, cap, &n) : 0;
		total += n;
		if (!buf)
			goto out;
	}
	rc = save_parts(rt, parts, total, t0);
out:
	for (unsigned i = 0; i < rt->n_workers; i++) {
		if (parts[i].p) {
			e2m_wipe((void *)parts[i].p, parts[i].len);
			free((void *)parts[i].p);
		}
	}
	return rc;
}

/* A live save: each worker serializes its own table on its next tick into a buffer handed over
 * here (sized for its established sessions now plus the ones it may add before the tick; what
 * does not fit waits for the next save). The main thread waits for every answer; no lock, and
 * the workers never wait for the main thread. */
void emse_persist_worker_poll(struct emse_worker *w)
{
	uint32_t req = __atomic_load_n(&w->persist_req, __ATOMIC_ACQUIRE);
	if (req == w->persist_done)
		return;
	w->persist_len = w->persist_buf ? collect(w, w->persist_buf, w->persist_cap, &w->persist_n)
					: 0;
	__atomic_store_n(&w->persist_done, req, __ATOMIC_RELEASE);
}

static void save_live(struct emse_runtime *rt)
{
	uint64_t t0 = mono_us(), total = 0;
	struct emse_persist_part parts[EMSE_MAX_WORKERS];
	for (unsigned i = 0; i < rt->n_workers; i++) {
		struct emse_worker *w = rt->workers[i];
		/* headroom for sessions established before the worker's tick */
		w->persist_cap = worker_cap(w) + (size_t)rt->cfg->half_open_max * EMSE_PERSIST_ENTRY_MAX;
		w->persist_buf = malloc(w->persist_cap);
		w->persist_n = 0;
		w->persist_len = 0;
		__atomic_store_n(&w->persist_req, w->persist_req + 1, __ATOMIC_RELEASE);
	}
	for (unsigned i = 0; i < rt->n_workers; i++) {
		struct emse_worker *w = rt->workers[i];
		while (__atomic_load_n(&w->persist_done, __ATOMIC_ACQUIRE) != w->persist_req &&
		       !rt->stop) {
			emse_control_run_once(rt->control, emse_control_now_ms());
			usleep(200);
		}
	}
	bool complete = true;
	for (unsigned i = 0; i < rt->n_workers; i++) {
		struct emse_worker *w = rt->workers[i];
		complete &= w->persist_done == w->persist_req && w->persist_buf;
		parts[i].p = w->persist_buf;
		parts[i].len = w->persist_len;
		total += w->persist_n;
	}
	/* At a stop during the wait a worker may still be writing its buffer: the stop's own save
	 * (after the workers are joined) supersedes this one, and the buffers are freed there. */
	if (!complete) {
		if (!rt->stop)
			emse_persist_stats.save_failures++;
		return;
	}
	save_parts(rt, parts, total, t0);
	for (unsigned i = 0; i < rt->n_workers; i++) {
		struct emse_worker *w = rt->workers[i];
		e2m_wipe(w->persist_buf, w->persist_len);
		free(w->persist_buf);
		w->persist_buf = NULL;
	}
}

void emse_persist_request(void)
{
	__atomic_add_fetch(&g_req, 1, __ATOMIC_RELEASE);
}

void emse_persist_poll(struct emse_runtime *rt)
{
	uint32_t req = __atomic_load_n(&g_req, __ATOMIC_ACQUIRE);
	if (req == g_done)
		return;
	if (g_on)
		save_live(rt);
	else
		fprintf(stderr, "emse: persist: save asked for, but [persist] file is not set\n");
	__atomic_store_n(&g_done, req, __ATOMIC_RELEASE);
}

/* Telemetry thread: asks the main loop and waits for its answer (up to 30 s). */
static int cmd_save(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd, (void)params;
	uint32_t want = __atomic_add_fetch(&g_req, 1, __ATOMIC_ACQ_REL);
	for (int i = 0; i < 30000 && (int32_t)(__atomic_load_n(&g_done, __ATOMIC_ACQUIRE) - want) < 0;
	     i++)
		usleep(1000);
	bool done = (int32_t)(__atomic_load_n(&g_done, __ATOMIC_ACQUIRE) - want) >= 0;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "ok", done && g_on && g_last_bytes >= 0);
	rte_tel_data_add_dict_u64(d, "sessions", g_last_n);
	rte_tel_data_add_dict_u64(d, "bytes", g_last_bytes > 0 ? (uint64_t)g_last_bytes : 0);
	rte_tel_data_add_dict_u64(d, "us", g_last_us);
	return 0;
}

static int cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd, (void)params;
	rte_tel_data_start_dict(d);
	emse_persist_stats_walk(&emse_persist_stats, emse_tel_emit_dict, d);
	return 0;
}

int emse_persist_telemetry_register(void)
{
	return rte_telemetry_register_cmd("/emse/persist/save", cmd_save,
					  "save established sessions to [persist] file now") ||
	       rte_telemetry_register_cmd("/emse/persist", cmd_stats,
					  "sessions saved, restored, dropped; files refused");
}

/* Puts one entry into the owning worker's table as an established compact session. */
static int restore_one(struct emse_runtime *rt, struct emse_persist_entry *e, uint64_t now_unix,
		       uint64_t now_tsc)
{
	const struct emse_config *c = rt->cfg;
	if (e->listener >= c->n_listeners || c->listeners[e->listener].port != e->flow.local_port ||
	    !emse_addr_eq(&c->listeners[e->listener].addr, &e->flow.local))
		return EMSE_PERSIST_D_LISTENER;
	memcpy(e->flow.local_mac, rt->iface.mac, 6);
	struct emse_worker *w = rt->workers[emse_flow_owner(&e->flow, rt->n_workers)];
	struct emse_sessions *t = &w->sessions;
	struct emse_session_key k;
	emse_session_key_of(&e->flow, e->listener, &k);
	if (emse_session_find(t, &k))
		return EMSE_PERSIST_D_DUPLICATE;
	bool src_full;
	struct emse_session *s = emse_session_new(t, &k, 0, &src_full);
	if (!s)
		return EMSE_PERSIST_D_FULL;
	uint32_t ref = 0;
	if (e->has_id && !(ref = emse_idarena_put(&w->ids, &e->id))) {
		emse_session_release(t, s);
		return EMSE_PERSIST_D_FULL;
	}
	emse_list_remove(t, &t->hs, s);
	s->flow = e->flow;
	s->listener = e->listener;
	s->id_ref = ref;
	s->u.rec = e->rec;
	s->u.rec.flags = 0;
	s->u.rec.flight = 0;
	s->u.rec.kslot = 0;
	s->state = EMSE_S_ESTABLISHED;
	s->deadline = now_tsc + (e->idle_deadline - now_unix) * rt->hz;
	emse_list_push(t, &t->est, s);
	return -1;
}

void emse_persist_load(struct emse_runtime *rt)
{
	if (!g_on)
		return;
	const struct emse_config *c = rt->cfg;
	const char *path = c->persist_file;
	if (access(path, F_OK) != 0)
		return; /* nothing saved: a first start, or the file was loaded already */
	uint64_t t0 = mono_us(), now = (uint64_t)time(NULL), now_tsc = rte_rdtsc();
	struct emse_persist_file f;
	enum emse_persist_refuse r = emse_persist_read(path, g_key, now, c->persist_max_age_s, &f);
	if (r != EMSE_PERSIST_OK) {
		emse_persist_stats.refused[r]++;
		if (r == EMSE_PERSIST_R_TOO_OLD)
			emse_persist_stats.files_too_old++;
		fprintf(stderr, "emse: persist: %s refused (%s); starting without saved sessions\n",
			path, emse_persist_refuse_name(r));
		return;
	}
	emse_persist_stats.loads++;
	/* Loaded at most once: a second start from the same file would repeat the sequence numbers
	 * this one writes after the margin. */
	if (unlink(path) != 0 || fsync_dir_of(path) != 0) {
		fprintf(stderr, "emse: persist: %s cannot be removed (%s); not restoring from it\n",
			path, strerror(errno));
		emse_persist_file_free(&f);
		return;
	}
	struct emse_persist_entry e;
	size_t off = 0;
	uint64_t restored = 0;
	while (emse_persist_next(&f, &off, &e) == 1) {
		int why = emse_persist_admit(&e, now, c->persist_max_age_s);
		if (why < 0)
			why = restore_one(rt, &e, now, now_tsc);
		if (why < 0)
			restored++;
		else
			emse_persist_stats.dropped[why]++;
	}
	e2m_wipe(&e, sizeof(e));
	emse_persist_file_free(&f);
	emse_persist_stats.sessions_restored += restored;
	emse_persist_stats.load_us_last = mono_us() - t0;
	printf("emse: persist: %lu sessions restored from %s (%lu us)\n", (unsigned long)restored,
	       path, (unsigned long)emse_persist_stats.load_us_last);
	fflush(stdout);
}

void emse_persist_fini(struct emse_runtime *rt)
{
	for (unsigned i = 0; i < rt->n_workers; i++) {
		struct emse_worker *w = rt->workers[i];
		if (w && w->persist_buf) {
			e2m_wipe(w->persist_buf, w->persist_cap);
			free(w->persist_buf);
			w->persist_buf = NULL;
		}
	}
	e2m_wipe(g_key, sizeof(g_key));
	g_on = false;
}
