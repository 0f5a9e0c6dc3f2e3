/* pcap-craft: captures of hostile and odd frames for emse's replay mode, and small pcap chores.
 *
 *   pcap-craft hostile OUT.pcap [--labels FILE] [--class NAME]... [--flood N] [--mac MAC]
 *       writes one frame (or a few) per class of hostile/odd input towards 198.18.0.1:5684 and
 *       [2001:db8::1]:5684, Ethernet to MAC (default 02:00:5e:00:00:01), fixed timestamps from
 *       2026-01-01 00:00:00 one millisecond apart, so the file is byte-for-byte reproducible.
 *       Without --class every class is written; --flood N (default 100) spoofed ClientHellos in
 *       the class "flood". The labels file has one line per frame: index, class, and the
 *       counter emse is expected to move for it (e.g. net_drop:ip_options).
 *   pcap-craft classes
 *       lists the classes with what each frame is and the counter expected for it (the flood
 *       shown with 2 frames).
 *   pcap-craft list FILE [--filter BPF]
 *       one line per frame: index, time, source > destination, what it is (arp-request,
 *       icmp-echo-reply, dtls:hello_verify_request, dtls:app_data+alert, ...).
 *   pcap-craft info FILE
 *       the link type and the number of frames ("EN10MB 153").
 *   pcap-craft dup IN OUT --filter BPF [--times K]
 *       copies IN to OUT with each frame matching BPF followed by K (default 1) copies of it.
 *   pcap-craft inject IFACE FILE [--filter BPF] [--gap-us U]
 *       sends the frames of FILE (matching BPF) out of IFACE, U microseconds apart (default 1000).
 *   pcap-craft mutate IN OUT --filter BPF [--seq-add N] [--bad-udp-csum]
 *       writes only the frames matching BPF (UDP over IPv4 or IPv6, a DTLS record first in the
 *       datagram), each with the record's sequence number moved by N (a forged record: its AAD
 *       no longer matches its tag) and its UDP checksum recomputed, or with --bad-udp-csum made
 *       wrong (0x5555 off; the datagram otherwise intact).
 * Exit status: 0 done, 1 an I/O or libpcap failure, 2 usage. */
#include <arpa/inet.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0_SEC 1767225600u /* 2026-01-01T00:00:00Z */
#define LISTEN_PORT 5684
#define MAX_FRAME 2048

static uint8_t emse_mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t client_mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x02 };
static const uint8_t emse_ip4[4] = { 198, 18, 0, 1 };
static const uint8_t client_ip4[4] = { 198, 18, 0, 2 };
static const uint8_t emse_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t client_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

/* ---- output ----------------------------------------------------------------------------------- */

struct out {
	pcap_dumper_t *d;
	FILE *labels;
	unsigned n;
	const char *cls;
	bool listing; /* `classes`: "  frame N: counter" lines */
};

static void emit(struct out *o, const uint8_t *f, size_t len, const char *expect)
{
	struct pcap_pkthdr h = { .caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len };
	h.ts.tv_sec = (time_t)(T0_SEC + o->n / 1000);
	h.ts.tv_usec = (suseconds_t)(o->n % 1000 * 1000);
	pcap_dump((u_char *)o->d, &h, f);
	o->n++;
	if (o->labels && o->listing)
		fprintf(o->labels, "    frame %u: %s\n", o->n, expect);
	else if (o->labels)
		fprintf(o->labels, "%u %s %s\n", o->n, o->cls, expect);
}

/* ---- frame builders --------------------------------------------------------------------------- */

static void wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned rd16(const uint8_t *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

static void wr24(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *b, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, unsigned type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	wr16(f + 12, type);
	return 14;
}

/* How an IPv4 packet is to be spoilt. */
struct ip4opt {
	unsigned optlen;    /* bytes of options (multiple of 4) */
	unsigned frag;      /* flags + offset field, e.g. 0x2000 = MF */
	bool bad_ip_csum;
	bool bad_l4_csum;
	int tot_delta;      /* added to the total length field */
	int udp_len_delta;  /* added to the UDP length field */
	unsigned ihl;       /* if nonzero, the IHL field as is */
};

/* IPv4 + L4 (UDP: header built from ports; ICMP/other: l4 given whole) at f + 14. */
static size_t ip4(uint8_t *f, const uint8_t src[4], const uint8_t dst[4], unsigned proto,
		  unsigned sport, unsigned dport, const uint8_t *pl, size_t plen,
		  const struct ip4opt *o)
{
	static const struct ip4opt none;
	if (!o)
		o = &none;
	uint8_t *ip = f + 14;
	unsigned hl = 20 + o->optlen;
	memset(ip, 0, hl);
	ip[0] = (uint8_t)(0x40 | (o->ihl ? o->ihl : hl / 4));
	if (o->optlen) { /* router alert (RFC 2113), then end-of-options padding */
		ip[20] = 0x94, ip[21] = 4;
	}
	uint8_t *l4 = ip + hl;
	size_t l4len;
	if (proto == 17) {
		l4len = 8 + plen;
		wr16(l4, sport);
		wr16(l4 + 2, dport);
		wr16(l4 + 4, (unsigned)((int)l4len + o->udp_len_delta));
		wr16(l4 + 6, 0);
		memcpy(l4 + 8, pl, plen);
		uint32_t ph = sum16(src, 4, 0);
		ph = sum16(dst, 4, ph);
		ph += 17 + (uint32_t)l4len;
		uint16_t c = fold(sum16(l4, l4len, ph));
		if (!c)
			c = 0xffff;
		if (o->bad_l4_csum)
			c ^= 0x5555;
		wr16(l4 + 6, c);
	} else {
		l4len = plen;
		memcpy(l4, pl, plen);
		if (proto == 1) {
			wr16(l4 + 2, 0);
			uint16_t c = fold(sum16(l4, l4len, 0));
			wr16(l4 + 2, o->bad_l4_csum ? c ^ 0x5555 : c);
		}
	}
	wr16(ip + 2, (unsigned)((int)(hl + l4len) + o->tot_delta));
	wr16(ip + 4, 0x1234);
	wr16(ip + 6, o->frag);
	ip[8] = 64;
	ip[9] = (uint8_t)proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	uint16_t c = fold(sum16(ip, hl, 0));
	wr16(ip + 10, o->bad_ip_csum ? c ^ 0x5555 : c);
	return 14 + hl + l4len;
}

/* IPv6 with an optional extension header (8 bytes, next header = proto) before the L4. */
static size_t ip6(uint8_t *f, const uint8_t src[16], const uint8_t dst[16], unsigned proto,
		  int ext, unsigned sport, unsigned dport, const uint8_t *pl, size_t plen,
		  bool zero_udp_csum)
{
	uint8_t *ip = f + 14;
	memset(ip, 0, 40);
	ip[0] = 0x60;
	ip[7] = 64;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	uint8_t *l4 = ip + 40;
	if (ext >= 0) {
		ip[6] = (uint8_t)ext;
		memset(l4, 0, 8);
		l4[0] = (uint8_t)proto;
		if (ext == 44) /* fragment header: offset 0, M = 1, an identification */
			l4[3] = 1, l4[7] = 0x42;
		else if (ext == 0) /* hop-by-hop: PadN over the 6 option bytes */
			l4[2] = 1, l4[3] = 4;
		l4 += 8;
	} else {
		ip[6] = (uint8_t)proto;
	}
	size_t l4len;
	if (proto == 17) {
		l4len = 8 + plen;
		wr16(l4, sport);
		wr16(l4 + 2, dport);
		wr16(l4 + 4, (unsigned)l4len);
		wr16(l4 + 6, 0);
		memcpy(l4 + 8, pl, plen);
	} else {
		l4len = plen;
		memcpy(l4, pl, plen);
	}
	uint32_t ph = sum16(src, 16, 0);
	ph = sum16(dst, 16, ph);
	ph += proto + (uint32_t)l4len;
	uint16_t c = fold(sum16(l4, l4len, ph));
	if (proto == 17) {
		wr16(l4 + 6, zero_udp_csum ? 0 : (c ? c : 0xffff));
	} else if (proto == 58) {
		wr16(l4 + 2, c);
	}
	wr16(ip + 4, (unsigned)(l4len + (ext >= 0 ? 8 : 0)));
	return (size_t)(l4 + l4len - f);
}

/* ---- DTLS payloads ---------------------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint8_t rnd8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)(rng >> 24);
}

/* ClientHello body (version .. compression) with the PSK suites emse serves. */
static size_t ch_body(uint8_t *b, const uint8_t *cookie, unsigned cookie_len)
{
	static const uint8_t suites[] = { 0xc0, 0xa8, 0x00, 0xa8, 0x00, 0xae };
	size_t n = 0;
	b[n++] = 0xfe, b[n++] = 0xfd;
	for (int i = 0; i < 32; i++)
		b[n++] = rnd8();
	b[n++] = 0; /* session id */
	b[n++] = (uint8_t)cookie_len;
	memcpy(b + n, cookie, cookie_len), n += cookie_len;
	b[n++] = 0, b[n++] = sizeof(suites);
	memcpy(b + n, suites, sizeof(suites)), n += sizeof(suites);
	b[n++] = 1, b[n++] = 0; /* null compression */
	return n;
}

static void rec_hdr(uint8_t *r, unsigned type, unsigned epoch, unsigned seq, unsigned len)
{
	r[0] = (uint8_t)type;
	r[1] = 0xfe, r[2] = 0xfd;
	wr16(r + 3, epoch);
	memset(r + 5, 0, 6);
	wr16(r + 9, seq);
	wr16(r + 11, len);
}

static void hs_hdr(uint8_t *h, unsigned type, unsigned mlen, unsigned mseq, unsigned foff,
		   unsigned flen)
{
	h[0] = (uint8_t)type;
	wr24(h + 1, mlen);
	wr16(h + 4, mseq);
	wr24(h + 6, foff);
	wr24(h + 9, flen);
}

/* A whole ClientHello datagram (one record, one fragment). */
static size_t client_hello(uint8_t *d, const uint8_t *cookie, unsigned cookie_len)
{
	size_t n = ch_body(d + 25, cookie, cookie_len);
	hs_hdr(d + 13, 1, (unsigned)n, 0, 0, (unsigned)n);
	rec_hdr(d, 22, 0, 0, (unsigned)(n + 12));
	d[2] = 0xff; /* clients put DTLS 1.0 on the first record */
	return 25 + n;
}

/* ---- the classes ------------------------------------------------------------------------------ */

static unsigned flood_n = 100;
static unsigned next_sport = 40000;

/* One UDP datagram from the client to the IPv4 listener. */
/* emse counts a datagram without a session as not_dtls when it does not even hold a DTLS record
 * header: content type 20..23, version fe ff or fe fd, a length that fits the datagram (RFC 6347
 * 4.1; written here from the RFC, not shared with dataplane/dtls/dtls_peek.c). */
static bool dtls_record_ok(const uint8_t *p, size_t n)
{
	if (n < 13 || p[0] < 20 || p[0] > 23 || p[1] != 0xfe || (p[2] != 0xff && p[2] != 0xfd))
		return false;
	size_t len = (size_t)p[11] << 8 | p[12];
	return len <= 16384 + 2048 && 13 + len <= n;
}

static void udp4(struct out *o, const uint8_t *pl, size_t plen, const char *expect)
{
	uint8_t f[MAX_FRAME];
	if (!strncmp(expect, "dp_drop:", 8) && !dtls_record_ok(pl, plen))
		expect = "dp_drop:not_dtls";
	eth(f, emse_mac, client_mac, 0x0800);
	size_t n = ip4(f, client_ip4, emse_ip4, 17, next_sport++, LISTEN_PORT, pl, plen, NULL);
	emit(o, f, n, expect);
}

static void c_dtls_truncated(struct out *o)
{
	uint8_t d[512];
	size_t n = client_hello(d, NULL, 0);
	udp4(o, d, n - 20, "dp_drop:client_hello_malformed"); /* record says more than there is */
	udp4(o, d, 7, "dp_drop:client_hello_malformed");      /* not even a record header */
	udp4(o, d, 0, "dp_drop:client_hello_malformed");      /* empty datagram */
}

static void c_dtls_bad_lengths(struct out *o)
{
	uint8_t d[512];
	size_t n = client_hello(d, NULL, 0);
	wr16(d + 11, 0xffff); /* record length beyond any record */
	udp4(o, d, n, "dp_drop:client_hello_malformed");
	n = client_hello(d, NULL, 0);
	wr24(d + 14, 0x00ffff), wr24(d + 22, 0x00ffff); /* message longer than the record */
	udp4(o, d, n, "dp_drop:client_hello_malformed");
	n = client_hello(d, NULL, 0);
	d[25 + 2 + 32] = 200; /* session id length running off the message */
	udp4(o, d, n, "dp_drop:client_hello_malformed");
	n = client_hello(d, NULL, 0);
	d[25 + 2 + 32 + 1] = 0xff; /* cookie length running off the message */
	udp4(o, d, n, "dp_drop:client_hello_malformed");
	n = client_hello(d, NULL, 0);
	wr16(d + 11, 5); /* record shorter than a handshake header */
	udp4(o, d, 13 + 5, "dp_drop:client_hello_malformed");
}

static void c_dtls_bad_header(struct out *o)
{
	uint8_t d[512];
	size_t n = client_hello(d, NULL, 0);
	d[1] = 0x03, d[2] = 0x03; /* TLS 1.2 version on a datagram */
	udp4(o, d, n, "dp_drop:client_hello_malformed");
	n = client_hello(d, NULL, 0);
	d[0] = 0x19; /* content type 25 */
	udp4(o, d, n, "dp_drop:not_client_hello");
	n = client_hello(d, NULL, 0);
	wr16(d + 3, 1); /* a handshake record in epoch 1 without a session */
	udp4(o, d, n, "dp_drop:client_hello_malformed");
}

static void c_dtls_not_client_hello(struct out *o)
{
	uint8_t d[512];
	/* application data, an alert and a ClientKeyExchange with no session behind them */
	rec_hdr(d, 23, 1, 1, 40);
	for (int i = 0; i < 40; i++)
		d[13 + i] = rnd8();
	udp4(o, d, 53, "dp_drop:not_client_hello");
	rec_hdr(d, 21, 0, 1, 2);
	d[13] = 2, d[14] = 40;
	udp4(o, d, 15, "dp_drop:not_client_hello");
	rec_hdr(d, 22, 0, 2, 12 + 2 + 10);
	hs_hdr(d + 13, 16, 12, 2, 0, 12);
	wr16(d + 25, 10);
	memcpy(d + 27, "e2m.nobody", 10);
	udp4(o, d, 13 + 24, "dp_drop:not_client_hello");
	rec_hdr(d, 20, 0, 3, 1); /* ChangeCipherSpec */
	d[13] = 1;
	udp4(o, d, 14, "dp_drop:not_client_hello");
}

static void c_ch_fragments(struct out *o)
{
	uint8_t body[256], d[512];
	size_t bl = ch_body(body, NULL, 0);
	size_t half = bl / 2;
	/* first fragment: offset 0, half the message */
	hs_hdr(d + 13, 1, (unsigned)bl, 0, 0, (unsigned)half);
	memcpy(d + 25, body, half);
	rec_hdr(d, 22, 0, 0, (unsigned)(12 + half));
	udp4(o, d, 25 + half, "dp_drop:client_hello_malformed");
	next_sport--; /* the second fragment from the same port */
	hs_hdr(d + 13, 1, (unsigned)bl, 0, (unsigned)half, (unsigned)(bl - half));
	memcpy(d + 25, body + half, bl - half);
	rec_hdr(d, 22, 0, 1, (unsigned)(12 + bl - half));
	udp4(o, d, 25 + bl - half, "dp_drop:client_hello_malformed");
}

static void c_ch_odd_but_valid(struct out *o)
{
	uint8_t d[512];
	size_t n = client_hello(d, NULL, 0);
	memcpy(d + n, "\x17\xfe\xfd\0\1\0\0\0\0\0\0\0\3abc", 16); /* a second record after it */
	udp4(o, d, n + 16, "hvr_sent");
	uint8_t cookie[32];
	for (int i = 0; i < 32; i++)
		cookie[i] = rnd8();
	n = client_hello(d, cookie, sizeof(cookie)); /* a cookie emse never made */
	udp4(o, d, n, "cookie_invalid+hvr_sent");
}

static void c_non_dtls(struct out *o)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: 198.18.0.1\r\n\r\n";
	udp4(o, (const uint8_t *)http, sizeof(http) - 1, "dp_drop:not_client_hello");
	/* a plain CoAP GET /sensor (RFC 7252): what a client without DTLS sends */
	static const uint8_t coap[] = { 0x40, 0x01, 0x12, 0x34, 0xb6, 's', 'e', 'n', 's', 'o', 'r' };
	udp4(o, coap, sizeof(coap), "dp_drop:not_client_hello");
	uint8_t zero[64] = { 0 };
	udp4(o, zero, sizeof(zero), "dp_drop:client_hello_malformed"); /* type 0 < 20 */
}

static void c_udp_odd(struct out *o)
{
	uint8_t f[MAX_FRAME], d[512];
	size_t pn = client_hello(d, NULL, 0);
	eth(f, emse_mac, client_mac, 0x0800);
	size_t n = ip4(f, client_ip4, emse_ip4, 17, 40999, 9999, d, pn, NULL);
	emit(o, f, n, "dp_drop:no_listener"); /* a closed port */
	n = ip4(f, client_ip4, emse_ip4, 17, 0, LISTEN_PORT, d, pn, NULL);
	emit(o, f, n, "net_drop:udp_malformed"); /* source port 0 */
	struct ip4opt bad = { .udp_len_delta = 40 };
	n = ip4(f, client_ip4, emse_ip4, 17, 40998, LISTEN_PORT, d, pn, &bad);
	emit(o, f, n, "net_drop:udp_malformed"); /* UDP length beyond the IP payload */
	struct ip4opt csum = { .bad_l4_csum = true };
	n = ip4(f, client_ip4, emse_ip4, 17, 40997, LISTEN_PORT, d, pn, &csum);
	emit(o, f, n, "net_drop:udp_csum");
}

static void c_ipv4_odd(struct out *o)
{
	uint8_t f[MAX_FRAME], d[512];
	size_t pn = client_hello(d, NULL, 0), n;
	eth(f, emse_mac, client_mac, 0x0800);
	struct ip4opt opts = { .optlen = 4 };
	n = ip4(f, client_ip4, emse_ip4, 17, 41000, LISTEN_PORT, d, pn, &opts);
	emit(o, f, n, "net_drop:ip_options");
	struct ip4opt first = { .frag = 0x2000 }; /* MF, offset 0 */
	n = ip4(f, client_ip4, emse_ip4, 17, 41001, LISTEN_PORT, d, 64, &first);
	emit(o, f, n, "net_drop:ip_fragment");
	struct ip4opt later = { .frag = 9 }; /* offset 72 bytes, last */
	n = ip4(f, client_ip4, emse_ip4, 17, 41001, LISTEN_PORT, d + 64, pn - 64, &later);
	emit(o, f, n, "net_drop:ip_fragment");
	struct ip4opt csum = { .bad_ip_csum = true };
	n = ip4(f, client_ip4, emse_ip4, 17, 41002, LISTEN_PORT, d, pn, &csum);
	emit(o, f, n, "net_drop:ip_csum");
	struct ip4opt longer = { .tot_delta = 100 };
	n = ip4(f, client_ip4, emse_ip4, 17, 41003, LISTEN_PORT, d, pn, &longer);
	emit(o, f, n, "net_drop:ip_malformed"); /* total length beyond the frame */
	struct ip4opt ihl = { .ihl = 4 };
	n = ip4(f, client_ip4, emse_ip4, 17, 41004, LISTEN_PORT, d, pn, &ihl);
	emit(o, f, n, "net_drop:ip_malformed"); /* header length 16 */
	static const uint8_t other[4] = { 198, 18, 0, 99 };
	n = ip4(f, client_ip4, other, 17, 41005, LISTEN_PORT, d, pn, NULL);
	emit(o, f, n, "net_drop:ip_not_ours");
	static const uint8_t loop[4] = { 127, 0, 0, 1 };
	n = ip4(f, loop, emse_ip4, 17, 41006, LISTEN_PORT, d, pn, NULL);
	emit(o, f, n, "net_drop:ip_src_bad");
	n = ip4(f, emse_ip4, emse_ip4, 17, LISTEN_PORT, LISTEN_PORT, d, pn, NULL);
	emit(o, f, n, "net_drop:ip_src_bad"); /* LAND: our own address as source */
	static const uint8_t syn[20] = { 0x9c, 0x40, 0x16, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02,
					 0xff, 0xff };
	n = ip4(f, client_ip4, emse_ip4, 6, 0, 0, syn, sizeof(syn), NULL);
	emit(o, f, n, "net_drop:proto"); /* TCP SYN */
}

static void c_ipv6_odd(struct out *o)
{
	uint8_t f[MAX_FRAME], d[512];
	size_t pn = client_hello(d, NULL, 0), n;
	eth(f, emse_mac, client_mac, 0x86dd);
	n = ip6(f, client_ip6, emse_ip6, 17, 44, 42000, LISTEN_PORT, d, pn, false);
	emit(o, f, n, "net_drop:ip_fragment");
	n = ip6(f, client_ip6, emse_ip6, 17, 0, 42001, LISTEN_PORT, d, pn, false);
	emit(o, f, n, "net_drop:ip_options"); /* hop-by-hop header */
	n = ip6(f, client_ip6, emse_ip6, 17, -1, 42002, LISTEN_PORT, d, pn, true);
	emit(o, f, n, "net_drop:udp_csum"); /* checksum 0 is not allowed over IPv6 */
	n = ip6(f, client_ip6, emse_ip6, 17, -1, 42003, LISTEN_PORT, d, pn, false);
	emit(o, f, n, "hvr_sent"); /* the same ClientHello, well-formed, over IPv6 */
	uint8_t echo[16] = { 128, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g' };
	n = ip6(f, client_ip6, emse_ip6, 58, -1, 0, 0, echo, sizeof(echo), false);
	emit(o, f, n, "icmp_replies"); /* ICMPv6 echo: answered */

	/* Neighbour Solicitation for 2001:db8::1 to its solicited-node group, with our MAC */
	static const uint8_t sn_ip[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff, [15] = 1 };
	static const uint8_t sn_mac[6] = { 0x33, 0x33, 0xff, 0x00, 0x00, 0x01 };
	uint8_t ns[32] = { 135, 0 };
	memcpy(ns + 8, emse_ip6, 16);
	ns[24] = 1, ns[25] = 1;
	memcpy(ns + 26, client_mac, 6);
	eth(f, sn_mac, client_mac, 0x86dd);
	n = ip6(f, client_ip6, sn_ip, 58, -1, 0, 0, ns, sizeof(ns), false);
	f[14 + 7] = 255; /* hop limit: not in the checksum */
	emit(o, f, n, "icmp_replies"); /* answered with an advertisement */
	f[14 + 7] = 64;
	emit(o, f, n, "net_drop:nd_malformed"); /* hop limit 64: may have been forwarded */
}

static void c_l2_odd(struct out *o)
{
	uint8_t f[MAX_FRAME], d[512];
	size_t pn = client_hello(d, NULL, 0), n;
	eth(f, emse_mac, client_mac, 0x0800);
	emit(o, f, 10, "net_drop:runt"); /* 10 bytes: not even an Ethernet header */
	/* 802.1Q tag (VLAN 100) in front of an IPv4 ClientHello: the port should have stripped it */
	uint8_t g[MAX_FRAME];
	n = ip4(g, client_ip4, emse_ip4, 17, 43000, LISTEN_PORT, d, pn, NULL);
	eth(f, emse_mac, client_mac, 0x8100);
	wr16(f + 14, 100);
	memcpy(f + 16, g + 12, n - 12); /* ethertype 0x0800 + the IPv4 packet */
	wr16(f + 16, 0x0800);
	emit(o, f, n + 4, "net_drop:ethertype");
	eth(f, emse_mac, client_mac, 0x88a8); /* QinQ outer tag */
	wr16(f + 14, 200);
	wr16(f + 16, 0x8100);
	wr16(f + 18, 100);
	memcpy(f + 20, g + 12, n - 12);
	emit(o, f, n + 8, "net_drop:ethertype");
	static const uint8_t other_mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x99 };
	memcpy(g, other_mac, 6);
	memcpy(g + 6, client_mac, 6);
	emit(o, g, n, "net_drop:eth_dst"); /* unicast to another station */
}

static size_t arp(uint8_t *f, unsigned op, const uint8_t tpa[4])
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t n = eth(f, bcast, client_mac, 0x0806);
	uint8_t *a = f + n;
	wr16(a, 1), wr16(a + 2, 0x0800), a[4] = 6, a[5] = 4, wr16(a + 6, op);
	memcpy(a + 8, client_mac, 6);
	memcpy(a + 14, client_ip4, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, tpa, 4);
	return n + 28;
}

static void c_arp_icmp(struct out *o)
{
	uint8_t f[MAX_FRAME];
	emit(o, f, arp(f, 1, emse_ip4), "arp_replies");
	static const uint8_t other[4] = { 198, 18, 0, 77 };
	emit(o, f, arp(f, 1, other), "net_drop:arp_not_ours");
	emit(o, f, arp(f, 1, emse_ip4) - 10, "net_drop:arp_malformed"); /* cut short */
	uint8_t echo[40] = { 8, 0, 0, 0, 0x43, 0x21, 0, 1 };
	memcpy(echo + 8, "emse pcap-craft echo payload....", 32);
	eth(f, emse_mac, client_mac, 0x0800);
	size_t n = ip4(f, client_ip4, emse_ip4, 1, 0, 0, echo, sizeof(echo), NULL);
	emit(o, f, n, "icmp_replies"); /* ICMP echo: answered */
	struct ip4opt csum = { .bad_l4_csum = true };
	n = ip4(f, client_ip4, emse_ip4, 1, 0, 0, echo, sizeof(echo), &csum);
	emit(o, f, n, "net_drop:icmp_csum");
	echo[0] = 13; /* timestamp request */
	n = ip4(f, client_ip4, emse_ip4, 1, 0, 0, echo, sizeof(echo), NULL);
	emit(o, f, n, "net_drop:icmp_type");
}

/* N ClientHellos without cookie, each from its own address in 198.19.0.0/16 and its own port:
 * a reflection attempt. Each must get exactly one HelloVerifyRequest and leave no state. */
static void c_flood(struct out *o)
{
	uint8_t f[MAX_FRAME], d[512];
	for (unsigned i = 0; i < flood_n; i++) {
		uint8_t src[4] = { 198, 19, (uint8_t)((i + 1) >> 8), (uint8_t)(i + 1) };
		uint8_t smac[6] = { 0x02, 0x00, 0x5e, 0x10, (uint8_t)(i >> 8), (uint8_t)i };
		size_t pn = client_hello(d, NULL, 0);
		eth(f, emse_mac, smac, 0x0800);
		size_t n = ip4(f, src, emse_ip4, 17, 1024 + (i * 7919) % 60000, LISTEN_PORT, d, pn,
			       NULL);
		emit(o, f, n, "hvr_sent");
	}
}

static const struct cls {
	const char *name;
	void (*fn)(struct out *);
	const char *what;
} classes[] = {
	{ "dtls_truncated", c_dtls_truncated, "ClientHello cut short, 7-byte and empty datagrams" },
	{ "dtls_bad_lengths", c_dtls_bad_lengths,
	  "record/handshake/session-id/cookie lengths that disagree with the datagram" },
	{ "dtls_bad_header", c_dtls_bad_header, "TLS version, unknown content type, epoch 1" },
	{ "dtls_not_client_hello", c_dtls_not_client_hello,
	  "app data, alert, ClientKeyExchange, CCS without a session" },
	{ "ch_fragments", c_ch_fragments, "a ClientHello in two handshake fragments" },
	{ "ch_odd_but_valid", c_ch_odd_but_valid,
	  "ClientHello + trailing record; ClientHello with a forged cookie" },
	{ "non_dtls", c_non_dtls, "HTTP, plain CoAP and zero bytes to the DTLS port" },
	{ "udp_odd", c_udp_odd, "closed port, source port 0, bad UDP length, bad UDP checksum" },
	{ "ipv4_odd", c_ipv4_odd,
	  "options, first and non-first fragments, bad checksum, bad lengths, not ours, "
	  "bad sources, TCP" },
	{ "ipv6_odd", c_ipv6_odd,
	  "fragment header, hop-by-hop, UDP checksum 0, a valid ClientHello, echo, ND (ok, hop 64)" },
	{ "l2_odd", c_l2_odd, "runt, 802.1Q and QinQ tags, another station's MAC" },
	{ "arp_icmp", c_arp_icmp, "ARP request (ours, not ours, short), ICMP echo, bad, other type" },
	{ "flood", c_flood, "--flood N ClientHellos from distinct spoofed sources" },
};
#define N_CLASSES (sizeof(classes) / sizeof(classes[0]))

/* ---- commands --------------------------------------------------------------------------------- */

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "pcap-craft: %s\n", msg);
	fprintf(msg ? stderr : stdout,
		"usage: pcap-craft hostile OUT.pcap [--labels FILE] [--class NAME]... [--flood N] "
		"[--mac MAC]\n"
		"       pcap-craft classes\n"
		"       pcap-craft list FILE [--filter BPF]\n"
		"       pcap-craft info FILE\n"
		"       pcap-craft dup IN OUT --filter BPF [--times K]\n"
		"       pcap-craft inject IFACE FILE [--filter BPF] [--gap-us U]\n"
		"       pcap-craft mutate IN OUT --filter BPF [--seq-add N] [--bad-udp-csum]\n");
	return msg ? 2 : 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		      &mac[4], &mac[5]) == 6 ? 0 : -1;
}

static int cmd_classes(void)
{
	rng = 0x9e3779b97f4a7c15ull;
	flood_n = 2; /* enough to show them */
	for (size_t i = 0; i < N_CLASSES; i++) {
		printf("%-22s %s\n", classes[i].name, classes[i].what);
		/* the frames and their expected counters, written through a throw-away dumper */
		pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
		pcap_dumper_t *d = dead ? pcap_dump_open(dead, "/dev/null") : NULL;
		if (!d)
			return 1;
		struct out o = { .d = d, .labels = stdout, .listing = true };
		classes[i].fn(&o);
		pcap_dump_close(d);
		pcap_close(dead);
	}
	return 0;
}

static int cmd_hostile(int argc, char **argv)
{
	const char *labels = NULL;
	bool want[N_CLASSES] = { false };
	bool any = false;
	static const struct option opts[] = {
		{ "labels", required_argument, NULL, 'l' }, { "class", required_argument, NULL, 'c' },
		{ "flood", required_argument, NULL, 'f' },  { "mac", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 }
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			labels = optarg;
			break;
		case 'c': {
			size_t i = 0;
			while (i < N_CLASSES && strcmp(classes[i].name, optarg))
				i++;
			if (i == N_CLASSES)
				return usage("--class: unknown (pcap-craft classes lists them)");
			want[i] = any = true;
			break;
		}
		case 'f': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v > 60000)
				return usage("--flood: expected 0..60000");
			flood_n = (unsigned)v;
			break;
		}
		case 'm':
			if (parse_mac(optarg, emse_mac) != 0)
				return usage("--mac: expected xx:xx:xx:xx:xx:xx");
			break;
		default:
			return usage("unknown option");
		}
	}
	if (optind + 1 != argc)
		return usage("hostile: expected one output file");
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	struct out o = { 0 };
	o.d = dead ? pcap_dump_open(dead, argv[optind]) : NULL;
	if (!o.d) {
		fprintf(stderr, "pcap-craft: %s: %s\n", argv[optind],
			dead ? pcap_geterr(dead) : "cannot open");
		return 1;
	}
	if (labels && !(o.labels = fopen(labels, "w"))) {
		perror(labels);
		return 1;
	}
	for (size_t i = 0; i < N_CLASSES; i++) {
		if (any && !want[i])
			continue;
		o.cls = classes[i].name;
		classes[i].fn(&o);
	}
	pcap_dump_close(o.d);
	pcap_close(dead);
	if (o.labels && fclose(o.labels) != 0) {
		perror(labels);
		return 1;
	}
	fprintf(stderr, "pcap-craft: %u frames in %s\n", o.n, argv[optind]);
	return 0;
}

static pcap_t *open_in(const char *path, const char *filter, struct bpf_program *fp)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	if (!p) {
		fprintf(stderr, "pcap-craft: %s\n", err);
		return NULL;
	}
	if (filter && pcap_compile(p, fp, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		fprintf(stderr, "pcap-craft: --filter: %s\n", pcap_geterr(p));
		pcap_close(p);
		return NULL;
	}
	return p;
}

static const char *hs_name(unsigned t)
{
	switch (t) {
	case 1: return "client_hello";
	case 2: return "server_hello";
	case 3: return "hello_verify_request";
	case 14: return "server_hello_done";
	case 16: return "client_key_exchange";
	case 20: return "finished";
	default: return "handshake";
	}
}

/* What a UDP payload is, as DTLS records (encrypted ones by content type only). */
static void describe_dtls(const uint8_t *p, size_t n, char *out, size_t on)
{
	size_t o = 0;
	out[0] = 0;
	while (n >= 13 && p[0] >= 20 && p[0] <= 23 && p[1] == 0xfe && o + 40 < on) {
		unsigned len = (unsigned)(p[11] << 8 | p[12]), epoch = (unsigned)(p[3] << 8 | p[4]);
		const char *what = p[0] == 20 ? "ccs" : p[0] == 21 ? "alert" : p[0] == 23 ? "app_data"
			: (epoch == 0 && len >= 12 && n >= 14) ? hs_name(p[13]) : "handshake";
		o += (size_t)snprintf(out + o, on - o, "%s%s", o ? "+" : "dtls:", what);
		if (13 + (size_t)len > n)
			break;
		p += 13 + len;
		n -= 13 + len;
	}
	if (!o)
		snprintf(out, on, "udp");
}

static int cmd_list(int argc, char **argv)
{
	const char *filter = NULL;
	static const struct option opts[] = { { "filter", required_argument, NULL, 'f' },
					      { NULL, 0, NULL, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'f')
			return usage("unknown option");
		filter = optarg;
	}
	if (optind + 1 != argc)
		return usage("list: expected one capture");
	struct bpf_program fp;
	pcap_t *p = open_in(argv[optind], filter, &fp);
	if (!p)
		return 1;
	struct pcap_pkthdr *h;
	const u_char *f;
	unsigned idx = 0;
	int r;
	while ((r = pcap_next_ex(p, &h, &f)) == 1) {
		idx++;
		if (filter && !pcap_offline_filter(&fp, h, f))
			continue;
		char src[64] = "-", dst[64] = "-", what[256] = "short";
		size_t n = h->caplen;
		unsigned type = n >= 14 ? (unsigned)(f[12] << 8 | f[13]) : 0;
		const uint8_t *l4 = NULL;
		size_t l4n = 0;
		unsigned proto = 0;
		if (type == 0x0806 && n >= 42) {
			snprintf(src, sizeof(src), "%u.%u.%u.%u", f[28], f[29], f[30], f[31]);
			snprintf(dst, sizeof(dst), "%u.%u.%u.%u", f[38], f[39], f[40], f[41]);
			snprintf(what, sizeof(what), f[21] == 1 ? "arp-request" : "arp-reply");
		} else if (type == 0x0800 && n >= 34) {
			unsigned hl = (f[14] & 0xfu) * 4u;
			inet_ntop(AF_INET, f + 26, src, sizeof(src));
			inet_ntop(AF_INET, f + 30, dst, sizeof(dst));
			proto = f[23];
			if ((f[20] & 0x3f) || f[21]) /* a fragment: no L4 header to read */
				snprintf(what, sizeof(what), "ipv4-fragment");
			else if (hl >= 20 && n >= 14 + hl)
				l4 = f + 14 + hl, l4n = n - 14 - hl;
		} else if (type == 0x86dd && n >= 54) {
			inet_ntop(AF_INET6, f + 22, src, sizeof(src));
			inet_ntop(AF_INET6, f + 38, dst, sizeof(dst));
			proto = f[20];
			l4 = f + 54, l4n = n - 54;
		} else if (n >= 14) {
			snprintf(what, sizeof(what), "ethertype-0x%04x", type);
		}
		if (l4 && proto == 17 && l4n >= 8) {
			char tmp[64];
			unsigned sp = (unsigned)(l4[0] << 8 | l4[1]), dp = (unsigned)(l4[2] << 8 | l4[3]);
			snprintf(tmp, sizeof(tmp), "%s:%u", src, sp);
			snprintf(src, sizeof(src), "%s", tmp);
			snprintf(tmp, sizeof(tmp), "%s:%u", dst, dp);
			snprintf(dst, sizeof(dst), "%s", tmp);
			describe_dtls(l4 + 8, l4n - 8, what, sizeof(what));
		} else if (l4 && proto == 1 && l4n >= 1) {
			snprintf(what, sizeof(what), l4[0] == 0 ? "icmp-echo-reply" : l4[0] == 8
				 ? "icmp-echo" : "icmp-%u", l4[0]);
		} else if (l4 && proto == 58 && l4n >= 1) {
			snprintf(what, sizeof(what), "icmp6-%u", l4[0]);
			if (l4[0] == 128 || l4[0] == 129 || l4[0] == 135 || l4[0] == 136)
				snprintf(what, sizeof(what), "%s", l4[0] == 128 ? "icmp6-echo" :
					 l4[0] == 129 ? "icmp6-echo-reply" : l4[0] == 135 ?
					 "nd-solicit" : "nd-advert");
		} else if (l4) {
			snprintf(what, sizeof(what), "ip-proto-%u", proto);
		}
		printf("%u %ld.%06ld %s > %s %s\n", idx, (long)h->ts.tv_sec, (long)h->ts.tv_usec, src,
		       dst, what);
	}
	pcap_close(p);
	return r == -2 ? 0 : 1;
}

/* The link type and frame count, e.g. "EN10MB 153" (tools/emse-replay refuses other types). */
static int cmd_info(int argc, char **argv)
{
	if (argc != 2)
		return usage("info: expected one capture");
	struct bpf_program fp;
	pcap_t *p = open_in(argv[1], NULL, &fp);
	if (!p)
		return 1;
	struct pcap_pkthdr *h;
	const u_char *f;
	unsigned n = 0;
	int r;
	while ((r = pcap_next_ex(p, &h, &f)) == 1)
		n++;
	const char *name = pcap_datalink_val_to_name(pcap_datalink(p));
	printf("%s %u\n", name ? name : "unknown", n);
	pcap_close(p);
	return r == -2 ? 0 : 1;
}

/* IN read through filter, OUT written with IN's link type; NULL (said why) if either fails. */
static pcap_t *open_in_out(const char *in, const char *out, const char *filter,
			   struct bpf_program *fp, pcap_dumper_t **d)
{
	pcap_t *p = open_in(in, filter, fp);
	if (!p)
		return NULL;
	*d = pcap_dump_open(p, out);
	if (!*d) {
		fprintf(stderr, "pcap-craft: %s\n", pcap_geterr(p));
		pcap_close(p);
		return NULL;
	}
	return p;
}

static int cmd_dup(int argc, char **argv)
{
	const char *filter = NULL;
	unsigned times = 1;
	static const struct option opts[] = { { "filter", required_argument, NULL, 'f' },
					      { "times", required_argument, NULL, 't' },
					      { NULL, 0, NULL, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f')
			filter = optarg;
		else if (c == 't')
			times = (unsigned)strtoul(optarg, NULL, 10);
		else
			return usage("unknown option");
	}
	if (optind + 2 != argc || !filter)
		return usage("dup: expected IN OUT --filter BPF");
	struct bpf_program fp;
	pcap_dumper_t *d;
	pcap_t *p = open_in_out(argv[optind], argv[optind + 1], filter, &fp, &d);
	if (!p)
		return 1;
	struct pcap_pkthdr *h;
	const u_char *f;
	unsigned dups = 0;
	int r;
	while ((r = pcap_next_ex(p, &h, &f)) == 1) {
		pcap_dump((u_char *)d, h, f);
		if (pcap_offline_filter(&fp, h, f))
			for (unsigned k = 0; k < times; k++, dups++)
				pcap_dump((u_char *)d, h, f);
	}
	pcap_dump_close(d);
	pcap_close(p);
	fprintf(stderr, "pcap-craft: %u duplicates written\n", dups);
	return r == -2 ? 0 : 1;
}

static int cmd_inject(int argc, char **argv)
{
	const char *filter = NULL;
	unsigned gap = 1000;
	static const struct option opts[] = { { "filter", required_argument, NULL, 'f' },
					      { "gap-us", required_argument, NULL, 'g' },
					      { NULL, 0, NULL, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f')
			filter = optarg;
		else if (c == 'g')
			gap = (unsigned)strtoul(optarg, NULL, 10);
		else
			return usage("unknown option");
	}
	if (optind + 2 != argc)
		return usage("inject: expected IFACE FILE");
	struct bpf_program fp;
	pcap_t *in = open_in(argv[optind + 1], filter, &fp);
	if (!in)
		return 1;
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *out = pcap_open_live(argv[optind], 65535, 0, 100, err);
	if (!out) {
		fprintf(stderr, "pcap-craft: %s\n", err);
		return 1;
	}
	struct pcap_pkthdr *h;
	const u_char *f;
	unsigned sent = 0, tried = 0;
	int r;
	while ((r = pcap_next_ex(in, &h, &f)) == 1) {
		if (filter && !pcap_offline_filter(&fp, h, f))
			continue;
		tried++;
		if (pcap_inject(out, f, h->caplen) == (int)h->caplen)
			sent++;
		else
			fprintf(stderr, "pcap-craft: inject: %s\n", pcap_geterr(out));
		usleep(gap);
	}
	pcap_close(out);
	pcap_close(in);
	printf("inject: sent %u of %u frames\n", sent, tried);
	return r == -2 && sent == tried ? 0 : 1;
}

static int cmd_mutate(int argc, char **argv)
{
	const char *filter = NULL;
	unsigned long long seq_add = 0;
	bool bad = false;
	static const struct option opts[] = { { "filter", required_argument, NULL, 'f' },
					      { "seq-add", required_argument, NULL, 's' },
					      { "bad-udp-csum", no_argument, NULL, 'b' },
					      { NULL, 0, NULL, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f')
			filter = optarg;
		else if (c == 's')
			seq_add = strtoull(optarg, NULL, 10);
		else if (c == 'b')
			bad = true;
		else
			return usage("unknown option");
	}
	if (optind + 2 != argc || !filter)
		return usage("mutate: expected IN OUT --filter BPF");
	struct bpf_program fp;
	pcap_dumper_t *d;
	pcap_t *p = open_in_out(argv[optind], argv[optind + 1], filter, &fp, &d);
	if (!p)
		return 1;
	struct pcap_pkthdr *h;
	const u_char *f;
	static uint8_t b[65536];
	unsigned done = 0, skipped = 0;
	int r;
	while ((r = pcap_next_ex(p, &h, &f)) == 1) {
		if (!pcap_offline_filter(&fp, h, f))
			continue;
		size_t n = h->caplen;
		uint8_t *ip = b + 14, *l4 = NULL;
		uint32_t ph = 0;
		memcpy(b, f, n);
		if (n != h->len || n < 14) {
			skipped++;
			continue;
		}
		if (rd16(b + 12) == 0x0800 && n >= 34 && ip[9] == 17 && (size_t)(ip[0] & 15) * 4 >= 20) {
			l4 = ip + (ip[0] & 15) * 4;
			ph = sum16(ip + 12, 8, 0);
		} else if (rd16(b + 12) == 0x86dd && n >= 54 && ip[6] == 17) {
			l4 = ip + 40;
			ph = sum16(ip + 8, 32, 0);
		}
		size_t ulen = l4 && (size_t)(l4 - b) + 8 <= n ? rd16(l4 + 4) : 0;
		if (!l4 || ulen < 8 + 13 || (size_t)(l4 - b) + ulen > n) {
			skipped++;
			continue;
		}
		uint8_t *rec = l4 + 8;
		uint64_t seq = 0;
		for (int i = 5; i < 11; i++)
			seq = seq << 8 | rec[i];
		seq += seq_add;
		for (int i = 10; i >= 5; i--, seq >>= 8)
			rec[i] = (uint8_t)seq;
		wr16(l4 + 6, 0);
		uint16_t cs = fold(sum16(l4, ulen, ph + 17 + (uint32_t)ulen));
		if (!cs)
			cs = 0xffff;
		if (bad)
			cs ^= 0x5555;
		wr16(l4 + 6, cs);
		pcap_dump((u_char *)d, h, b);
		done++;
	}
	pcap_dump_close(d);
	pcap_close(p);
	fprintf(stderr, "pcap-craft: %u frames mutated, %u skipped\n", done, skipped);
	return r == -2 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage("expected a command");
	const char *cmd = argv[1];
	argv++, argc--;
	if (!strcmp(cmd, "hostile"))
		return cmd_hostile(argc, argv);
	if (!strcmp(cmd, "classes"))
		return cmd_classes();
	if (!strcmp(cmd, "list"))
		return cmd_list(argc, argv);
	if (!strcmp(cmd, "info"))
		return cmd_info(argc, argv);
	if (!strcmp(cmd, "dup"))
		return cmd_dup(argc, argv);
	if (!strcmp(cmd, "inject"))
		return cmd_inject(argc, argv);
	if (!strcmp(cmd, "mutate"))
		return cmd_mutate(argc, argv);
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		return usage(NULL);
	return usage("unknown command");
}
