/* emse-bench's own DTLS 1.2 PSK client handshake (RFC 6347 over RFC 5246, RFC 4279 PSK, RFC 7627
 * extended master secret when the server echoes it, RFC 9146 connection_id): ClientHello, the
 * cookie round trip, ServerHello [ServerKeyExchange] ServerHelloDone, ClientKeyExchange,
 * ChangeCipherSpec, Finished, and the server's Finished checked. Why: wolfSSL 5.7.2's client has
 * no DTLS 1.2 Connection ID (from 5.7.6 only), and the UEs of the CID benchmarks must negotiate one.
 * It ends in the generator's own record layer (record.h), which seals every record afterwards.
 * No sockets, no DPDK, no heap: a datagram in, a flight out. */
#ifndef BENCH_HS_CLIENT_H
#define BENCH_HS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "emse/e2m.h"
#include "record.h"

#define HSC_FLIGHT_MAX 512
#define HSC_COOKIE_MAX 255
#define HSC_OWN_CID_MAX 16

/* what the session offers */
enum hsc_cid { HSC_CID_OFF = 0, HSC_CID_ON, HSC_CID_EMPTY };

enum hsc_rc {
	HSC_WANT = 0,     /* nothing to send; wait */
	HSC_SEND = 1,     /* a new flight is in hsc_flight() */
	HSC_DONE = 2,     /* handshake over: the record keys are set (the last flight stays sent) */
	HSC_FAIL = -1,    /* protocol error, or the server's Finished does not verify */
	HSC_ALERT = -2,   /* the server sent a fatal alert: hsc.alert */
};

enum hsc_why { HSC_WHY_PROTOCOL = 1, HSC_WHY_NO_CID, HSC_WHY_FINISHED };

struct hsc {
	uint8_t phase;               /* HSC_P_* in hs_client.c */
	uint8_t ccm;                 /* CCM-8, else GCM */
	uint8_t ems;                 /* the server echoed extended_master_secret */
	uint8_t cid_mode, own_cid_len, cid_negotiated;
	uint8_t peer_cid_len, cookie_len;
	uint8_t alert;               /* the server's alert description */
	uint8_t why;                 /* HSC_FAIL: enum hsc_why */
	uint8_t id_len;
	uint16_t tx_mseq;            /* our next handshake message_seq */
	uint16_t rx_mseq;            /* the server's next message_seq we take */
	uint8_t rx_started;          /* rx_mseq was set from the ServerHello */
	uint64_t seq0;               /* our next epoch-0 record sequence number */
	uint8_t client_random[32], server_random[32];
	uint8_t own_cid[HSC_OWN_CID_MAX], peer_cid[REC_CID_MAX];
	uint8_t cookie[HSC_COOKIE_MAX];
	char identity[E2M_PSK_IDENTITY_MAX];
	uint8_t psk[E2M_KEY_LEN];
	uint8_t ms[48];
	uint8_t server_vd[12];
	/* the handshake transcript (RFC 6347 4.2.6 headers): OpenSSL's SHA256_CTX, opaque here
	 * because the generator's wolfSSL headers (opensslextra) define their own of that name */
	_Alignas(16) uint8_t th_ctx[128];
	uint16_t ch_len, flight_len;
	uint8_t ch[HSC_FLIGHT_MAX];  /* the last ClientHello message (transcript starts with it) */
	uint8_t flight[HSC_FLIGHT_MAX];
};

/* Starts a handshake: suite "ccm8" or "gcm"; client_random and own_cid come from the caller's
 * RNG (own_cid_len octets, used with HSC_CID_ON; HSC_CID_EMPTY offers a zero-length one). The
 * ClientHello is in hsc_flight(). 0, or -1 on a bad argument. */
int hsc_start(struct hsc *h, int ccm, const char *identity, size_t id_len,
	      const uint8_t psk[E2M_KEY_LEN], enum hsc_cid cid, const uint8_t client_random[32],
	      const uint8_t *own_cid, uint8_t own_cid_len);
/* One datagram from the server. On HSC_DONE, k holds the epoch-1 keys (our next sequence number
 * 1, the Finished was 0) and the CIDs. */
enum hsc_rc hsc_input(struct hsc *h, const uint8_t *dg, size_t len, struct rec_keys *k);
/* The flight to (re)send. */
static inline const uint8_t *hsc_flight(const struct hsc *h, uint16_t *len)
{
	*len = h->flight_len;
	return h->flight;
}
/* Wipes the secrets (the PSK, the master secret, the transcript). */
void hsc_wipe(struct hsc *h);

/* TLS 1.2 PRF (SHA-256) and the verify_data of a Finished (12 octets), exposed for tests. */
void hsc_prf(const uint8_t *secret, size_t slen, const char *label, const uint8_t *seed,
	     size_t seed_len, uint8_t *out, size_t out_len);

#endif
