/* Saving and restoring established compact sessions in the running emse (persist.h,
 * docs/persist.md): triggers, the workers' snapshots, restoring into their tables, counters. The
 * file format is persist_file.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


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
	[EMSE_PERSIST_D_CID] = "cid_mismatch",
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
		if (s->u.rec.flags & EMSE_REC_F_CID) {
			/* the CID the client's records carry: this worker and slot, its check bits */
			e.cid_len = w->rt->cfg->listeners[s->listener].cid_length;
			emse_cid_encode(w->rt->cid, e.cid_len, w->id, i, s->u.rec.cid_check, e.cid);
			memcpy(e.peer_cid, s->peer_cid, sizeof(e.peer_cid));
		}
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

/* Puts one entry into the owning worker's table as an established compact session (a CID
 * session: into the worker and slot of its CID; pos: each worker's free-slot index). */
static int restore_one(struct emse_runtime *rt, struct emse_persist_entry *e, uint64_t now_unix,
		       uint64_t now_tsc, uint32_t *const *pos)
{
	const struct emse_config *c = rt->cfg;
	if (e->listener >= c->n_listeners || c->listeners[e->listener].port != e->flow.local_port ||
	    !emse_addr_eq(&c->listeners[e->listener].addr, &e->flow.local))
		return EMSE_PERSIST_D_LISTENER;
	memcpy(e->flow.local_mac, rt->iface.mac, 6);
	bool cid = e->rec.flags & EMSE_REC_F_CID;
	unsigned wk = emse_flow_owner(&e->flow, rt->n_workers);
	uint32_t slot = 0;
	/* a CID session goes back to the worker and slot its CID names: the client keeps sending it */
	const struct emse_listener_conf *l = &c->listeners[e->listener];
	if (cid && emse_persist_cid_place(rt->cid, l->cid ? l->cid_length : 0, rt->n_workers,
					  c->max_sessions, e, &wk, &slot) >= 0)
		return EMSE_PERSIST_D_CID;
	struct emse_worker *w = rt->workers[wk];
	struct emse_sessions *t = &w->sessions;
	struct emse_session_key k;
	emse_session_key_of(&e->flow, e->listener, &k);
	struct emse_session *o = emse_session_find(t, &k);
	/* Two sessions saved with one address: a CID session that a NAT's port reuse had moved
	 * off it (out of the index, session.h emse_session_detach) and the one that took it.
	 * Entries come in LRU order, so the later one is the address's holder; the CID one
	 * yields the index and stays reachable by its CID. */
	if (o && o->state == EMSE_S_ESTABLISHED && (o->u.rec.flags & EMSE_REC_F_CID))
		emse_session_detach(t, o);
	else if (o)
		return EMSE_PERSIST_D_DUPLICATE;
	bool src_full;
	struct emse_session *s = cid ? emse_session_new_at(t, &k, 0, slot, pos[wk], &src_full)
				     : emse_session_new(t, &k, 0, &src_full);
	if (!s)
		return cid && !src_full && t->n_free ? EMSE_PERSIST_D_CID : EMSE_PERSIST_D_FULL;
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
	s->u.rec.flags = (uint8_t)(e->rec.flags & (EMSE_REC_F_CID | EMSE_REC_F_PEER_CID));
	s->u.rec.flight = 0;
	s->u.rec.kslot = 0;
	if (cid) {
		memcpy(s->peer_cid, e->peer_cid, sizeof(s->peer_cid));
		w->stats.cid_sessions++;
	}
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
	if (unlink(path) != 0 || emse_persist_fsync_dir(path) != 0) {
		fprintf(stderr, "emse: persist: %s cannot be removed (%s); not restoring from it\n",
			path, strerror(errno));
		emse_persist_file_free(&f);
		return;
	}
	for (unsigned i = 0; i < rt->n_workers; i++)
		emse_sessions_populate(&rt->workers[i]->sessions,
				       f.count < UINT32_MAX ? (uint32_t)f.count : UINT32_MAX);
	struct emse_persist_entry e;
	uint64_t restored = 0;
	/* CID sessions first, each into the slot its CID names, before the others take free slots;
	 * the slots are found through an index of each worker's free stack (NULL without memory:
	 * found by a scan) */
	uint32_t *pos[EMSE_MAX_WORKERS] = {NULL};
	for (unsigned i = 0; rt->cid && i < rt->n_workers; i++)
		if ((pos[i] = malloc(sizeof(uint32_t) * rt->workers[i]->sessions.max)))
			emse_sessions_free_pos(&rt->workers[i]->sessions, pos[i]);
	for (int pass = 0; pass < 2; pass++) {
			size_t off = 0;
		while (emse_persist_next(&f, &off, &e) == 1) {
			if ((e.rec.flags & EMSE_REC_F_CID) ? pass : !pass)
				continue;
			int why = emse_persist_admit(&e, now, c->persist_max_age_s);
			if (why < 0)
				why = restore_one(rt, &e, now, now_tsc, pos);
			if (why < 0)
				restored++;
			else
				emse_persist_stats.dropped[why]++;
		}
	}
	for (unsigned i = 0; i < rt->n_workers; i++)
		free(pos[i]);
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
