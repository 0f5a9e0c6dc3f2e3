/* The DPDK port: one RX and one TX queue per worker, each RX queue filled from its worker's own
 * mbuf pool. RSS on the UDP 4-tuple where the port offers it; software steering (worker.c) keeps
 * a UE on one worker either way. */
#ifndef EMSE_PORT_H
#define EMSE_PORT_H

#include <stdint.h>

struct emse_runtime;

/* Configures and starts the port; fills rt->iface.mac. Returns 0, or -1 with a message in err. */
int emse_port_start(struct emse_runtime *rt, char *err, size_t err_size);
/* Stops and closes the port; only after every worker stopped polling it. */
void emse_port_stop(const struct emse_runtime *rt);

#endif
