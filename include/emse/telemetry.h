/* Counters out: DPDK telemetry commands (/emse/...) and a Prometheus text endpoint, both fed by
 * one walk over the counters so that the two never disagree on names. */
#ifndef EMSE_TELEMETRY_H
#define EMSE_TELEMETRY_H

#include <stdint.h>
#include "emse/stats.h"

struct emse_runtime;

/* counter: 1 for a monotonic counter, 0 for a gauge. label_key/label_val may be NULL. */
typedef void (*emse_emit_fn)(void *ctx, const char *name, const char *label_key,
			     const char *label_val, uint64_t value, int counter);

void emse_stats_add(struct emse_worker_stats *sum, const struct emse_worker_stats *s);
void emse_stats_walk(const struct emse_worker_stats *s, emse_emit_fn emit, void *ctx);
void emse_stats_total(const struct emse_runtime *rt, struct emse_worker_stats *sum);
/* An emse_emit_fn that adds "name" or "name.label" to a DPDK telemetry dict (ctx). */
void emse_tel_emit_dict(void *ctx, const char *name, const char *label_key, const char *label_val,
			uint64_t value, int counter);

/* Registers /emse/stats, /emse/worker (param: worker id), /emse/keycache, /emse/control. */
int emse_telemetry_register(struct emse_runtime *rt);
/* Main lcore, every loop: lifts an /emse/port/pause older than EMSE_PORT_PAUSE_MAX_S. */
#define EMSE_PORT_PAUSE_MAX_S 10
void emse_port_pause_expire(uint64_t now_tsc);

/* Prometheus: listens on "addr:port" (loopback by default); serve() answers pending requests
 * without blocking and is called from the control-plane loop. */
int emse_prometheus_open(const char *listen);
void emse_prometheus_serve(const struct emse_runtime *rt);
void emse_prometheus_close(void);

#endif
