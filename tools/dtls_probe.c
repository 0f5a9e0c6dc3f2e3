/* dtls-probe: hostile and half-finished DTLS clients for tests, from a kernel network namespace.
 *   dtls-probe spoof --ifname IF --dst-mac MAC --dst IP --port P --count N [--src-net A.B.0.0]
 *       N ClientHellos without cookie, each from a random source address and port (raw frames),
 *       as a reflection/flood attacker would send them.
 *   dtls-probe half-open --dst IP --port P [--count N] [--src IP]
 *       completes the cookie exchange (ClientHello, HelloVerifyRequest, ClientHello with cookie),
 *       waits for the server's first flight, then goes silent: a handshake left half-finished.
 * Prints one line of results; exit 0 when every step it did got the expected answer. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

/* A DTLS 1.2 ClientHello offering the PSK suites emse serves; cookie may be empty. */
static size_t client_hello(uint8_t *out, uint16_t record_seq, uint16_t msg_seq,
			   const uint8_t *cookie, uint8_t cookie_len, const uint8_t random[32])
{
	static const uint8_t suites[] = { 0xc0, 0xa8, 0x00, 0xa8, 0x00, 0xae };
	uint8_t *b = out + 13 + 12;
	size_t n = 0;
	b[n++] = 0xfe, b[n++] = 0xfd;
	memcpy(b + n, random, 32), n += 32;
	b[n++] = 0; /* session id */
	b[n++] = cookie_len;
	if (cookie_len)
		memcpy(b + n, cookie, cookie_len);
	n += cookie_len;
	b[n++] = 0, b[n++] = sizeof(suites);
	memcpy(b + n, suites, sizeof(suites)), n += sizeof(suites);
	b[n++] = 1, b[n++] = 0; /* null compression */
	uint8_t *h = out + 13;
	h[0] = 1;
	h[1] = 0, h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)n;
	h[4] = (uint8_t)(msg_seq >> 8), h[5] = (uint8_t)msg_seq;
	h[6] = h[7] = h[8] = 0;
	h[9] = 0, h[10] = (uint8_t)(n >> 8), h[11] = (uint8_t)n;
	size_t frag = n + 12;
	uint8_t *r = out;
	r[0] = 22, r[1] = 0xfe, r[2] = 0xff;
	memset(r + 3, 0, 8);
	r[9] = (uint8_t)(record_seq >> 8), r[10] = (uint8_t)record_seq;
	r[11] = (uint8_t)(frag >> 8), r[12] = (uint8_t)frag;
	return 13 + frag;
}

static uint16_t csum(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		      &mac[4], &mac[5]) == 6 ? 0 : -1;
}

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "dtls-probe: %s\n", msg);
	fprintf(msg ? stderr : stdout,
		"usage: dtls-probe spoof --ifname IF --dst-mac MAC --dst IPv4 --port P --count N\n"
		"       dtls-probe half-open --dst IP --port P [--count N] [--src IP]\n");
	return msg ? 2 : 0;
}

static int spoof(const char *ifname, const uint8_t dmac[6], struct in_addr dst, uint16_t port,
		 unsigned count, struct in_addr net)
{
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
	if (fd < 0) {
		perror("dtls-probe: AF_PACKET socket");
		return 1;
	}
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	unsigned idx = if_nametoindex(ifname);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (!idx || s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
		fprintf(stderr, "dtls-probe: --ifname %s: no such interface\n", ifname);
		return 2;
	}
	close(s);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = (int)idx, .sll_halen = 6 };
	memcpy(sll.sll_addr, dmac, 6);
	unsigned sent = 0;
	for (unsigned i = 0; i < count; i++) {
		uint8_t f[512], random[32];
		for (int k = 0; k < 32; k++)
			random[k] = (uint8_t)rnd();
		uint8_t *eth = f, *ip = f + 14, *udp = ip + 20, *pl = udp + 8;
		size_t n = client_hello(pl, 0, 0, NULL, 0, random);
		memcpy(eth, dmac, 6);
		memcpy(eth + 6, ifr.ifr_hwaddr.sa_data, 6);
		eth[12] = 0x08, eth[13] = 0x00;
		uint32_t src = ntohl(net.s_addr) | (rnd() & 0x7fff) | 0x8000; /* upper half of the /16 */
		uint16_t sport = (uint16_t)(1024 + rnd() % 60000);
		size_t ulen = 8 + n, tlen = 20 + ulen;
		memset(ip, 0, 20);
		ip[0] = 0x45, ip[2] = (uint8_t)(tlen >> 8), ip[3] = (uint8_t)tlen;
		ip[6] = 0x40, ip[8] = 64, ip[9] = 17;
		uint32_t s_be = htonl(src);
		memcpy(ip + 12, &s_be, 4);
		memcpy(ip + 16, &dst.s_addr, 4);
		uint16_t c = csum(ip, 20, 0);
		ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
		udp[0] = (uint8_t)(sport >> 8), udp[1] = (uint8_t)sport;
		udp[2] = (uint8_t)(port >> 8), udp[3] = (uint8_t)port;
		udp[4] = (uint8_t)(ulen >> 8), udp[5] = (uint8_t)ulen;
		udp[6] = udp[7] = 0;
		uint32_t ph = 0;
		for (int k = 0; k < 8; k += 2)
			ph += (uint32_t)(ip[12 + k] << 8 | ip[13 + k]);
		ph += 17 + (uint32_t)ulen;
		c = csum(udp, ulen, ph);
		if (!c)
			c = 0xffff;
		udp[6] = (uint8_t)(c >> 8), udp[7] = (uint8_t)c;
		if (sendto(fd, f, 14 + tlen, 0, (struct sockaddr *)&sll, sizeof(sll)) == (ssize_t)(14 + tlen))
			sent++;
		if ((i & 63) == 63)
			usleep(2000); /* the TAP's kernel side drops bursts beyond its queue */
	}
	close(fd);
	printf("spoof: sent %u of %u ClientHellos\n", sent, count);
	return sent == count ? 0 : 1;
}

static ssize_t recv_wait(int fd, uint8_t *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, ms) <= 0)
		return -1;
	return recv(fd, buf, len, 0);
}

static int half_open(const char *dst, const char *src, uint16_t port, unsigned count)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, dst, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET, s4->sin_port = htons(port), sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, dst, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6, s6->sin6_port = htons(port), sl = sizeof(*s6);
	} else {
		return usage("--dst: not an IP address");
	}
	unsigned ok = 0;
	for (unsigned i = 0; i < count; i++) {
		int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
		if (fd >= 0 && src) {
			struct sockaddr_storage bs = { 0 };
			struct sockaddr_in *b4 = (struct sockaddr_in *)&bs;
			struct sockaddr_in6 *b6 = (struct sockaddr_in6 *)&bs;
			int ok = ss.ss_family == AF_INET
					 ? inet_pton(AF_INET, src, &b4->sin_addr) == 1
					 : inet_pton(AF_INET6, src, &b6->sin6_addr) == 1;
			bs.ss_family = ss.ss_family;
			if (!ok || bind(fd, (struct sockaddr *)&bs, sl) < 0) {
				fprintf(stderr, "dtls-probe: --src %s: cannot bind\n", src);
				return 2;
			}
		}
		if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
			perror("dtls-probe: socket");
			return 1;
		}
		uint8_t random[32], out[512], in[2048];
		for (int k = 0; k < 32; k++)
			random[k] = (uint8_t)rnd();
		size_t n = client_hello(out, 0, 0, NULL, 0, random);
		ssize_t r = -1;
		for (int t = 0; t < 3 && r < 0; t++) {
			if (send(fd, out, n, 0) < 0)
				break;
			r = recv_wait(fd, in, sizeof(in), 1000);
		}
		/* HelloVerifyRequest: record(13) hs(12) version(2) cookie_len(1) cookie */
		if (r < 28 || in[0] != 22 || in[13] != 3 || in[27] > 32 || 28 + in[27] > r) {
			close(fd);
			continue;
		}
		uint8_t cookie[32], cl = in[27];
		memcpy(cookie, in + 28, cl);
		n = client_hello(out, 1, 1, cookie, cl, random);
		if (send(fd, out, n, 0) < 0 || (r = recv_wait(fd, in, sizeof(in), 1000)) < 26) {
			close(fd);
			continue;
		}
		if (in[0] == 22 && in[13] == 2) /* ServerHello */
			ok++;
		close(fd); /* and never send the ClientKeyExchange */
	}
	printf("half-open: %u of %u handshakes left after the server's first flight\n", ok, count);
	return ok == count ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ifname", required_argument, NULL, 'i' }, { "dst-mac", required_argument, NULL, 'm' },
		{ "dst", required_argument, NULL, 'd' },    { "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },  { "src-net", required_argument, NULL, 's' },
		{ "src", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },         { 0 },
	};
	if (argc < 2)
		return usage("missing mode (spoof or half-open)");
	const char *mode = argv[1];
	const char *ifname = NULL, *dst = NULL, *srcnet = "198.19.0.0", *src = NULL;
	uint8_t dmac[6];
	int have_mac = 0;
	long port = 0, count = 1;
	int o;
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'i': ifname = optarg; break;
		case 'm':
			if (parse_mac(optarg, dmac))
				return usage("--dst-mac: expected aa:bb:cc:dd:ee:ff");
			have_mac = 1;
			break;
		case 'd': dst = optarg; break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 's': srcnet = optarg; break;
		case 'S': src = optarg; break;
		case 'h': return usage(NULL);
		default: return usage("unknown option");
		}
	}
	if (port < 1 || port > 65535)
		return usage("--port: expected 1..65535");
	if (count < 1 || count > 10000000)
		return usage("--count: expected 1..10000000");
	if (!dst)
		return usage("--dst: missing");
	rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
	if (!strcmp(mode, "spoof")) {
		struct in_addr d, net;
		if (!ifname)
			return usage("--ifname: missing");
		if (!have_mac)
			return usage("--dst-mac: missing");
		if (inet_pton(AF_INET, dst, &d) != 1)
			return usage("--dst: spoof mode takes an IPv4 address");
		if (inet_pton(AF_INET, srcnet, &net) != 1)
			return usage("--src-net: not an IPv4 address");
		net.s_addr &= htonl(0xffff0000);
		return spoof(ifname, dmac, d, (uint16_t)port, (unsigned)count, net);
	}
	if (!strcmp(mode, "half-open"))
		return half_open(dst, src, (uint16_t)port, (unsigned)count);
	return usage("mode must be spoof or half-open");
}
