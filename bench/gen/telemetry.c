/* Reading the server's counters through DPDK's telemetry socket (v2: a SOCK_SEQPACKET unix
 * socket; the server greets with a JSON object, then answers each command with
 * {"<command>": <value>}). Tolerant on purpose: a benchmark without server telemetry is still a
 * benchmark, so every failure is a warning and a NULL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>

#include "gen.h"

#define TEL_BUF (64 * 1024)

void *telemetry_query(const char *path, const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "telemetry: path too long\n");
		return NULL;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "telemetry: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct timeval tv = { .tv_sec = 5 }; /* a loaded 2-core machine answers in seconds */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char *buf = malloc(TEL_BUF);
	json_t *out = NULL;
	ssize_t n = buf ? recv(fd, buf, TEL_BUF - 1, 0) : -1; /* the greeting */
	if (n <= 0 || send(fd, cmd, strlen(cmd), 0) < 0 || (n = recv(fd, buf, TEL_BUF - 1, 0)) <= 0) {
		fprintf(stderr, "telemetry: %s: no answer to %s\n", path, cmd);
		goto done;
	}
	buf[n] = 0;
	json_error_t err;
	json_t *j = json_loads(buf, 0, &err);
	if (!j) {
		fprintf(stderr, "telemetry: answer to %s is not JSON: %s\n", cmd, err.text);
		goto done;
	}
	/* the command name is the key; take its value, else the whole answer */
	const char *name = cmd;
	char base[256];
	const char *comma = strchr(cmd, ',');
	if (comma && (size_t)(comma - cmd) < sizeof(base)) {
		memcpy(base, cmd, (size_t)(comma - cmd));
		base[comma - cmd] = 0;
		name = base;
	}
	json_t *v = json_object_get(j, name);
	if (v && !json_is_null(v)) {
		out = json_incref(v);
		json_decref(j);
	} else {
		out = j;
	}
done:
	free(buf);
	close(fd);
	return out;
}

/* DPDK 22.11's memif unmaps the rings of a peer that leaves from its interrupt thread while the
 * other side may be polling them: emse faulted so in rte_eth_rx_burst when emse-bench closed its
 * port (bench/run-persist.sh). So the server stops polling first. */
int telemetry_server_pause(const char *path)
{
	json_t *r = telemetry_query(path, "/emse/port/pause");
	json_t *paused = r ? json_object_get(r, "paused") : NULL;
	int port = json_integer_value(paused) == 1 ? (int)json_integer_value(json_object_get(r, "port")) : -1;
	json_decref(r);
	if (port < 0)
		fprintf(stderr, "telemetry: the server did not pause its port; closing ours anyway\n");
	return port;
}

/* After our close: the server's memif sees the link go down, then unmaps; give it both before
 * it polls again. Sent even when the pause seemed to fail: its answer may just have been late. */
void telemetry_server_resume(const char *path, int server_port)
{
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "/ethdev/link_status,%d", server_port < 0 ? 0 : server_port);
	bool down = false;
	for (int i = 0; i < 100 && !down; i++) {
		json_t *r = telemetry_query(path, cmd);
		const char *st = r ? json_string_value(json_object_get(r, "status")) : NULL;
		down = st && strcmp(st, "DOWN") == 0;
		json_decref(r);
		if (!down)
			usleep(20000);
	}
	if (!down)
		fprintf(stderr, "telemetry: the server's link did not go down within 2 s\n");
	usleep(200000); /* memif marks the link down before it unmaps */
	json_decref(telemetry_query(path, "/emse/port/resume"));
}
