/* The session file's format (persist.h): entries, the key, sealing and opening. Pure: no DPDK, so
 * unit tests and the fuzzer (tests/fuzz/fuzz_persist_entry.c) take it alone. OpenSSL's EVP
 * AES-256-GCM seals the file (off the packet path). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "emse/config.h"
#include "emse/persist.h"

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
 * CID lengths 2; identity key_id 4 + length 1. */
#define FIXED (2 + 2 + 4 + 32 + 6 + 1 + 8 + 72 + 2 + 4 + 1)
#define CID_MAX_BYTES (EMSE_CID_MAX + EMSE_REC_PEER_CID_MAX + 2)
_Static_assert(FIXED + CID_MAX_BYTES + E2M_APP_ID_MAX <= EMSE_PERSIST_ENTRY_MAX, "entry bound");

/* The CID part's length: both CIDs and the check bits, or nothing without CIDs. */
static size_t cid_bytes(unsigned rcl, unsigned wcl)
{
	return rcl ? rcl + wcl + 2 : 0;
}

size_t emse_persist_entry_encode(const struct emse_persist_entry *e, uint8_t *out, size_t cap)
{
	size_t idl = e->has_id ? e->id.app_id_len : 0;
	/* RFC 9146: our CID (read in the client's records) and the client's (written in ours) */
	bool cid = e->rec.flags & EMSE_REC_F_CID;
	unsigned rcl = cid ? e->cid_len : 0, wcl = cid ? emse_rec_peer_cid_len(&e->rec) : 0;
	if (cid && (rcl < EMSE_CID_MIN || rcl > EMSE_CID_MAX || wcl > EMSE_REC_PEER_CID_MAX))
		return 0;
	size_t len = FIXED + cid_bytes(rcl, wcl) + idl;
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
	*p++ = (uint8_t)rcl;
	*p++ = (uint8_t)wcl;
	if (rcl) {
		p = put(p, e->cid, rcl);
		p = put(p, e->peer_cid, wcl);
		p = put16(p, e->rec.cid_check);
	}
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
	/* RFC 9146 (files written before CIDs have 0 and 0 here) */
	unsigned rcl = p[0], wcl = p[1];
	p += 2;
	if ((rcl && (rcl < EMSE_CID_MIN || rcl > EMSE_CID_MAX || wcl > EMSE_REC_PEER_CID_MAX)) ||
	    (!rcl && wcl) || n < FIXED + cid_bytes(rcl, wcl))
		return -1;
	if (rcl) {
		e->cid_len = (uint8_t)rcl;
		memcpy(e->cid, p, rcl);
		memcpy(e->peer_cid, p + rcl, wcl);
		p += rcl + wcl;
		r->cid_check = get16(p);
		p += 2;
		r->flags = (uint8_t)(EMSE_REC_F_CID | wcl << EMSE_REC_PEER_CID_SHIFT);
	}
	memcpy(&e->id.key_id, p, 4);
	p += 4;
	size_t idl = *p++;
	if (idl > E2M_APP_ID_MAX || n != FIXED + cid_bytes(rcl, wcl) + idl ||
	    (!idl && e->id.key_id))
		return -1; /* no identity is written as key id 0 and no app id */
	e->has_id = idl > 0;
	e->id.app_id_len = (uint8_t)idl;
	memcpy(e->id.app_id, p, idl);
	e->id.app_id[idl] = '\0';
	*used = n;
	return 0;
}

int emse_persist_cid_place(const struct emse_cid_codec *c, unsigned cid_length,
			   unsigned n_workers, uint32_t max_sessions,
			   const struct emse_persist_entry *e, unsigned *worker, uint32_t *slot)
{
	uint32_t check;
	/* another key, node_id or length decodes to junk: its zero bits or check bits differ */
	if (!c || !cid_length || cid_length != e->cid_len ||
	    emse_cid_decode(c, e->cid_len, e->cid, worker, slot, &check) != 0 ||
	    *worker >= n_workers || *slot >= max_sessions || check != e->rec.cid_check)
		return EMSE_PERSIST_D_CID;
	return -1;
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

int emse_persist_fsync_dir(const char *path)
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
	if (emse_persist_fsync_dir(path) != 0) {
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

/* The plaintext body: anonymous memory populated in one call (see emse_persist_read), never
 * swapped out while it holds session keys. */
static uint8_t *body_alloc(size_t n)
{
	void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	mlock(p, n ? n : 1); /* best effort: without CAP_IPC_LOCK the keys may reach swap */
	return p;
}

static void body_free(uint8_t *p, size_t n)
{
	munmap(p, n ? n : 1);
}

void emse_persist_file_free(struct emse_persist_file *f)
{
	if (f->body) {
		e2m_wipe(f->body, f->body_len);
		body_free(f->body, f->body_len);
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
	const uint8_t *map = NULL;
	EVP_CIPHER_CTX *c = NULL;
	if (size < EMSE_PERSIST_HDR + EMSE_PERSIST_TAG) {
		r = EMSE_PERSIST_R_TRUNCATED;
		goto out;
	}
	size_t body = size - EMSE_PERSIST_HDR - EMSE_PERSIST_TAG;
	/* The file is mapped and decrypted straight into a populated anonymous buffer: with 1 M
	 * sessions (157 MB) a read() into malloc'd memory spent most of its time in page faults and
	 * the kernel's copy (0.5 s of system time on a VM), MAP_POPULATE makes them one bulk call. */
	map = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED) {
		map = NULL;
		goto out;
	}
	buf = body_alloc(body);
	if (!buf)
		goto out;
	memcpy(hdr, map, sizeof(hdr));
	memcpy(tag, map + EMSE_PERSIST_HDR + body, sizeof(tag));
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
	/* A failed tag leaves garbage in buf that is wiped below, never parsed. */
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
		if (EVP_DecryptUpdate(c, buf + off, &outl, map + EMSE_PERSIST_HDR + off, (int)n) != 1)
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
		body_free(buf, size - EMSE_PERSIST_HDR - EMSE_PERSIST_TAG);
	}
	if (map)
		munmap((void *)map, size);
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

