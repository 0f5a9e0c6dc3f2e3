#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_telemetry.h>

#include "emse/control_plane.h"
#include "emse/persist.h"
#include "emse/telemetry.h"
#include "emse/worker.h"

/* Telemetry callbacks take no context pointer: the one runtime of the process. */
static struct emse_runtime *g_rt; /* written only through port_pause */

void emse_stats_total(const struct emse_runtime *rt, struct emse_worker_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < rt->n_workers; i++)
		if (rt->workers[i])
			emse_stats_add(sum, &rt->workers[i]->stats);
}

void emse_tel_emit_dict(void *ctx, const char *name, const char *lk, const char *lv, uint64_t v,
		      int counter)
{
	char key[RTE_TEL_MAX_STRING_LEN];
	(void)counter;
	if (lk) {
		/* DPDK refuses (-EINVAL) a dict key with anything but [A-Za-z0-9_/]: a labelled
		 * counter is "name/label", the label's other characters made '_'. */
		int n = snprintf(key, sizeof(key), "%s/%s", name, lv);
		for (size_t i = strlen(name) + 1; n > 0 && i < sizeof(key) && key[i]; i++)
			if (!isalnum((unsigned char)key[i]) && key[i] != '_')
				key[i] = '_';
	} else {
		snprintf(key, sizeof(key), "%s", name);
	}
	rte_tel_data_add_dict_u64(ctx, key, v);
}

static void add_derived(struct rte_tel_data *d, const struct emse_worker_stats *s, unsigned n)
{
	rte_tel_data_add_dict_u64(d, "workers", n);
	rte_tel_data_add_dict_u64(d, "tsc_hz", rte_get_tsc_hz());
	/* Handshakes per busy core-second: what the benchmark reports, from busy_ns (stats.h). */
	double busy_s = (double)s->busy_ns / 1e9;
	rte_tel_data_add_dict_u64(d, "busy_us", (uint64_t)(busy_s * 1e6));
	rte_tel_data_add_dict_u64(d, "hs_per_busy_core_s",
				  busy_s > 0 ? (uint64_t)((double)s->hs_completed / busy_s) : 0);
	rte_tel_data_add_dict_u64(d, "records_per_busy_core_s",
				  busy_s > 0 ? (uint64_t)((double)s->rec_opened / busy_s) : 0);
}

static int cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct emse_worker_stats sum;
	(void)cmd, (void)params;
	emse_stats_total(g_rt, &sum);
	rte_tel_data_start_dict(d);
	emse_stats_walk(&sum, emse_tel_emit_dict, d);
	add_derived(d, &sum, g_rt->n_workers);
	return 0;
}

static int cmd_worker(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	if (!params || !*params)
		return -1;
	char *end;
	unsigned long id = strtoul(params, &end, 10);
	if (*end || id >= g_rt->n_workers)
		return -1;
	const struct emse_worker_stats *s = &g_rt->workers[id]->stats;
	rte_tel_data_start_dict(d);
	emse_stats_walk(s, emse_tel_emit_dict, d);
	add_derived(d, s, 1);
	return 0;
}

/* The control plane's counters (key cache, fetches, EMKS errors), from its snapshot: this runs on
 * the telemetry thread, not the control thread. */
static int cmd_control(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static struct emse_control_stats cs;
	(void)cmd, (void)params;
	emse_control_stats_snapshot(g_rt->control, &cs);
	rte_tel_data_start_dict(d);
	emse_control_stats_walk(&cs, emse_tel_emit_dict, d);
	return 0;
}

/* [keys] translate = emse: the control thread reads imsi_map again and swaps it in; sessions and
 * cached keys stay. Answers {"ok": 0|1, "entries": N, "error": "file:line: ..."}. */
static int cmd_imsi_map_reload(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char err[512] = "";
	uint64_t entries = 0;
	(void)cmd, (void)params;
	int rc = emse_control_imsi_map_reload(g_rt->control, 5000, &entries, err, sizeof(err));
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "ok", rc == 0);
	if (rc == 0)
		rte_tel_data_add_dict_u64(d, "entries", entries);
	else
		rte_tel_data_add_dict_string(d, "error", err);
	return 0;
}

/* /emse/port/pause: every worker keeps off the port (no rx or tx burst) until /emse/port/resume.
 * For a memif peer that is about to leave (emse-bench does this before it closes its port):
 * DPDK 22.11's memif unmaps a departing peer's rings under a polling worker (worker.c). Answers
 * {"paused": 1, "port": id} once every worker has stopped, or {"paused": 0} if one had not
 * within 1 s, and then the pause is lifted again. A pause nobody lifts ends by itself after
 * EMSE_PORT_PAUSE_MAX_S (emse_port_pause_expire): a peer that dies in between must not leave
 * the dataplane stopped. */
static uint64_t pause_since; /* tsc; 0: not paused. Set here, cleared by the main lcore. */

static int cmd_port_pause(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd, (void)params;
	__atomic_store_n(&pause_since, rte_get_tsc_cycles(), __ATOMIC_SEQ_CST);
	__atomic_store_n(&g_rt->port_pause, true, __ATOMIC_SEQ_CST);
	bool all = false;
	for (int t = 0; t < 10000 && !all; t++) {
		all = true;
		for (unsigned i = 0; i < g_rt->n_workers; i++)
			if (!__atomic_load_n(&g_rt->workers[i]->port_idle, __ATOMIC_SEQ_CST))
				all = false;
		if (!all)
			usleep(100);
	}
	if (!all) {
		__atomic_store_n(&g_rt->port_pause, false, __ATOMIC_SEQ_CST);
		__atomic_store_n(&pause_since, 0, __ATOMIC_SEQ_CST);
	}
	printf("emse: port %u %s (telemetry /emse/port/pause)\n", g_rt->cfg->port_id,
	       all ? "paused" : "not paused: a worker did not stop within 1 s");
	fflush(stdout);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "paused", all);
	rte_tel_data_add_dict_u64(d, "port", g_rt->cfg->port_id);
	return 0;
}

static int cmd_port_resume(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd, (void)params;
	bool was = __atomic_exchange_n(&g_rt->port_pause, false, __ATOMIC_SEQ_CST);
	__atomic_store_n(&pause_since, 0, __ATOMIC_SEQ_CST);
	if (was) {
		printf("emse: port %u resumed (telemetry /emse/port/resume)\n", g_rt->cfg->port_id);
		fflush(stdout);
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "paused", 0);
	rte_tel_data_add_dict_u64(d, "was_paused", was);
	return 0;
}

void emse_port_pause_expire(uint64_t now)
{
	uint64_t since = __atomic_load_n(&pause_since, __ATOMIC_SEQ_CST);
	if (!since || !__atomic_load_n(&g_rt->port_pause, __ATOMIC_SEQ_CST) ||
	    now - since < EMSE_PORT_PAUSE_MAX_S * rte_get_tsc_hz())
		return;
	__atomic_store_n(&g_rt->port_pause, false, __ATOMIC_SEQ_CST);
	__atomic_store_n(&pause_since, 0, __ATOMIC_SEQ_CST);
	printf("emse: port %u resumed: nobody lifted /emse/port/pause within %d s\n",
	       g_rt->cfg->port_id, EMSE_PORT_PAUSE_MAX_S);
	fflush(stdout);
}

int emse_telemetry_register(struct emse_runtime *rt)
{
	g_rt = rt;
	if (rte_telemetry_register_cmd("/emse/stats", cmd_stats,
				       "emse counters summed over workers. No parameters") ||
	    rte_telemetry_register_cmd("/emse/worker", cmd_worker,
				       "emse counters of one worker. Parameters: int worker_id") ||
	    rte_telemetry_register_cmd("/emse/control", cmd_control,
				       "key cache, key fetches, EMKS errors. No parameters") ||
	    rte_telemetry_register_cmd("/emse/imsi_map/reload", cmd_imsi_map_reload,
				       "re-read [keys] imsi_map (translate = emse). No parameters") ||
	    rte_telemetry_register_cmd("/emse/port/pause", cmd_port_pause,
				       "workers stop polling the port until /emse/port/resume") ||
	    rte_telemetry_register_cmd("/emse/port/resume", cmd_port_resume,
				       "lifts /emse/port/pause"))
		return -1;
	return 0;
}

/* ---- Prometheus ------------------------------------------------------------------------------- */

static int prom_fd = -1;

int emse_prometheus_open(const char *listen_at)
{
	char host[64];
	const char *colon = strrchr(listen_at, ':');
	if (!colon || colon == listen_at || (size_t)(colon - listen_at) >= sizeof(host))
		return -1;
	memcpy(host, listen_at, (size_t)(colon - listen_at));
	host[colon - listen_at] = '\0';
	int port = atoi(colon + 1);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	prom_fd = fd;
	return 0;
}

struct prom_buf {
	char *p;
	size_t len, cap;
	const char *worker;
};

static void prom_emit(void *ctx, const char *name, const char *lk, const char *lv, uint64_t v,
		      int counter)
{
	struct prom_buf *b = ctx;
	if (b->len + 256 > b->cap)
		return;
	int n;
	if (lk)
		n = snprintf(b->p + b->len, b->cap - b->len, "emse_%s%s{worker=\"%s\",%s=\"%s\"} %lu\n",
			     name, counter ? "_total" : "", b->worker, lk, lv, (unsigned long)v);
	else
		n = snprintf(b->p + b->len, b->cap - b->len, "emse_%s%s{worker=\"%s\"} %lu\n", name,
			     counter ? "_total" : "", b->worker, (unsigned long)v);
	if (n > 0)
		b->len += (size_t)n;
}

static void prom_emit_plain(void *ctx, const char *name, const char *lk, const char *lv,
			    uint64_t v, int counter)
{
	struct prom_buf *b = ctx;
	if (b->len + 256 > b->cap)
		return;
	int n = lk ? snprintf(b->p + b->len, b->cap - b->len, "emse_%s%s{%s=\"%s\"} %lu\n", name,
			      counter ? "_total" : "", lk, lv, (unsigned long)v)
		   : snprintf(b->p + b->len, b->cap - b->len, "emse_%s%s %lu\n", name,
			      counter ? "_total" : "", (unsigned long)v);
	if (n > 0)
		b->len += (size_t)n;
}

void emse_prometheus_serve(const struct emse_runtime *rt)
{
	if (prom_fd < 0)
		return;
	int c = accept4(prom_fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	/* The scraper's request is read (and ignored: every path gets the metrics) with a short
	 * wait, so a slow client cannot hold the control plane. */
	struct pollfd pf = { .fd = c, .events = POLLIN };
	char req[1024];
	if (poll(&pf, 1, 50) > 0 && read(c, req, sizeof(req)) < 0) {
		close(c);
		return;
	}
	static char body[256 * 1024];
	struct prom_buf b = { .p = body, .cap = sizeof(body) };
	for (unsigned i = 0; i < rt->n_workers; i++) {
		char wid[16];
		snprintf(wid, sizeof(wid), "%u", i);
		b.worker = wid;
		emse_stats_walk(&rt->workers[i]->stats, prom_emit, &b);
	}
	/* the control plane's counters carry their own labels (emse_id, status, kind) */
	static struct emse_control_stats cs;
	emse_control_stats(rt->control, &cs);
	emse_control_stats_walk(&cs, prom_emit_plain, &b);
	emse_persist_stats_walk(&emse_persist_stats, prom_emit_plain, &b);
	char hdr[160];
	int hl = snprintf(hdr, sizeof(hdr),
			  "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n", b.len);
	if (write(c, hdr, (size_t)hl) == hl) {
		size_t off = 0;
		while (off < b.len) {
			ssize_t w = write(c, body + off, b.len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	close(c);
}

void emse_prometheus_close(void)
{
	if (prom_fd >= 0)
		close(prom_fd);
	prom_fd = -1;
}
