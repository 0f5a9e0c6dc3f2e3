/* Compact record layer for established DTLS 1.2 sessions (issue 6): once a handshake is done, the
 * keys, sequence numbers and replay window are taken out of wolfSSL's session export, the WOLFSSL
 * object is freed, and records are opened and sealed here. An idle session then costs
 * sizeof(struct emse_record_state) (80 B); the AES key schedules of the worker's 64 most recent
 * sessions are kept in a per-worker cache, others expanded when needed (docs/record.md has the
 * measurements behind that choice). AES-GCM and AES-CCM-8 run on dataplane/dtls/aesgcm.c and
 * dataplane/dtls/aesccm.c where the CPU has AES-NI (and PCLMULQDQ), on wolfCrypt otherwise.
 *
 * Supported: AEAD suites with AES-128-GCM and AES-128-CCM-8 (PSK, ECDHE-PSK alike). Anything else
 * (CBC-SHA256, AES-256, ChaCha) makes import fail with EMSE_REC_E_UNSUPPORTED: keep wolfSSL then.
 *
 * Threading: a ctx belongs to one worker; states are plain memory owned by the worker's session
 * table. Nothing here allocates or locks after emse_record_ctx_init. */
#ifndef EMSE_RECORD_H
#define EMSE_RECORD_H

#include <stddef.h>
#include <stdint.h>

typedef struct WOLFSSL WOLFSSL;

#define EMSE_REC_HDR 13            /* type, version, epoch, seq(6), length */
#define EMSE_REC_EXPLICIT 8        /* explicit nonce = epoch || seq */
#define EMSE_REC_MAX_PLAIN 16384   /* RFC 6347 / 5246: 2^14 */
/* Largest expansion of a sealed record over its plaintext (GCM: 13 + 8 + 16). */
#define EMSE_REC_MAX_OVERHEAD (EMSE_REC_HDR + EMSE_REC_EXPLICIT + 16)

enum emse_rec_cipher {
	EMSE_REC_AES128_GCM = 1,
	EMSE_REC_AES128_CCM8 = 2,
};

enum emse_rec_flag {
	EMSE_REC_F_FLIGHT = 1,     /* our last handshake flight is held in the ctx's flight table */
	EMSE_REC_F_HANDSHAKE = 2,  /* hs12.c is still running the handshake: a handshake record
				    * (the peer's Finished) is handed back as EMSE_REC_HANDSHAKE */
	EMSE_REC_F_CID = 4,        /* RFC 9146 negotiated: the peer's records carry our CID
				    * (tls12_cid, emse_record_open_cid); plain ones are refused */
	EMSE_REC_F_PEER_CID = 0x38, /* bits 3-5: length of the peer's CID (0..EMSE_REC_PEER_CID_MAX);
				     * non-zero: what we seal is tls12_cid (emse_record_seal_cid) */
	EMSE_REC_F_UNINDEXED = 0x40, /* the session table's: a CID session whose address another
				      * session's move took (a NAT gave the port to another UE); out
				      * of the 5-tuple index, found by its CID only (session.h) */
};
#define EMSE_REC_PEER_CID_SHIFT 3
#define EMSE_REC_PEER_CID_MAX 4    /* longer client CIDs are not negotiated (docs/cid.md) */
#define EMSE_REC_CT_CID 25         /* RFC 9146 tls12_cid */

/* Everything an established session needs for its records. Keys are wiped by
 * emse_record_wipe (the worker calls it when the session is dropped). */
struct emse_record_state {
	uint8_t rkey[16];          /* the peer's write key: we open with it */
	uint8_t wkey[16];          /* our write key */
	uint8_t rsalt[4];          /* implicit nonce parts (client/server_write_IV) */
	uint8_t wsalt[4];
	uint64_t wseq;             /* next sequence number we write (48 bits) */
	uint64_t rnext;            /* highest sequence opened + 1 (0: none yet) */
	uint64_t window;           /* bit i: record rnext-1-i was opened (RFC 6347 4.1.2.6) */
	uint32_t flight;           /* handle into the ctx's flight table, valid with EMSE_REC_F_FLIGHT */
	uint16_t wepoch, repoch;
	uint8_t cipher;            /* enum emse_rec_cipher */
	uint8_t flags;             /* enum emse_rec_flag */
	uint8_t suite[2];          /* IANA cipher suite, for logs and stats */
	uint16_t kslot;            /* 1 + the ctx key-cache slot last given to it (0: none); a hint,
				    * checked against the slot's owner and keys (fits the padding) */
	uint16_t cid_check;        /* with EMSE_REC_F_CID: the check bits of our CID (cid.h) */
};

static inline unsigned emse_rec_peer_cid_len(const struct emse_record_state *st)
{
	return (unsigned)(st->flags & EMSE_REC_F_PEER_CID) >> EMSE_REC_PEER_CID_SHIFT;
}

/* Why a record was dropped or could not be sealed; each has a counter in the ctx. */
enum emse_rec_drop {
	EMSE_REC_MALFORMED = 0,    /* header, version or lengths wrong; rest of the datagram skipped */
	EMSE_REC_WRONG_EPOCH,      /* not the current read epoch */
	EMSE_REC_REPLAY,           /* already opened (bit set in the window) */
	EMSE_REC_TOO_OLD,          /* left of the 64-record window */
	EMSE_REC_BAD_TAG,          /* AEAD verification failed */
	EMSE_REC_UNEXPECTED,       /* decrypted, but a type or message we do not handle here */
	EMSE_REC_SEQ_EXHAUSTED,    /* seal: 2^48 records written, the session must end */
	EMSE_REC_TOO_BIG,          /* seal: plaintext > 2^14 or output buffer too small */
	EMSE_REC_FLIGHT_GONE,      /* a retransmission was asked for but the flight was evicted */
	EMSE_REC_CRYPTO,           /* wolfCrypt refused the operation (not a tag mismatch) */
	EMSE_REC_DROP_MAX
};
extern const char *const emse_rec_drop_names[EMSE_REC_DROP_MAX];

/* What emse_record_open found. */
enum emse_rec_rc {
	EMSE_REC_DATA = 0,         /* application data: *plain_len bytes in out */
	EMSE_REC_ALERT,            /* alert: out[0] level, out[1] description (see emse_rec_alert_*) */
	EMSE_REC_RETX,             /* the peer retransmitted its Finished: our last flight was lost;
				    * resend emse_record_flight() */
	EMSE_REC_DROP,             /* dropped and counted; *reason says why */
	EMSE_REC_HANDSHAKE,        /* with EMSE_REC_F_HANDSHAKE: a handshake record, *plain_len
				    * bytes in out */
};

/* Import errors. */
enum {
	EMSE_REC_E_PARSE = -1,       /* the blob does not parse (version, lengths, values) */
	EMSE_REC_E_UNSUPPORTED = -2, /* parses, but not a cipher this layer handles */
	EMSE_REC_E_STATE = -3,       /* not an established DTLS 1.2 session */
	EMSE_REC_E_EXPORT = -4,      /* wolfSSL_dtls_export failed */
};

#define EMSE_FLIGHT_BYTES 192      /* GCM: CCS 14 + Finished 61; room for a split flight */
#define EMSE_FLIGHT_MAX_DG 3

/* One held flight; see emse_record_flight_hold. */
struct emse_flight_slot {
	uint32_t handle;           /* 0: free */
	uint8_t n_dg;
	uint16_t len[EMSE_FLIGHT_MAX_DG];
	uint8_t bytes[EMSE_FLIGHT_BYTES];
};

struct emse_record_stats {
	uint64_t opened;           /* application records delivered */
	uint64_t sealed;
	uint64_t alerts;
	uint64_t retx;             /* Finished retransmissions reported */
	uint64_t flights_held, flights_released, flights_evicted;
	uint64_t keys_expanded;    /* key-cache misses: a session's two schedules expanded */
	uint64_t drops[EMSE_REC_DROP_MAX];
};

/* Expanded keys of the sessions that sent records last, per worker (~2.7 KB a slot: wolfCrypt's
 * and aesgcm.c's forms of both directions). */
#define EMSE_REC_KEY_SLOTS 64
struct emse_key_slot;

/* Per-worker: the scratch key (~1.3 KB, keyed per record when there is no key cache), the key
 * cache, the flight table and the counters. */
struct emse_record_ctx {
	void *scratch;             /* one direction's key (ours and wolfCrypt's), opaque here */
	int gcm_fast;              /* 1: GCM keyed by the AES-NI schedule alone (self-tested) */
	int gcm_ni;                /* 1: GCM by dataplane/dtls/aesgcm.c (the CPU has AES-NI and PCLMULQDQ);
				    * 0: by wolfCrypt (bench-record clears it to compare) */
	int ccm_ni;                /* the same for CCM-8 and dataplane/dtls/aesccm.c */
	struct emse_key_slot *keys; /* n_keys slots; a slot is taken round-robin on a miss */
	uint32_t n_keys, key_next;
	struct emse_flight_slot *flights;
	uint32_t n_flights;
	uint32_t next_handle;
	struct emse_record_stats st;
};

/* n_flights: flights held at once per worker (ring: the oldest is evicted). Returns 0 or -1.
 * With EMSE_REC_KEY_SLOTS key-cache slots. */
int emse_record_ctx_init(struct emse_record_ctx *c, uint32_t n_flights);
/* The same with n_key_slots slots; 0: no cache, every record expands its key into the scratch
 * and wipes it after (bench-record's floor). */
int emse_record_ctx_init_keys(struct emse_record_ctx *c, uint32_t n_flights, uint32_t n_key_slots);
void emse_record_ctx_fini(struct emse_record_ctx *c);
/* Bytes the key cache takes (n_key_slots x ~2.7 KB), for memory reports and tests. */
size_t emse_record_keys_bytes(const struct emse_record_ctx *c);
/* Bytes of the per-worker scratch key. */
size_t emse_record_scratch_bytes(void);

/* From a wolfSSL_dtls_export blob (strictly parsed; nothing is kept on failure). */
int emse_record_import_blob(struct emse_record_state *st, const uint8_t *blob, size_t len);
/* Exports ssl (custom I/O needs the IOGetPeer callback on its CTX) and imports it; the caller may
 * free ssl afterwards. The temporary blob is wiped. */
int emse_record_import(struct emse_record_state *st, WOLFSSL *ssl);
/* Wipes keys and everything else, and the key-cache slot holding its schedules; releases a held
 * flight. */
void emse_record_wipe(struct emse_record_ctx *c, struct emse_record_state *st);
/* The state was copied from *from to *to (hs12.c's handshake state becoming the session): its
 * key-cache slot follows it, so the session's next record finds its keys and emse_record_wipe(to)
 * wipes them. */
void emse_record_moved(struct emse_record_ctx *c, const struct emse_record_state *from,
		       struct emse_record_state *to);

/* Keeps our last handshake flight (the datagrams wolfSSL sent while completing the handshake:
 * ChangeCipherSpec + Finished) so it can be resent byte for byte if the peer retransmits its
 * Finished. Released by the peer's first application record (proof our Finished arrived), by
 * emse_record_wipe, or evicted by newer flights. Returns 0, or -1 if it does not fit. */
int emse_record_flight_hold(struct emse_record_ctx *c, struct emse_record_state *st,
			    const uint8_t *const dg[], const size_t len[], unsigned n_dg);
/* The held flight, or NULL (never held, released or evicted). */
const struct emse_flight_slot *emse_record_flight(struct emse_record_ctx *c,
						   const struct emse_record_state *st);
void emse_record_flight_release(struct emse_record_ctx *c, struct emse_record_state *st);
/* Datagram i of a held flight. */
static inline const uint8_t *emse_flight_dg(const struct emse_flight_slot *f, unsigned i)
{
	size_t off = 0;
	for (unsigned k = 0; k < i; k++)
		off += f->len[k];
	return f->bytes + off;
}

/* Opens the first record of buf[0..len): a datagram holds one or more records; call again at
 * buf + *consumed while *consumed < len (a MALFORMED drop consumes the rest). out needs room for
 * the record's ciphertext (len bytes is always enough); it must not overlap buf except exactly in
 * place: out == buf + EMSE_REC_HDR + EMSE_REC_EXPLICIT (the record's payload, zeroed if the tag
 * fails). The replay window moves only after the tag verified. *reason is set on
 * EMSE_REC_DROP. */
enum emse_rec_rc emse_record_open(struct emse_record_ctx *c, struct emse_record_state *st,
				  const uint8_t *buf, size_t len, size_t *consumed, uint8_t *out,
				  size_t *plain_len, uint8_t *content_type,
				  enum emse_rec_drop *reason);

/* The same for a session with EMSE_REC_F_CID whose records carry our CID of cid_len octets: a
 * tls12_cid record (RFC 9146: type 25, the CID after the sequence number, the AAD of its section 5,
 * the real content type and zero padding inside) is opened, and the real type and content handed
 * back as emse_record_open does; a record of another type goes to emse_record_open. The caller
 * has matched the CID to the session; cid_len is at most EMSE_CID_MAX (cid.h), longer is
 * MALFORMED. In place: out == buf + EMSE_REC_HDR + cid_len + EMSE_REC_EXPLICIT. An inner plaintext
 * of zeros only is MALFORMED. */
enum emse_rec_rc emse_record_open_cid(struct emse_record_ctx *c, struct emse_record_state *st,
				      const uint8_t *buf, size_t len, unsigned cid_len,
				      size_t *consumed, uint8_t *out, size_t *plain_len,
				      uint8_t *content_type, enum emse_rec_drop *reason);

/* RFC 9146 6: whether the record just opened (rnext_before: st->rnext before the open) was newer
 * than every record opened before it, the condition for taking its source as the peer's address. A
 * replayed, too old or forged record never opens; a reordered older one opens but is not newer. */
static inline int emse_rec_was_newest(const struct emse_record_state *st, uint64_t rnext_before)
{
	return st->rnext > rnext_before;
}

/* Seals one record of content type type into out (cap bytes: len + EMSE_REC_MAX_OVERHEAD is
 * enough); plain may be exactly out + EMSE_REC_HDR + EMSE_REC_EXPLICIT (sealed in place), no other
 * overlap. Returns 0, or -1 with the reason counted (TOO_BIG, SEQ_EXHAUSTED, CRYPTO). */
int emse_record_seal(struct emse_record_ctx *c, struct emse_record_state *st, uint8_t type,
		     const uint8_t *plain, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* emse_record_seal, as tls12_cid to the peer's CID peer_cid (emse_rec_peer_cid_len(st) octets)
 * when that length is not zero: + 1 + the CID's length over emse_record_seal's output. plain may
 * be exactly out + EMSE_REC_HDR + cid length + EMSE_REC_EXPLICIT. */
int emse_record_seal_cid(struct emse_record_ctx *c, struct emse_record_state *st, uint8_t type,
			 const uint8_t *peer_cid, const uint8_t *plain, size_t len, uint8_t *out,
			 size_t cap, size_t *out_len);
#define EMSE_REC_CID_OVERHEAD (1 + EMSE_REC_PEER_CID_MAX)

enum { EMSE_REC_CT_CCS = 20, EMSE_REC_CT_ALERT = 21, EMSE_REC_CT_HANDSHAKE = 22,
       EMSE_REC_CT_APP = 23 };
enum { EMSE_REC_ALERT_WARNING = 1, EMSE_REC_ALERT_FATAL = 2, EMSE_REC_ALERT_CLOSE_NOTIFY = 0 };

/* Seals a close_notify alert (warning level, RFC 5246 7.2.1). */
int emse_record_seal_close_notify(struct emse_record_ctx *c, struct emse_record_state *st,
				  uint8_t *out, size_t cap, size_t *out_len);

#endif
