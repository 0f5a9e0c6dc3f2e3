/* proxy-v2-sink: the backend of the forward-mode end-to-end test. A UDP server that parses each
 * datagram's PROXY protocol v2 header with its own parser (written from haproxy's
 * proxy-protocol.txt section 2.2, sharing nothing with dataplane/net/proxy_v2.c, so a bug there is not
 * mirrored here), prints one line per datagram on stdout and answers the sender with
 * "ACK:" + payload. A datagram whose header does not parse gets a "BAD ..." line and no answer.
 *
 *   proxy-v2-sink --listen ADDR:PORT [--count N]      ADDR: IPv4, or [IPv6]
 *
 * Lines (fields separated by one space; strings escaped as \xNN outside printable ASCII and for
 * '"' and '\'):
 *   PROXY DGRAM from=<sender> src=<addr>:<port> dst=<addr>:<port> tlv=e0:"<app id>"
 *     tlv=e1:<key id, 8 hex digits> ... len=<payload bytes> payload="<payload>"
 *   LOCAL from=<sender> len=<n> payload="<payload>"
 *   BAD <reason> from=<sender> len=<datagram bytes>
 * Other TLVs print as tlv=<type>:<hex>. IPv6 addresses print in brackets. Exits after N datagrams
 * (all, good or bad) when --count is given; "READY <addr>:<port>" goes to stderr once bound. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const unsigned char SIG[12] = "\r\n\r\n\0\r\nQUIT\n";

static void usage(void)
{
	fprintf(stderr, "usage: proxy-v2-sink --listen ADDR:PORT [--count N]\n");
	exit(2);
}

static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[64];
	const char *colon;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = 0;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = 0;
	}
	char *e;
	long port = strtol(colon + 1, &e, 10);
	if (*e || port < 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*a6);
	} else {
		return -1;
	}
	return 0;
}

static void sockaddr_str(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char a[INET6_ADDRSTRLEN];
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(out, n, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(out, n, "%s:%u", a, ntohs(s4->sin_port));
	}
}

static void print_escaped(const unsigned char *p, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	}
	putchar('"');
}

static unsigned rd16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Prints the address block; returns 0, or -1 with *why set. */
static int print_addrs(int af, const unsigned char *p)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	if (af == 1) {
		inet_ntop(AF_INET, p, a, sizeof(a));
		inet_ntop(AF_INET, p + 4, b, sizeof(b));
		printf(" src=%s:%u dst=%s:%u", a, rd16(p + 8), b, rd16(p + 10));
	} else {
		inet_ntop(AF_INET6, p, a, sizeof(a));
		inet_ntop(AF_INET6, p + 16, b, sizeof(b));
		printf(" src=[%s]:%u dst=[%s]:%u", a, rd16(p + 32), b, rd16(p + 34));
	}
	return 0;
}

/* Checks the whole header before printing anything; returns the payload offset or -1. */
static long check(const unsigned char *d, size_t n, const char **why)
{
	if (n < 16) {
		*why = "short";
		return -1;
	}
	if (memcmp(d, SIG, 12) != 0) {
		*why = "signature";
		return -1;
	}
	if ((d[12] >> 4) != 2) {
		*why = "version";
		return -1;
	}
	unsigned cmd = d[12] & 0x0f;
	if (cmd > 1) {
		*why = "command";
		return -1;
	}
	size_t len = rd16(d + 14);
	if (16 + len > n) {
		*why = "length";
		return -1;
	}
	if (cmd == 0)
		return (long)(16 + len);
	unsigned af = d[13] >> 4, proto = d[13] & 0x0f;
	size_t alen = af == 1 ? 12 : af == 2 ? 36 : 0;
	if (!alen || proto != 2) {
		*why = "family";
		return -1;
	}
	if (len < alen) {
		*why = "address_length";
		return -1;
	}
	for (size_t i = 16 + alen; i < 16 + len;) {
		if (16 + len - i < 3 || rd16(d + i + 1) > 16 + len - i - 3) {
			*why = "tlv";
			return -1;
		}
		i += 3 + rd16(d + i + 1);
	}
	return (long)(16 + len);
}

int main(int argc, char **argv)
{
	const char *listen_at = NULL;
	long count = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			listen_at = argv[++i];
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = atol(argv[++i]);
		else
			usage();
	}
	struct sockaddr_storage ls;
	socklen_t lsl;
	if (!listen_at || parse_listen(listen_at, &ls, &lsl) != 0)
		usage();
	int fd = socket(ls.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ls, lsl) != 0) {
		fprintf(stderr, "proxy-v2-sink: %s: %s\n", listen_at, strerror(errno));
		return 1;
	}
	lsl = sizeof(ls);
	getsockname(fd, (struct sockaddr *)&ls, &lsl);
	char self[80];
	sockaddr_str(&ls, self, sizeof(self));
	setvbuf(stdout, NULL, _IOLBF, 0);
	fprintf(stderr, "READY %s\n", self);

	static unsigned char d[65536], reply[65536 + 4];
	for (long seen = 0; count < 0 || seen < count; seen++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(fd, d, sizeof(d), 0, (struct sockaddr *)&from, &fl);
		if (r < 0) {
			if (errno == EINTR) {
				seen--;
				continue;
			}
			perror("proxy-v2-sink: recvfrom");
			return 1;
		}
		char fs[80];
		sockaddr_str(&from, fs, sizeof(fs));
		const char *why = NULL;
		long off = check(d, (size_t)r, &why);
		if (off < 0) {
			printf("BAD %s from=%s len=%zd\n", why, fs, r);
			continue;
		}
		size_t plen = (size_t)r - (size_t)off;
		if ((d[12] & 0x0f) == 0) {
			printf("LOCAL from=%s", fs);
		} else {
			unsigned af = d[13] >> 4;
			size_t alen = af == 1 ? 12 : 36, len = rd16(d + 14);
			printf("PROXY DGRAM from=%s", fs);
			print_addrs((int)af, d + 16);
			for (size_t i = 16 + alen; i < 16 + len; i += 3 + rd16(d + i + 1)) {
				unsigned t = d[i], vl = rd16(d + i + 1);
				const unsigned char *v = d + i + 3;
				printf(" tlv=%02x:", t);
				if (t == 0xe0) {
					print_escaped(v, vl);
				} else {
					for (unsigned k = 0; k < vl; k++)
						printf("%02x", v[k]);
				}
			}
		}
		printf(" len=%zu payload=", plen);
		print_escaped(d + off, plen);
		putchar('\n');
		memcpy(reply, "ACK:", 4);
		memcpy(reply + 4, d + off, plen);
		if (sendto(fd, reply, plen + 4, 0, (struct sockaddr *)&from, fl) < 0)
			perror("proxy-v2-sink: sendto");
	}
	close(fd);
	return 0;
}
