/* emse's own DTLS 1.2 PSK server handshake, for the suites the compact record layer serves
 * (PSK-AES128-CCM8, PSK-AES128-GCM-SHA256).
 *
 * Why a second engine: on this machine wolfSSL's server side costs ~9 us a handshake (bench-inproc,
 * pooled objects) against a crypto floor of ~4 us (bench-floor); the difference is its object,
 * allocator and general state machine, and the export that moves an established session out of it.
 * A PSK server handshake with a stateless cookie is small: ServerHello [+ ServerKeyExchange with
 * the hint] + ServerHelloDone, then ClientKeyExchange, ChangeCipherSpec and Finished in, our
 * ChangeCipherSpec and Finished out. This file does exactly that and ends in a compact session
 * (record.h) directly. The worker routes a ClientHello here only if emse_hs12_parse_hello accepts
 * it; everything else (CBC picked, DTLS 1.3 offered, renegotiation, extensions that do not parse)
 * goes to wolfSSL as before, so both engines run side by side (config: handshake_engine).
 *
 * Session resumption by session id (RFC 5246 7.3, docs/persist.md) when the worker gives a session
 * id (emse_hs12_start_sid) and later a cached master secret (emse_hs12_resume); otherwise the
 * session id is empty and clients never try.
 * RFC 9146 connection ids: a ClientHello's connection_id extension is parsed here; the worker
 * answers it with our CID (emse_hs12_start_cid, docs/cid.md) when the listener has cid = on.
 *
 * What is deliberately not done: tickets, max_fragment_length (ignored: our flights are far
 * below any limit); they are extensions a server may leave unanswered. Extended master secret (RFC 7627)
 * and renegotiation_info (RFC 5746, initial handshake) are answered.
 *
 * Retransmission (RFC 6347 4.2.4): our flight 2 is resent, with fresh record sequence numbers, when
 * the client repeats its ClientHello or when our timer runs out; our last flight is kept by
 * record.c's flight table as for wolfSSL-made sessions.
 *
 * Pure: no DPDK, no allocation, no locks. State lives in the worker's per-handshake table. */
#ifndef EMSE_HS12_H
#define EMSE_HS12_H

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stddef.h>
#include <stdint.h>

#include "emse/dtls/dtls_peek.h"
#include "emse/dtls/handshake.h"
#include "emse/dtls/record.h"

/* ServerHello (with a 32-byte session id and a 16-octet CID) + ServerKeyExchange("e2m") +
 * ServerHelloDone (195 bytes at most), or for a resumption ServerHello + ChangeCipherSpec +
 * Finished (to a client CID) */
#define EMSE_HS12_FLIGHT_MAX 256
#define EMSE_HS12_OUT_MAX 96      /* ChangeCipherSpec + Finished (GCM: 14 + 61), or an alert */
#define EMSE_HS12_HINT_MAX 16
#define EMSE_HS12_MS_LEN 48

/* What a ClientHello asks for, once emse_hs12_parse_hello accepted it. Pointers into the
 * datagram: use before it is freed. */
struct emse_hs12_hello {
	const uint8_t *msg;      /* the handshake message, 12-byte header included (transcript) */
	size_t msg_len;
	const uint8_t *random;   /* 32 bytes */
	uint64_t record_seq;
	uint16_t message_seq;
	uint8_t suite[2];
	uint8_t cipher;          /* enum emse_rec_cipher */
	uint8_t ems;             /* the client offered extended_master_secret */
	uint8_t ri;              /* the client signalled renegotiation_info (extension or SCSV) */
	uint8_t cid_offered;     /* RFC 9146 connection_id, with a client CID we can keep (<= 4
				  * octets, EMSE_REC_PEER_CID_MAX; a longer one is not answered) */
	uint8_t peer_cid_len;    /* the client's CID: what our records to it carry (0: none) */
	const uint8_t *peer_cid;
};

enum emse_hs12_phase { EMSE_HS12_WAIT_CKE = 1, EMSE_HS12_WAIT_CCS, EMSE_HS12_WAIT_FIN };

struct emse_hs12 {
	wc_Sha256 transcript;          /* SHA-256 of the handshake messages since ClientHello 2, up to
					* the ClientKeyExchange (then wiped) */
	struct emse_record_state rec;  /* epoch 1 once the ClientKeyExchange is in: the session */
	uint8_t client_vd[12];         /* the client's Finished we expect, and ours */
	uint8_t server_vd[12];
	uint8_t client_random[32], server_random[32];
	uint64_t tx_seq;               /* next epoch-0 record sequence number we write */
	uint16_t ch_msg_seq;           /* message_seq of the ClientHello we answered */
	uint16_t rx_msg_seq;           /* next message_seq expected from the client */
	uint16_t tx_msg_seq;           /* our next message_seq (the Finished) */
	uint16_t flight_len;
	uint8_t phase;                 /* enum emse_hs12_phase */
	uint8_t ems;
	uint8_t rtx;                   /* our flight 2 timer: 1 s << rtx (RFC 6347 4.2.4.1) */
	uint8_t flight[EMSE_HS12_FLIGHT_MAX];
	/* Session resumption: the session id our ServerHello carries (empty when the worker keeps no
	 * cache), the master secret kept for the cache after a full handshake (the worker stores and
	 * wipes it), and whether this handshake is an abbreviated one. */
	uint8_t sid[32];
	uint8_t sid_len;
	uint8_t resumed;
	uint8_t ms[48];
	uint8_t cid_len;               /* our CID (0: not negotiated), the client's */
	uint8_t cid[16];
	uint8_t peer_cid[EMSE_REC_PEER_CID_MAX];
};

/* Whether this engine serves the ClientHello ch (parsed by dtls_parse_client_hello, cookie
 * checked), given the configured suites (EMSE_SUITE_* bits, server preference CCM-8, GCM, CBC as
 * for wolfSSL). Fills *out on EMSE_HS12_OK; its pointers point into ch's datagram. */
enum emse_hs12_skip emse_hs12_parse_hello(const struct dtls_client_hello *ch, uint32_t suites,
					  struct emse_hs12_hello *out);

/* Starts the handshake: builds flight 2 into h->flight (h->flight_len bytes, one datagram) for the
 * caller to send. hint: "" or the PSK identity hint (ServerKeyExchange). Returns 0, or -1 if the
 * RNG failed or the hint is too long. */
int emse_hs12_start(struct emse_hs12 *h, const struct emse_hs12_hello *hello, const char *hint);

/* The same, with our session id sid (32 octets, NULL: empty) in the ServerHello; with one, the
 * master secret is kept in h->ms once derived, for the resumption cache. */
int emse_hs12_start_sid(struct emse_hs12 *h, const struct emse_hs12_hello *hello, const char *hint,
			const uint8_t *sid);
/* The same, answering the client's connection_id offer (hello->cid_offered) with our CID cid of
 * cid_len (4..16) octets: the session then has EMSE_REC_F_CID and the client's CID (h->rec,
 * h->peer_cid), and the client's Finished is expected as a tls12_cid record. cid_len 0 or no offer:
 * emse_hs12_start. */
int emse_hs12_start_cid(struct emse_hs12 *h, const struct emse_hs12_hello *hello, const char *hint,
			const uint8_t *cid, unsigned cid_len);
/* Both: a session id (or NULL) and a CID (or cid_len 0) in the one ServerHello. */
int emse_hs12_start_sid_cid(struct emse_hs12 *h, const struct emse_hs12_hello *hello,
			    const char *hint, const uint8_t *sid, const uint8_t *cid,
			    unsigned cid_len);
/* An abbreviated handshake (RFC 5246 7.3): the ClientHello asked for session sid, whose master
 * secret ms the cache holds (the caller checked that hello offers the same suite and extended
 * master secret state, and set them in hello). Builds ServerHello + ChangeCipherSpec + Finished into
 * h->flight for the caller to send; the client's ChangeCipherSpec and Finished then end it
 * (EMSE_HS12_DONE with nothing to send). A connection_id offer is answered with cid as in
 * emse_hs12_start_cid (cid_len 0: not answered); the Finished then goes to the client's CID.
 * Returns 0 or -1. */
int emse_hs12_resume(struct emse_hs12 *h, struct emse_record_ctx *rc,
		     const struct emse_hs12_hello *hello, const uint8_t *sid, const uint8_t *ms,
		     const uint8_t *cid, unsigned cid_len);
/* Resends flight 2: fresh record sequence numbers, same messages. Returns h->flight. */
const uint8_t *emse_hs12_flight(struct emse_hs12 *h, size_t *len);

enum emse_hs12_rc {
	EMSE_HS12_WANT = 0,  /* waiting for more of the client's flight */
	EMSE_HS12_RESEND,    /* the client repeated its ClientHello: send emse_hs12_flight() */
	EMSE_HS12_DONE,      /* out: our ChangeCipherSpec + Finished; h->rec is the session */
	EMSE_HS12_FATAL,     /* over; out holds an alert to send when *out_len > 0; *why says why */
};

/* Feeds one datagram of the client's flight 3 (or a repeated ClientHello). psk: the key for the
 * identity in its ClientKeyExchange (the worker looked it up from the same datagram). rc: the
 * worker's record context (AES scratch; the Finished is opened and sealed through it). out: at
 * least EMSE_HS12_OUT_MAX bytes. Records it does not expect are ignored, as a DTLS endpoint
 * must (the client repeats them if they mattered). */
enum emse_hs12_rc emse_hs12_input(struct emse_hs12 *h, struct emse_record_ctx *rc,
				  const uint8_t *psk, size_t psk_len, const uint8_t *dg,
				  size_t len, uint8_t *out, size_t *out_len,
				  enum emse_hs_fail *why);

/* A fatal alert in epoch 0 (the client cannot read epoch 1 yet), e.g. unknown_psk_identity (115).
 * Returns its length (15). */
size_t emse_hs12_alert(struct emse_hs12 *h, uint8_t description, uint8_t *out);

/* Wipes the master secret, keys and transcript. */
void emse_hs12_wipe(struct emse_hs12 *h);

/* TLS 1.2 PRF with SHA-256 (RFC 5246 5), keying included (hmac256.h). For tests and benchmarks. */
int emse_tls12_prf(const uint8_t *secret, size_t slen, const char *label, const uint8_t *seed1,
		   size_t s1len, const uint8_t *seed2, size_t s2len, uint8_t *out, size_t outlen);

#endif
