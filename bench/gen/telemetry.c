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
	struct timeval tv = { .tv_sec = 2 };
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
