/* Sessions that outlive a restart (issue 14, docs/persist.md): established compact sessions are
 * written to one file sealed with AES-256-GCM under [persist] key_file, and put back into the
 * workers' tables at the next start-up with the same settings.
 *
 * Who runs what: everything here runs on the main lcore (control thread), off the packet path,
 * except emse_persist_worker_poll, which a worker calls on its timer tick to answer a live
 * snapshot request by serializing its own sessions into a buffer the main thread gave it (no lock,
 * no allocation on the worker). At SIGTERM the workers have stopped before the main thread reads
 * their tables directly.
 *
 * File layout (little-endian), version EMSE_PERSIST_VERSION:
 *   header (EMSE_PERSIST_HDR bytes, the AEAD's additional data): magic "EMSESESS", u32 version,
 *     u32 reserved (0), u64 creation time (unix s), u64 entry count, 12-byte GCM nonce, 4 zero
 *   body: the entries (emse_persist_entry_encode), encrypted
 *   16-byte GCM tag
 * An entry holds the session record state as a fixed layout with its own version octet
 * (EMSE_PERSIST_REC_V1), so the record state can grow (Connection ID) without a new file
 * format for the rest. */
#ifndef EMSE_PERSIST_H
#define EMSE_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emse/dtls/cid.h"
#include "emse/e2m.h"
#include "emse/net/net.h"
#include "emse/dtls/record.h"
#include "emse/telemetry.h"

#define EMSE_PERSIST_MAGIC "EMSESESS"
#define EMSE_PERSIST_VERSION 1u
#define EMSE_PERSIST_HDR 48
#define EMSE_PERSIST_TAG 16
#define EMSE_PERSIST_KEY_LEN 32
#define EMSE_PERSIST_REC_V1 1
/* Largest encoded entry: fixed part, the two CID lengths, the longest CIDs with their check bits
 * and the longest identity. */
#define EMSE_PERSIST_ENTRY_MAX 288

/* The nonce margin (docs/persist.md): one port at 100 Gb/s carries at most ~125 M of the
 * smallest DTLS records (~100 B on the wire with preamble and gap) a second, below 2^27; so no
 * session can have sealed more than 2^27 records in a second. A restored session's write sequence
 * jumps by (max_age_s + 1) * 2^27: more than the old process can have sealed after the save,
 * since the file is refused when older than max_age_s. */
#define EMSE_PERSIST_RATE_LOG2 27
#define EMSE_PERSIST_MAX_AGE_MAX (1u << 20) /* 12 days: the margin stays below 2^47 */
#define EMSE_REC_SEQ_MAX ((1ull << 48) - 1)

static inline uint64_t emse_persist_wseq_margin(uint32_t max_age_s)
{
	return ((uint64_t)max_age_s + 1) << EMSE_PERSIST_RATE_LOG2;
}

/* One session, as saved. */
struct emse_persist_entry {
	struct emse_flow flow;      /* local_mac is not trusted on load: the port's MAC is used */
	uint8_t listener;
	uint64_t idle_deadline;     /* unix s: when the session would have ended idle */
	struct emse_record_state rec; /* flight and kslot are not saved (held flights and key-cache
				       * slots belong to the old process); of flags only the RFC 9146
				       * bits (EMSE_REC_F_CID, the peer CID's length), with cid_check */
	/* RFC 9146, with EMSE_REC_F_CID: our CID as the client knows it (cid_len octets, 4..16: it
	 * names the worker and slot the session must get back, under the same [cluster] key and
	 * node_id) and the client's CID (emse_rec_peer_cid_len(&rec) octets). The entry holds them
	 * after the two length octets (read CID, write CID; 0 and 0 without CIDs, as v1 wrote), then
	 * cid_check (2). */
	uint8_t cid_len;
	uint8_t cid[EMSE_CID_MAX];
	uint8_t peer_cid[EMSE_REC_PEER_CID_MAX];
	bool has_id;
	struct e2m_identity id;
};

/* Why a file was not loaded. */
enum emse_persist_refuse {
	EMSE_PERSIST_OK = 0,
	EMSE_PERSIST_R_IO,         /* cannot read it */
	EMSE_PERSIST_R_TRUNCATED,  /* shorter than its header and tag */
	EMSE_PERSIST_R_MAGIC,      /* not a session file */
	EMSE_PERSIST_R_VERSION,    /* another format version */
	EMSE_PERSIST_R_AUTH,       /* the tag does not verify: wrong key, or altered/truncated body */
	EMSE_PERSIST_R_MALFORMED,  /* authentic but the entries do not parse (a bug, not an attack) */
	EMSE_PERSIST_R_TOO_OLD,    /* created more than max_age_s ago */
	EMSE_PERSIST_R_FUTURE,     /* created in the future: the clock moved back, age unknown */
	EMSE_PERSIST_R__COUNT
};
const char *emse_persist_refuse_name(enum emse_persist_refuse r);

/* Why one entry of a good file was not restored. */
enum emse_persist_drop {
	EMSE_PERSIST_D_IDLE = 0,   /* its idle deadline passed */
	EMSE_PERSIST_D_SEQ,        /* the margin would take its write sequence past 2^48 - 1 */
	EMSE_PERSIST_D_LISTENER,   /* no listener with that index, address and port any more */
	EMSE_PERSIST_D_FULL,       /* the owning worker's table (or identity arena) is full */
	EMSE_PERSIST_D_DUPLICATE,  /* the same flow twice */
	EMSE_PERSIST_D_CID,        /* its CID names no free slot of ours any more (other CID key,
				    * node_id, cid_length or worker count; CIDs off; slot taken) */
	EMSE_PERSIST_D__COUNT
};
const char *emse_persist_drop_name(enum emse_persist_drop d);

/* Counters of the main thread (single writer), exported with the workers' ones. */
struct emse_persist_stats {
	uint64_t saves, save_failures, sessions_saved, save_us_last, save_bytes_last;
	uint64_t loads, sessions_restored, load_us_last, files_too_old;
	uint64_t dropped[EMSE_PERSIST_D__COUNT];
	uint64_t refused[EMSE_PERSIST_R__COUNT];
};
extern struct emse_persist_stats emse_persist_stats;
void emse_persist_stats_walk(const struct emse_persist_stats *s, emse_emit_fn emit, void *ctx);

/* ---- pure parts (unit-tested without DPDK) ---------------------------------------------------- */

/* Writes e into out; returns its length (<= EMSE_PERSIST_ENTRY_MAX), 0 if cap is too small. */
size_t emse_persist_entry_encode(const struct emse_persist_entry *e, uint8_t *out, size_t cap);
/* Strict: returns 0 and *used, or -1. */
int emse_persist_entry_decode(const uint8_t *in, size_t len, size_t *used,
			      struct emse_persist_entry *e);

/* The key: 32 raw bytes, or 64 hex digits (and an optional newline). -1 with err naming why. */
int emse_persist_key_load(const char *path, uint8_t key[EMSE_PERSIST_KEY_LEN], char *err,
			  size_t err_size);

struct emse_persist_part {
	const uint8_t *p;
	size_t len;
};
/* Seals the concatenated parts (count entries) into path: written to path.tmp, fsync'd, renamed,
 * the directory fsync'd. The parts are encrypted in a copy-free stream; nothing in clear reaches
 * the disk. Returns the file size, or -1 with err. */
long long emse_persist_write(const char *path, const uint8_t key[EMSE_PERSIST_KEY_LEN],
			     uint64_t created, uint64_t count, const struct emse_persist_part *parts,
			     unsigned n_parts, char *err, size_t err_size);

struct emse_persist_file {
	uint64_t created, count;
	uint8_t *body;             /* plaintext entries (mapped; emse_persist_file_free wipes, unmaps) */
	size_t body_len;
};
/* fsync of the directory holding path (a rename or unlink there is then durable). */
int emse_persist_fsync_dir(const char *path);
/* Reads, checks and opens path. now / max_age_s: the file's age is checked after the tag (an
 * unauthenticated time says nothing). Returns EMSE_PERSIST_OK or why it was refused. */
enum emse_persist_refuse emse_persist_read(const char *path, const uint8_t key[EMSE_PERSIST_KEY_LEN],
					   uint64_t now, uint32_t max_age_s,
					   struct emse_persist_file *f);
void emse_persist_file_free(struct emse_persist_file *f);
/* The next entry at *off; 1 and *e, 0 at the end, -1 malformed. */
int emse_persist_next(const struct emse_persist_file *f, size_t *off, struct emse_persist_entry *e);

/* Where a restored CID session (EMSE_REC_F_CID) goes: the worker and slot its CID names under
 * today's codec c (NULL: no listener has CIDs), which must also give back the saved check bits;
 * cid_length is its listener's (0: cid = off). -1 and *worker, *slot, or EMSE_PERSIST_D_CID. */
int emse_persist_cid_place(const struct emse_cid_codec *c, unsigned cid_length,
			   unsigned n_workers, uint32_t max_sessions,
			   const struct emse_persist_entry *e, unsigned *worker, uint32_t *slot);

/* Whether e may continue at now under max_age_s; applies the write-sequence margin to e->rec.
 * Returns -1 (restore it) or the drop reason. */
int emse_persist_admit(struct emse_persist_entry *e, uint64_t now, uint32_t max_age_s);

/* ---- the running emse (main.c, worker.c) -------------------------------------------------------- */

struct emse_runtime;
struct emse_worker;

/* Reads [persist] key_file when [persist] file is set: 0, or -1 with err naming the setting
 * (main exits 2). */
int emse_persist_setup(const struct emse_runtime *rt, char *err, size_t err_size);
/* Start-up, workers created, port started, workers not launched: loads and distributes. A refused
 * file is logged once and counted; emse goes on empty. The file is removed once loaded, so that
 * it is never loaded twice (a second load would repeat the margin's sequence numbers). */
void emse_persist_load(struct emse_runtime *rt);
/* Asks for a live save (async-signal-safe: SIGUSR2 and the telemetry command call it). */
void emse_persist_request(void);
/* Main loop: performs a requested live save (workers snapshot themselves on their tick). */
void emse_persist_poll(struct emse_runtime *rt);
/* After the workers stopped (SIGTERM): saves from their tables directly. Returns 0 if saved
 * (the caller then ends sessions without close_notify, so peers keep them). */
int emse_persist_save_stopped(struct emse_runtime *rt);
/* Worker, on its tick: answers a pending snapshot request. */
void emse_persist_worker_poll(struct emse_worker *w);
int emse_persist_telemetry_register(void);
/* At exit, workers joined: frees what an interrupted live save left, wipes the file key. */
void emse_persist_fini(struct emse_runtime *rt);

#endif
