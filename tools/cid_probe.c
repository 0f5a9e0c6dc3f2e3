/* cid-probe: a DTLS 1.2 PSK client with RFC 9146 Connection IDs, for emse's e2e tests (issue 13).
 *   cid-probe --dst IPv4 --port P --identity ID --psk HEX
 * Offers a zero-length CID (as nRF modems and mbedTLS by default), completes the cookie exchange
 * and the PSK-AES128-CCM8 handshake (the server's CID from its ServerHello; our Finished as a
 * tls12_cid record), has a record echoed, then:
 *   rebind: the next record from a new source port is echoed to that port (0 new handshakes);
 *   replay: a copy of an earlier record from another port gets no answer;
 *   forged: a record with a changed tag from another port gets no answer;
 *   older: an authentic record older than the newest one, from another port, gets no answer;
 *   unknown: a record to a CID that is none of the server's gets no answer;
 * and after each of those a fresh record from the current port is still echoed there (the session
 * did not move). Written from RFC 6347, 4279, 5246 and 9146; the server is the thing under test,
 * so nothing of its code is used but the TLS 1.2 PRF (hs12.h, checked against a published vector).
 * Prints "ok:"/"FAIL:" lines; the exit status is the number of failures. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "emse/dtls/hs12.h"

static struct sockaddr_in dst;
static int fails;

static void result(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	fails += !ok;
}

static int sock_new(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("socket");
		exit(100);
	}
	return s;
}

static void tx(int s, const uint8_t *b, size_t n)
{
	if (sendto(s, b, n, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)n)
		perror("sendto");
}

/* One datagram within ms, or 0. Answers wait up to 5 s: a late answer would otherwise be read as
 * the answer to the next step and fail every step after it (seen on a loaded 2-core CI host). */
static size_t rx(int s, uint8_t *b, size_t cap, int ms)
{
	struct pollfd p = {.fd = s, .events = POLLIN};
	if (poll(&p, 1, ms) != 1)
		return 0;
	ssize_t n = recv(s, b, cap, 0);
	return n > 0 ? (size_t)n : 0;
}

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put24(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 16); put16(p + 1, v); }
static void put48(uint8_t *p, uint64_t v)
{
	for (int i = 5; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}
static unsigned be16(const uint8_t *p) { return (unsigned)(p[0] << 8 | p[1]); }

/* ---- the client's state ------------------------------------------------------------------ */

static uint8_t cr[32], sr[32], ms[48], ckey[16], skey[16], civ[4], siv[4];
static uint8_t scid[255];
static unsigned scid_len;
static uint64_t seq0, seq1; /* next record sequence numbers, epochs 0 and 1 */
static wc_Sha256 transcript;

static size_t record0(uint8_t *out, uint8_t type, const uint8_t *body, size_t n)
{
	out[0] = type;
	out[1] = 0xfe;
	out[2] = 0xfd;
	put16(out + 3, 0);
	put48(out + 5, seq0++);
	put16(out + 11, (unsigned)n);
	memcpy(out + 13, body, n);
	return 13 + n;
}

/* A handshake message: header + body into m; returns its length. */
static size_t hs_msg(uint8_t *m, uint8_t type, unsigned mseq, const uint8_t *body, size_t n)
{
	m[0] = type;
	put24(m + 1, (unsigned)n);
	put16(m + 4, mseq);
	put24(m + 6, 0);
	put24(m + 9, (unsigned)n);
	memcpy(m + 12, body, n);
	return 12 + n;
}

/* RFC 9146 tls12_cid record, epoch 1, sequence seq, to the server's CID: AES-128-CCM-8. */
static size_t seal_cid(uint8_t *out, uint64_t seq, uint8_t type, const uint8_t *content, size_t n)
{
	uint8_t inner[512], aad[23 + 255], nonce[12], es[8];
	memcpy(inner, content, n);
	inner[n] = type;
	size_t il = n + 1;
	put16(es, 1);
	put48(es + 2, seq);
	memset(aad, 0xff, 8);
	aad[8] = 25;
	aad[9] = (uint8_t)scid_len;
	aad[10] = 25;
	aad[11] = 0xfe;
	aad[12] = 0xfd;
	memcpy(aad + 13, es, 8);
	memcpy(aad + 21, scid, scid_len);
	put16(aad + 21 + scid_len, (unsigned)il);
	memcpy(nonce, civ, 4);
	memcpy(nonce + 4, es, 8);
	size_t h = 13 + scid_len;
	out[0] = 25;
	out[1] = 0xfe;
	out[2] = 0xfd;
	memcpy(out + 3, es, 8);
	memcpy(out + 11, scid, scid_len);
	put16(out + h - 2, (unsigned)(8 + il + 8));
	memcpy(out + h, es, 8);
	Aes a;
	wc_AesInit(&a, NULL, INVALID_DEVID);
	wc_AesCcmSetKey(&a, ckey, 16);
	wc_AesCcmEncrypt(&a, out + h + 8, inner, (word32)il, nonce, 12, out + h + 8 + il, 8, aad,
			 (word32)(23 + scid_len));
	wc_AesFree(&a);
	return h + 8 + il + 8;
}

/* A plain (RFC 6347) epoch-1 record from the server (our CID is empty): its content, or -1. */
static int open_plain(const uint8_t *r, size_t n, uint8_t type, uint8_t *out)
{
	if (n < 13 + 8 + 8 || r[0] != type || be16(r + 3) != 1 || 13 + be16(r + 11) > n)
		return -1;
	size_t pl = be16(r + 11) - 16;
	uint8_t aad[13], nonce[12];
	memcpy(aad, r + 3, 8);
	aad[8] = type;
	aad[9] = 0xfe;
	aad[10] = 0xfd;
	put16(aad + 11, (unsigned)pl);
	memcpy(nonce, siv, 4);
	memcpy(nonce + 4, r + 13, 8);
	Aes a;
	wc_AesInit(&a, NULL, INVALID_DEVID);
	wc_AesCcmSetKey(&a, skey, 16);
	int rc = wc_AesCcmDecrypt(&a, out, r + 21, (word32)pl, nonce, 12, r + 21 + pl, 8, aad, 13);
	wc_AesFree(&a);
	return rc == 0 ? (int)pl : -1;
}

static size_t client_hello(uint8_t *out, unsigned mseq, const uint8_t *cookie, uint8_t clen)
{
	uint8_t b[128], m[160];
	size_t i = 0;
	b[i++] = 0xfe;
	b[i++] = 0xfd;
	memcpy(b + i, cr, 32);
	i += 32;
	b[i++] = 0;
	b[i++] = clen;
	memcpy(b + i, cookie, clen);
	i += clen;
	static const uint8_t rest[] = {0, 2, 0xc0, 0xa8, 1, 0,
				       0, 5, 0x00, 0x36, 0x00, 0x01, 0x00}; /* connection_id: "" */
	memcpy(b + i, rest, sizeof(rest));
	i += sizeof(rest);
	size_t ml = hs_msg(m, 1, mseq, b, i);
	if (mseq == 1) /* RFC 6347 4.2.1: the transcript starts at ClientHello 2 */
		wc_Sha256Update(&transcript, m, (word32)ml);
	return record0(out, 22, m, ml);
}

static int handshake(int s, const char *identity, const uint8_t *psk, size_t psk_len)
{
	uint8_t dg[1500], out[1500];
	size_t n;
	for (int i = 0; i < 32; i++)
		cr[i] = (uint8_t)rand();
	wc_InitSha256(&transcript);
	tx(s, out, client_hello(out, 0, NULL, 0));
	n = rx(s, dg, sizeof(dg), 5000);
	if (n < 13 + 12 + 3 || dg[0] != 22 || dg[13] != 3)
		return -1;
	uint8_t clen = dg[13 + 12 + 2];
	if (13 + 12 + 3 + (size_t)clen > n)
		return -1;
	tx(s, out, client_hello(out, 1, dg + 13 + 12 + 3, clen));
	n = rx(s, dg, sizeof(dg), 5000);
	int done = 0;
	for (size_t off = 0; off + 13 <= n;) {
		size_t rl = be16(dg + off + 11);
		const uint8_t *m = dg + off + 13;
		if (dg[off] != 22 || off + 13 + rl > n)
			return -1;
		wc_Sha256Update(&transcript, m, (word32)rl);
		if (m[0] == 2) {
			const uint8_t *b = m + 12;
			memcpy(sr, b + 2, 32);
			size_t i = 2 + 32 + 1 + b[34] + 2 + 1, end = rl - 12;
			if (i + 2 <= end)
				for (i += 2; i + 4 <= end;) {
					unsigned t = be16(b + i), l = be16(b + i + 2);
					if (t == 54 && l >= 1 && b[i + 4] == l - 1) {
						scid_len = b[i + 4];
						memcpy(scid, b + i + 5, scid_len);
					}
					i += 4 + l;
				}
		}
		done |= m[0] == 14;
		off += 13 + rl;
	}
	if (!done || !scid_len)
		return -2;
	/* ClientKeyExchange, keys, Finished */
	uint8_t body[130], m[160], th[32], pms[4 + 128], kb[40], vd[12], fin[24];
	size_t il = strlen(identity);
	put16(body, (unsigned)il);
	memcpy(body + 2, identity, il);
	size_t ml = hs_msg(m, 16, 2, body, 2 + il);
	wc_Sha256Update(&transcript, m, (word32)ml);
	size_t o = record0(out, 22, m, ml);
	o += record0(out + o, 20, (const uint8_t *)"\x01", 1);
	put16(pms, (unsigned)psk_len);
	memset(pms + 2, 0, psk_len);
	put16(pms + 2 + psk_len, (unsigned)psk_len);
	memcpy(pms + 4 + psk_len, psk, psk_len);
	emse_tls12_prf(pms, 4 + 2 * psk_len, "master secret", cr, 32, sr, 32, ms, 48);
	emse_tls12_prf(ms, 48, "key expansion", sr, 32, cr, 32, kb, 40);
	memcpy(ckey, kb, 16);
	memcpy(skey, kb + 16, 16);
	memcpy(civ, kb + 32, 4);
	memcpy(siv, kb + 36, 4);
	wc_Sha256 t2;
	wc_Sha256Copy(&transcript, &t2);
	wc_Sha256Final(&t2, th);
	emse_tls12_prf(ms, 48, "client finished", th, 32, NULL, 0, vd, 12);
	hs_msg(fin, 20, 3, vd, 12);
	wc_Sha256Update(&transcript, fin, sizeof(fin));
	o += seal_cid(out + o, seq1++, 22, fin, sizeof(fin));
	tx(s, out, o);
	/* the server's ChangeCipherSpec and Finished (plain: our CID is empty) */
	n = rx(s, dg, sizeof(dg), 5000);
	if (n < 14 || dg[0] != 20)
		return -3;
	uint8_t got[64];
	if (open_plain(dg + 14, n - 14, 22, got) != 24)
		return -4;
	wc_Sha256Final(&transcript, th);
	emse_tls12_prf(ms, 48, "server finished", th, 32, NULL, 0, vd, 12);
	return memcmp(got + 12, vd, 12) == 0 ? 0 : -5;
}

/* A fresh application record from s; true if its echo comes back to s (and only there: other
 * sockets in quiet[] hear nothing). */
static int echo(int s, const char *msg, const int *quiet, int nq)
{
	uint8_t r[600], dg[1500], got[600];
	tx(s, r, seal_cid(r, seq1++, 23, (const uint8_t *)msg, strlen(msg)));
	size_t n = rx(s, dg, sizeof(dg), 5000);
	int pl = n ? open_plain(dg, n, 23, got) : -1;
	int ok = pl == (int)strlen(msg) && memcmp(got, msg, (size_t)pl) == 0;
	for (int i = 0; i < nq; i++)
		ok &= rx(quiet[i], dg, sizeof(dg), 0) == 0;
	return ok;
}

static int silent(int s)
{
	uint8_t dg[1500];
	return rx(s, dg, sizeof(dg), 700) == 0;
}

int main(int argc, char **argv)
{
	const char *ip = NULL, *identity = NULL, *pskhex = NULL;
	int port = 5684;
	static const struct option opts[] = {
		{"dst", required_argument, NULL, 'd'}, {"port", required_argument, NULL, 'p'},
		{"identity", required_argument, NULL, 'i'}, {"psk", required_argument, NULL, 'k'},
		{NULL, 0, NULL, 0}};
	for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		if (c == 'd')
			ip = optarg;
		else if (c == 'p')
			port = atoi(optarg);
		else if (c == 'i')
			identity = optarg;
		else if (c == 'k')
			pskhex = optarg;
		else
			return 100;
	}
	uint8_t psk[64];
	size_t psk_len = pskhex ? strlen(pskhex) / 2 : 0;
	if (!ip || !identity || !psk_len || psk_len > sizeof(psk) || strlen(identity) > 128) {
		fprintf(stderr, "usage: cid-probe --dst IPv4 --port P --identity ID --psk HEX\n");
		return 100;
	}
	for (size_t i = 0; i < psk_len; i++)
		sscanf(pskhex + 2 * i, "%2hhx", &psk[i]);
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &dst.sin_addr);
	srand((unsigned)getpid());

	int s1 = sock_new(), s2 = sock_new(), a = sock_new();
	int hr = handshake(s1, identity, psk, psk_len);
	char what[96];
	snprintf(what, sizeof(what), "handshake with a zero-length CID offer (server CID %u octets; %d)",
		 scid_len, hr);
	result(hr == 0, what);
	if (hr != 0)
		return fails;
	result(echo(s1, "hello-cid-1", NULL, 0), "record echoed");

	/* the NAT rebinds: the same session from a new port */
	result(echo(s2, "after-rebind", (int[]){s1}, 1), "rebind: echoed to the new port, not the old");

	/* replay of an earlier record, from another port */
	uint8_t r[600], keep[600];
	size_t kn = seal_cid(keep, seq1++, 23, (const uint8_t *)"kept", 4);
	tx(s2, keep, kn); /* delivered once from the current port */
	uint8_t dg[1500];
	rx(s2, dg, sizeof(dg), 5000);
	tx(a, keep, kn);
	result(silent(a) && silent(s2), "replay from another port: no answer anywhere");
	result(echo(s2, "still-here-1", (int[]){a}, 1), "replay: the session did not move");

	/* a forged record (its tag changed), from another port */
	size_t fn = seal_cid(r, seq1, 23, (const uint8_t *)"forged", 6);
	r[fn - 1] ^= 0x5a;
	tx(a, r, fn);
	result(silent(a) && silent(s2), "forged record from another port: no answer anywhere");
	result(echo(s2, "still-here-2", (int[]){a}, 1), "forged: the session did not move");

	/* an authentic record older than the newest, from another port */
	size_t on = seal_cid(keep, seq1++, 23, (const uint8_t *)"older", 5);
	result(echo(s2, "newer", NULL, 0), "the newer record echoed");
	tx(a, keep, on);
	result(silent(a) && silent(s2), "older authentic record from another port: no answer");
	result(echo(s2, "still-here-3", (int[]){a}, 1), "older: the session did not move");

	/* a CID that is none of the server's */
	uint8_t saved[255];
	memcpy(saved, scid, scid_len);
	for (unsigned i = 1; i < scid_len; i++)
		scid[i] = (uint8_t)rand();
	tx(a, r, seal_cid(r, seq1++, 23, (const uint8_t *)"who", 3));
	memcpy(scid, saved, scid_len);
	result(silent(a), "unknown CID: no answer");
	result(echo(s2, "still-here-4", NULL, 0), "the session still answers at its port");
	close(s1);
	close(s2);
	close(a);
	printf("cid-probe: %d failed\n", fails);
	return fails;
}
