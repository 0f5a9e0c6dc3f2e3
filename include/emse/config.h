/* emse's configuration: an INI file ([emse], [port], [listener NAME]..., [keys], [emks],
 * [telemetry]). Every setting is validated at load; an error names the file, line and setting,
 * and the caller exits with status 2. See docs/config.md for every setting and its default. */
#ifndef EMSE_CONFIG_H
#define EMSE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include "emse/dtls/handshake.h"
#include "emse/net/net.h"
#include "emse/e2m.h"

#define EMSE_MAX_LISTENERS 16
#define EMSE_NAME_MAX 32
#define EMSE_PATH_MAX 256
#define EMSE_MAX_PEERS 32

enum emse_app_mode { EMSE_APP_ECHO = 0, EMSE_APP_FORWARD };
enum emse_keys_source { EMSE_KEYS_FILE = 0, EMSE_KEYS_EMKS };

struct emse_listener_conf {
	char name[EMSE_NAME_MAX];
	struct emse_addr addr;
	uint16_t port;
	char emse_id[E2M_EMSE_ID_MAX + 1];
	uint8_t emse_id_len;
	enum emse_app_mode mode;
	struct emse_addr backend;      /* forward mode */
	uint16_t backend_port;
	bool backend_mac_set;          /* else resolved by ARP */
	uint8_t backend_mac[6];
	uint16_t emse_idx;             /* index of its EMSE (key cache), shared by listeners of one EMSE_Id */
	char emks_cert[EMSE_PATH_MAX]; /* client certificate for this EMSE_Id ([emks] cert if empty) */
	char emks_key[EMSE_PATH_MAX];
	/* RFC 9146 Connection IDs (docs/cid.md) */
	bool cid;                      /* cid = on: offered CIDs are answered with ours */
	uint8_t cid_length;            /* octets of our CID, 4..16 */
};

struct emse_config {
	/* [emse] */
	uint32_t max_sessions;          /* per worker */
	uint32_t max_sessions_per_source; /* per worker and source address, 0 = none */
	uint32_t half_open_max;         /* per worker: handshakes in progress, = wolfSSL object pool */
	uint32_t parked_max;            /* per worker: handshakes waiting for a key */
	uint32_t handshake_timeout_ms;
	uint32_t parked_timeout_ms;
	uint32_t idle_timeout_s;
	uint32_t cookie_rotate_s;
	uint32_t mbufs;                 /* mbuf pool size per worker */
	uint32_t flights_held;          /* per worker: last flights kept for retransmission */
	uint16_t fwd_first, fwd_count;  /* forward mode: the local UDP ports towards backends */
	uint32_t suites;                /* EMSE_SUITE_* */
	char psk_hint[8];               /* "" = no hint, or "e2m" */
	bool hs_native;                 /* handshake_engine: hs12.c where it can, else wolfSSL */
	struct e2m_params e2m;
	/* [port] */
	uint16_t port_id;
	uint16_t rx_desc, tx_desc;
	struct emse_iface iface;        /* addresses; the MAC comes from the port */
	bool set_mac;                   /* [port] mac: give the port this MAC (replays of a capture) */
	uint8_t mac[6];
	/* [listener NAME] */
	unsigned n_listeners;
	struct emse_listener_conf listeners[EMSE_MAX_LISTENERS];
	unsigned n_emse;                /* distinct EMSE_Ids */
	bool has_forward;               /* some listener forwards */
	/* [keys] */
	enum emse_keys_source keys;
	char key_file[EMSE_PATH_MAX];
	uint32_t key_cache_capacity;
	uint32_t negative_ttl_s;
	/* [emks] */
	char emks_url[EMSE_PATH_MAX];
	char emks_cert[EMSE_PATH_MAX], emks_key[EMSE_PATH_MAX], emks_ca[EMSE_PATH_MAX];
	uint32_t emks_timeout_ms;
	uint32_t emks_max_requests_per_s;
	/* [telemetry] */
	char prometheus[64];            /* "127.0.0.1:9464", "" = off */
	/* [emse] resume_max, resume_lifetime_s: session resumption cache per worker (0: off) */
	uint32_t resume_max;
	uint32_t resume_lifetime_s;
	/* [persist] (docs/persist.md) */
	char persist_file[EMSE_PATH_MAX];     /* "" = sessions are not saved */
	char persist_key_file[EMSE_PATH_MAX];
	uint32_t persist_max_age_s;
	/* [cluster] */
	uint8_t node_id;                /* octet 0 of every CID we issue */
	char cid_key_file[EMSE_PATH_MAX]; /* 32 bytes: the CID permutation key ("" = random) */
	/* Forwarding between nodes (issue 15, docs/cluster.md): the other nodes, our cluster
	 * port (UDP on the port's addresses, 0 = off) and the 32-byte key of the envelopes. */
	struct emse_peer_conf {
		uint8_t node_id;
		uint16_t port;          /* host order */
		struct emse_addr addr;
	} peers[EMSE_MAX_PEERS];
	unsigned n_peers;
	uint16_t cluster_port;
	char cluster_key_file[EMSE_PATH_MAX];
	/* command line, not the file */
	bool replay;
	bool seeded;
	uint64_t seed;
	/* [keys] translate, imsi_map; [emks] register_emse (SPEC.md 6; docs/emks.md) */
	bool translate_emse;            /* translate = emse: we map app ids to IMSIs (default emks) */
	char imsi_map[EMSE_PATH_MAX];   /* the table for translate = emse */
	bool emks_register_emse;        /* register_emse = yes: register-emse once, omit emseId */
	/* [port] offloads: auto = the port's checksum offloads where it has them, off = software */
	bool offloads_off;
};

void emse_config_defaults(struct emse_config *c);
/* Loads and validates path into c (defaults first). On error writes one line naming the setting
 * into err and returns -1. */
int emse_config_load(const char *path, struct emse_config *c, char *err, size_t err_size);

#endif
