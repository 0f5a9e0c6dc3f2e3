/* The INI parser is our own (not rte_cfgfile) so that every error can name the line and the
 * setting, and an unknown setting is an error rather than silently ignored. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emse/dtls/cid.h"
#include "emse/config.h"

void emse_config_defaults(struct emse_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_sessions = 65536;
	c->max_sessions_per_source = 1024;
	c->half_open_max = 4096;
	c->parked_max = 1024;
	c->handshake_timeout_ms = 10000;
	c->parked_timeout_ms = 3000;
	c->idle_timeout_s = 600;
	c->persist_max_age_s = 3600;
	c->resume_lifetime_s = 3600;
	c->cookie_rotate_s = 60;
	c->mbufs = 16383;
	c->flights_held = 16384;
	c->fwd_first = 20000;
	c->fwd_count = 40000;
	c->suites = EMSE_SUITE_CCM8 | EMSE_SUITE_GCM | EMSE_SUITE_CBC;
	c->psk_hint[0] = '\0';
	c->hs_native = true;
	e2m_params_default(&c->e2m);
	c->port_id = 0;
	c->rx_desc = 1024;
	c->tx_desc = 1024;
	c->iface.hop_limit = 64;
	c->keys = EMSE_KEYS_FILE;
	c->key_cache_capacity = 65536;
	c->negative_ttl_s = 30;
	c->emks_timeout_ms = 1000;
	c->emks_max_requests_per_s = 500;
}

struct parser {
	const char *path;
	unsigned line;
	char section[64];
	char err[256];
};

static int fail(struct parser *p, const char *key, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, sizeof(p->err), "%s:%u: [%s] %s: %s", p->path, p->line, p->section,
		 key, msg);
	return -1;
}

static int parse_u32(struct parser *p, const char *key, const char *v, uint32_t min, uint32_t max,
		     uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-')
		return fail(p, key, "expected a whole number, got '%s'", v);
	if (x < min || x > max)
		return fail(p, key, "%llu is out of range %u..%u", x, min, max);
	*out = (uint32_t)x;
	return 0;
}

static int parse_str(struct parser *p, const char *key, const char *v, char *out, size_t size)
{
	if (strlen(v) >= size)
		return fail(p, key, "longer than %zu characters", size - 1);
	strcpy(out, v);
	return 0;
}

static int parse_addr(struct parser *p, const char *key, const char *v, struct emse_addr *a)
{
	if (emse_addr_parse(v, a) != 0)
		return fail(p, key, "'%s' is not an IPv4 or IPv6 address", v);
	return 0;
}

static int parse_hex(struct parser *p, const char *key, const char *v, uint8_t *out, size_t len)
{
	if (strlen(v) != 2 * len || e2m_hex_decode(v, out, len) != 0)
		return fail(p, key, "expected %zu hex digits", 2 * len);
	return 0;
}

static int parse_mac(struct parser *p, const char *key, const char *v, uint8_t mac[6])
{
	unsigned b[6];
	char extra;
	if (sscanf(v, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &extra) != 6)
		return fail(p, key, "expected aa:bb:cc:dd:ee:ff, got '%s'", v);
	for (int i = 0; i < 6; i++) {
		if (b[i] > 255)
			return fail(p, key, "expected aa:bb:cc:dd:ee:ff, got '%s'", v);
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int set_emse(struct parser *p, struct emse_config *c, const char *k, const char *v)
{
	uint32_t x;
	if (!strcmp(k, "max_sessions"))
		return parse_u32(p, k, v, 1, 1u << 24, &c->max_sessions);
	if (!strcmp(k, "max_sessions_per_source"))
		return parse_u32(p, k, v, 0, 1u << 24, &c->max_sessions_per_source);
	if (!strcmp(k, "half_open_max"))
		return parse_u32(p, k, v, 1, 1u << 20, &c->half_open_max);
	if (!strcmp(k, "parked_max"))
		return parse_u32(p, k, v, 0, 1u << 20, &c->parked_max);
	if (!strcmp(k, "handshake_timeout_ms"))
		return parse_u32(p, k, v, 100, 600000, &c->handshake_timeout_ms);
	if (!strcmp(k, "parked_timeout_ms"))
		return parse_u32(p, k, v, 10, 600000, &c->parked_timeout_ms);
	if (!strcmp(k, "resume_max"))
		return parse_u32(p, k, v, 0, 1u << 24, &c->resume_max);
	if (!strcmp(k, "resume_lifetime_s"))
		return parse_u32(p, k, v, 1, 86400, &c->resume_lifetime_s);
	if (!strcmp(k, "idle_timeout_s"))
		return parse_u32(p, k, v, 1, 30 * 86400, &c->idle_timeout_s);
	if (!strcmp(k, "cookie_rotate_s"))
		return parse_u32(p, k, v, 1, 86400, &c->cookie_rotate_s);
	if (!strcmp(k, "forward_ports")) {
		unsigned a, b;
		char extra;
		if (sscanf(v, "%u-%u%c", &a, &b, &extra) != 2 || a < 1024 || b > 65535 || b < a)
			return fail(p, k, "expected FIRST-LAST within 1024-65535, got '%s'", v);
		c->fwd_first = (uint16_t)a;
		c->fwd_count = (uint16_t)(b - a + 1 > 65535 ? 65535 : b - a + 1);
		return 0;
	}
	if (!strcmp(k, "flights_held"))
		return parse_u32(p, k, v, 1, 1u << 24, &c->flights_held);
	if (!strcmp(k, "mbufs"))
		return parse_u32(p, k, v, 1023, 1u << 22, &c->mbufs);
	if (!strcmp(k, "psk_hint")) {
		if (strcmp(v, "") && strcmp(v, "none") && strcmp(v, "e2m"))
			return fail(p, k, "expected 'none' or 'e2m', got '%s'", v);
		strcpy(c->psk_hint, strcmp(v, "e2m") ? "" : "e2m");
		return 0;
	}
	if (!strcmp(k, "handshake_engine")) {
		if (strcmp(v, "native") && strcmp(v, "wolfssl"))
			return fail(p, k, "expected 'native' or 'wolfssl', got '%s'", v);
		c->hs_native = !strcmp(v, "native");
		return 0;
	}
	if (!strcmp(k, "suites")) {
		char buf[128], *save = NULL;
		if (parse_str(p, k, v, buf, sizeof(buf)))
			return -1;
		c->suites = 0;
		for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
			if (!strcmp(t, "ccm8"))
				c->suites |= EMSE_SUITE_CCM8;
			else if (!strcmp(t, "gcm"))
				c->suites |= EMSE_SUITE_GCM;
			else if (!strcmp(t, "cbc"))
				c->suites |= EMSE_SUITE_CBC;
			else
				return fail(p, k, "unknown suite '%s' (ccm8, gcm, cbc)", t);
		}
		if (!c->suites)
			return fail(p, k, "no suite left");
		return 0;
	}
	if (!strcmp(k, "kdf_fc_int_key"))
		return parse_hex(p, k, v, c->e2m.fc_int_key, 2);
	if (!strcmp(k, "kdf_fc_e2m_key"))
		return parse_hex(p, k, v, c->e2m.fc_e2m_key, 2);
	if (!strcmp(k, "kdf_label"))
		return parse_str(p, k, v, c->e2m.label, sizeof(c->e2m.label));
	(void)x;
	return fail(p, k, "unknown setting");
}

static int set_port(struct parser *p, struct emse_config *c, const char *k, const char *v)
{
	uint32_t x;
	if (!strcmp(k, "port_id")) {
		if (parse_u32(p, k, v, 0, 255, &x))
			return -1;
		c->port_id = (uint16_t)x;
		return 0;
	}
	if (!strcmp(k, "rx_desc") || !strcmp(k, "tx_desc")) {
		if (parse_u32(p, k, v, 64, 8192, &x))
			return -1;
		*(k[0] == 'r' ? &c->rx_desc : &c->tx_desc) = (uint16_t)x;
		return 0;
	}
	if (!strcmp(k, "address")) {
		struct emse_addr a;
		if (parse_addr(p, k, v, &a))
			return -1;
		if (a.family == 4) {
			if (c->iface.n4 >= EMSE_MAX_ADDRS)
				return fail(p, k, "more than %d IPv4 addresses", EMSE_MAX_ADDRS);
			memcpy(c->iface.ip4[c->iface.n4++], a.a, 4);
		} else {
			if (c->iface.n6 >= EMSE_MAX_ADDRS)
				return fail(p, k, "more than %d IPv6 addresses", EMSE_MAX_ADDRS);
			memcpy(c->iface.ip6[c->iface.n6++], a.a, 16);
		}
		return 0;
	}
	if (!strcmp(k, "mac")) {
		if (parse_mac(p, k, v, c->mac))
			return -1;
		if (c->mac[0] & 1)
			return fail(p, k, "a multicast MAC cannot be a port's address");
		c->set_mac = true;
		return 0;
	}
	if (!strcmp(k, "hop_limit")) {
		if (parse_u32(p, k, v, 1, 255, &x))
			return -1;
		c->iface.hop_limit = (uint8_t)x;
		return 0;
	}
	if (!strcmp(k, "offloads")) {
		if (strcmp(v, "auto") && strcmp(v, "off"))
			return fail(p, k, "auto or off");
		c->offloads_off = !strcmp(v, "off");
		return 0;
	}
	return fail(p, k, "unknown setting");
}

static int set_listener(struct parser *p, struct emse_listener_conf *l, const char *k,
			const char *v)
{
	uint32_t x;
	if (!strcmp(k, "address"))
		return parse_addr(p, k, v, &l->addr);
	if (!strcmp(k, "port")) {
		if (parse_u32(p, k, v, 1, 65535, &x))
			return -1;
		l->port = (uint16_t)x;
		return 0;
	}
	if (!strcmp(k, "emse_id")) {
		size_t n = strlen(v);
		if (n < 1 || n > E2M_EMSE_ID_MAX)
			return fail(p, k, "must be 1..%d octets", E2M_EMSE_ID_MAX);
		memcpy(l->emse_id, v, n + 1);
		l->emse_id_len = (uint8_t)n;
		return 0;
	}
	if (!strcmp(k, "mode")) {
		if (!strcmp(v, "echo"))
			l->mode = EMSE_APP_ECHO;
		else if (!strcmp(v, "forward"))
			l->mode = EMSE_APP_FORWARD;
		else
			return fail(p, k, "expected 'echo' or 'forward', got '%s'", v);
		return 0;
	}
	if (!strcmp(k, "backend"))
		return parse_addr(p, k, v, &l->backend);
	if (!strcmp(k, "backend_mac")) {
		if (parse_mac(p, k, v, l->backend_mac))
			return -1;
		l->backend_mac_set = true;
		return 0;
	}
	if (!strcmp(k, "emks_cert"))
		return parse_str(p, k, v, l->emks_cert, sizeof(l->emks_cert));
	if (!strcmp(k, "emks_key"))
		return parse_str(p, k, v, l->emks_key, sizeof(l->emks_key));
	if (!strcmp(k, "cid")) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return fail(p, k, "expected 'on' or 'off', got '%s'", v);
		l->cid = !strcmp(v, "on");
		return 0;
	}
	if (!strcmp(k, "cid_length")) {
		if (parse_u32(p, k, v, 4, 16, &x))
			return -1;
		l->cid_length = (uint8_t)x;
		return 0;
	}
	if (!strcmp(k, "backend_port")) {
		if (parse_u32(p, k, v, 1, 65535, &x))
			return -1;
		l->backend_port = (uint16_t)x;
		return 0;
	}
	return fail(p, k, "unknown setting");
}

static int set_keys(struct parser *p, struct emse_config *c, const char *k, const char *v)
{
	if (!strcmp(k, "source")) {
		if (!strcmp(v, "file"))
			c->keys = EMSE_KEYS_FILE;
		else if (!strcmp(v, "emks"))
			c->keys = EMSE_KEYS_EMKS;
		else
			return fail(p, k, "expected 'file' or 'emks', got '%s'", v);
		return 0;
	}
	if (!strcmp(k, "file"))
		return parse_str(p, k, v, c->key_file, sizeof(c->key_file));
	if (!strcmp(k, "cache_capacity"))
		return parse_u32(p, k, v, 16, 1u << 26, &c->key_cache_capacity);
	if (!strcmp(k, "negative_ttl_s"))
		return parse_u32(p, k, v, 0, 86400, &c->negative_ttl_s);
	if (!strcmp(k, "translate")) {
		if (strcmp(v, "emks") && strcmp(v, "emse"))
			return fail(p, k, "expected 'emks' or 'emse', got '%s'", v);
		c->translate_emse = !strcmp(v, "emse");
		return 0;
	}
	if (!strcmp(k, "imsi_map"))
		return parse_str(p, k, v, c->imsi_map, sizeof(c->imsi_map));
	return fail(p, k, "unknown setting");
}

static int set_emks(struct parser *p, struct emse_config *c, const char *k, const char *v)
{
	if (!strcmp(k, "url"))
		return parse_str(p, k, v, c->emks_url, sizeof(c->emks_url));
	if (!strcmp(k, "cert"))
		return parse_str(p, k, v, c->emks_cert, sizeof(c->emks_cert));
	if (!strcmp(k, "key"))
		return parse_str(p, k, v, c->emks_key, sizeof(c->emks_key));
	if (!strcmp(k, "ca"))
		return parse_str(p, k, v, c->emks_ca, sizeof(c->emks_ca));
	if (!strcmp(k, "timeout_ms"))
		return parse_u32(p, k, v, 10, 60000, &c->emks_timeout_ms);
	if (!strcmp(k, "max_requests_per_s"))
		return parse_u32(p, k, v, 1, 1000000, &c->emks_max_requests_per_s);
	if (!strcmp(k, "register_emse")) {
		if (strcmp(v, "yes") && strcmp(v, "no"))
			return fail(p, k, "expected 'yes' or 'no', got '%s'", v);
		c->emks_register_emse = !strcmp(v, "yes");
		return 0;
	}
	return fail(p, k, "unknown setting");
}

static int set_telemetry(struct parser *p, struct emse_config *c, const char *k, const char *v)
{
	if (!strcmp(k, "prometheus"))
		return parse_str(p, k, v, c->prometheus, sizeof(c->prometheus));
	return fail(p, k, "unknown setting");
}

static int set_persist(struct parser *p, struct emse_config *c, const char *k, const char *v)
{
	if (!strcmp(k, "file"))
		return parse_str(p, k, v, c->persist_file, sizeof(c->persist_file));
	if (!strcmp(k, "key_file"))
		return parse_str(p, k, v, c->persist_key_file, sizeof(c->persist_key_file));
	if (!strcmp(k, "max_age_s")) /* bound: the nonce margin (persist.h) stays below 2^47 */
		return parse_u32(p, k, v, 1, 1u << 20, &c->persist_max_age_s);
	return fail(p, k, "unknown setting");
}

/* peer = <node_id> <address> <cluster port> */
static int parse_peer(struct parser *p, struct emse_config *c, const char *k, const char *v)
{
	char id[8], addr[64], port[8], extra[2];
	uint32_t x, y;
	if (sscanf(v, "%7s %63s %7s %1s", id, addr, port, extra) != 3)
		return fail(p, k, "expected '<node_id> <address> <cluster port>', got '%s'", v);
	if (c->n_peers == EMSE_MAX_PEERS)
		return fail(p, k, "more than %u peers", EMSE_MAX_PEERS);
	struct emse_peer_conf *e = &c->peers[c->n_peers];
	if (parse_u32(p, k, id, 0, 255, &x) || parse_addr(p, k, addr, &e->addr) ||
	    parse_u32(p, k, port, 1, 65535, &y))
		return -1;
	for (unsigned i = 0; i < c->n_peers; i++)
		if (c->peers[i].node_id == x)
			return fail(p, k, "node %u listed twice", x);
	e->node_id = (uint8_t)x;
	e->port = (uint16_t)y;
	c->n_peers++;
	return 0;
}

static int set_cluster(struct parser *p, struct emse_config *c, const char *k, const char *v)
{
	uint32_t x;
	if (!strcmp(k, "node_id")) {
		if (parse_u32(p, k, v, 0, 255, &x))
			return -1;
		c->node_id = (uint8_t)x;
		return 0;
	}
	if (!strcmp(k, "cid_key_file"))
		return parse_str(p, k, v, c->cid_key_file, sizeof(c->cid_key_file));
	if (!strcmp(k, "cluster_port")) {
		if (parse_u32(p, k, v, 1, 65535, &x))
			return -1;
		c->cluster_port = (uint16_t)x;
		return 0;
	}
	if (!strcmp(k, "key_file"))
		return parse_str(p, k, v, c->cluster_key_file, sizeof(c->cluster_key_file));
	if (!strcmp(k, "peer"))
		return parse_peer(p, c, k, v);
	return fail(p, k, "unknown setting");
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Cross-setting checks, after the whole file is read. */
static int validate(struct parser *p, struct emse_config *c)
{
	p->line = 0;
	if (c->n_listeners == 0) {
		strcpy(p->section, "listener");
		return fail(p, "listener", "no [listener NAME] section: nothing to serve");
	}
	if (c->iface.n4 + c->iface.n6 == 0) {
		strcpy(p->section, "port");
		return fail(p, "address", "the port has no address");
	}
	for (unsigned i = 0; i < c->n_listeners; i++) {
		struct emse_listener_conf *l = &c->listeners[i];
		snprintf(p->section, sizeof(p->section), "listener %s", l->name);
		if (!l->addr.family)
			return fail(p, "address", "missing");
		if (!l->port)
			return fail(p, "port", "missing");
		if (!l->emse_id_len)
			return fail(p, "emse_id", "missing");
		bool ours = false;
		for (unsigned j = 0; l->addr.family == 4 && j < c->iface.n4; j++)
			ours |= !memcmp(c->iface.ip4[j], l->addr.a, 4);
		for (unsigned j = 0; l->addr.family == 6 && j < c->iface.n6; j++)
			ours |= !memcmp(c->iface.ip6[j], l->addr.a, 16);
		if (!ours)
			return fail(p, "address", "not one of the [port] addresses");
		if (l->mode == EMSE_APP_FORWARD && (!l->backend.family || !l->backend_port))
			return fail(p, "backend", "forward mode needs backend and backend_port");
		if (l->mode == EMSE_APP_FORWARD && l->backend.family != l->addr.family)
			return fail(p, "backend", "must be of the listener address's family");
		for (unsigned j = 0; j < i; j++)
			if (emse_addr_eq(&c->listeners[j].addr, &l->addr) &&
			    c->listeners[j].port == l->port)
				return fail(p, "port", "same address and port as listener %s",
					    c->listeners[j].name);
		/* The CID must hold the worker and the slot whole (docs/cid.md): uniqueness. */
		if (l->cid && emse_cid_check_bits(l->cid_length, c->max_sessions) < 0)
			return fail(p, "cid_length", "%u octets cannot hold a worker id and a slot "
				    "of max_sessions = %u (see docs/cid.md)", l->cid_length,
				    c->max_sessions);
		c->has_forward |= l->mode == EMSE_APP_FORWARD;
		if (l->port >= c->fwd_first && l->port - c->fwd_first < c->fwd_count)
			for (unsigned j = 0; j < c->n_listeners; j++)
				if (c->listeners[j].mode == EMSE_APP_FORWARD)
					return fail(p, "port", "inside [emse] forward_ports, which "
							       "forward mode uses towards backends");
		/* listeners of one EMSE_Id share its key cache */
		l->emse_idx = (uint16_t)c->n_emse;
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(c->listeners[j].emse_id, l->emse_id)) {
				l->emse_idx = c->listeners[j].emse_idx;
				break;
			}
		if (l->emse_idx == c->n_emse)
			c->n_emse++;
	}
	if (c->keys == EMSE_KEYS_FILE && !c->key_file[0]) {
		strcpy(p->section, "keys");
		return fail(p, "file", "source = file needs a key file");
	}
	if (c->keys == EMSE_KEYS_EMKS) {
		strcpy(p->section, "emks");
		if (!c->emks_url[0] || !c->emks_ca[0])
			return fail(p, !c->emks_url[0] ? "url" : "ca", "source = emks needs it");
		for (unsigned i = 0; i < c->n_listeners; i++) {
			struct emse_listener_conf *l = &c->listeners[i];
			if (!l->emks_cert[0])
				strcpy(l->emks_cert, c->emks_cert);
			if (!l->emks_key[0])
				strcpy(l->emks_key, c->emks_key);
			if (!l->emks_cert[0] || !l->emks_key[0]) {
				snprintf(p->section, sizeof(p->section), "listener %s", l->name);
				return fail(p, "emks_cert",
					    "source = emks needs a client certificate and key "
					    "(here or in [emks] cert/key)");
			}
		}
	}
	if (c->persist_file[0] && !c->persist_key_file[0]) {
		strcpy(p->section, "persist");
		return fail(p, "key_file", "file = ... needs a key_file (32 bytes or 64 hex digits)");
	}
	if (c->translate_emse != !!c->imsi_map[0]) {
		strcpy(p->section, "keys");
		return fail(p, c->translate_emse ? "imsi_map" : "translate",
			    c->translate_emse ? "translate = emse needs an imsi_map file"
					      : "imsi_map is only used with translate = emse");
	}
	if (c->translate_emse && c->keys != EMSE_KEYS_EMKS) {
		strcpy(p->section, "keys");
		return fail(p, "translate", "translate = emse needs source = emks");
	}
	if (c->emks_register_emse && c->keys != EMSE_KEYS_EMKS) {
		strcpy(p->section, "emks");
		return fail(p, "register_emse", "register_emse = yes needs [keys] source = emks");
	}
	if (c->n_peers || c->cluster_port) {
		strcpy(p->section, "cluster");
		for (unsigned i = 0; i < c->n_peers; i++)
			if (c->peers[i].node_id == c->node_id)
				return fail(p, "peer", "node %u is our own node_id", c->node_id);
		/* an envelope without a key would let anyone inject datagrams "from" any UE */
		if (!c->cluster_key_file[0])
			return fail(p, "key_file", "peer/cluster_port need the cluster key");
		if (!c->cluster_port)
			return fail(p, "cluster_port", "peers need our cluster port");
	}
	if (c->half_open_max > c->max_sessions) {
		strcpy(p->section, "emse");
		return fail(p, "half_open_max", "larger than max_sessions");
	}
	return 0;
}

int emse_config_load(const char *path, struct emse_config *c, char *err, size_t err_size)
{
	struct parser p = { .path = path };
	char buf[512];
	FILE *f = fopen(path, "r");
	int rc = -1;

	emse_config_defaults(c);
	if (!f) {
		snprintf(err, err_size, "%s: cannot open config: %s", path, strerror(errno));
		return -1;
	}
	struct emse_listener_conf *cur = NULL;
	while (fgets(buf, sizeof(buf), f)) {
		p.line++;
		if (!strchr(buf, '\n') && !feof(f)) {
			fail(&p, "-", "line longer than %zu characters", sizeof(buf) - 2);
			goto out;
		}
		char *s = trim(buf);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			if (!e || e[1]) {
				fail(&p, s, "malformed section header");
				goto out;
			}
			*e = '\0';
			char *name = trim(s + 1);
			snprintf(p.section, sizeof(p.section), "%s", name);
			cur = NULL;
			if (!strncmp(name, "listener", 8) && isspace((unsigned char)name[8])) {
				char *ln = trim(name + 9);
				if (c->n_listeners >= EMSE_MAX_LISTENERS) {
					fail(&p, name, "more than %d listeners", EMSE_MAX_LISTENERS);
					goto out;
				}
				if (!*ln || strlen(ln) >= EMSE_NAME_MAX) {
					fail(&p, name, "listener name must be 1..%d characters",
					     EMSE_NAME_MAX - 1);
					goto out;
				}
				cur = &c->listeners[c->n_listeners++];
				strcpy(cur->name, ln);
				cur->cid_length = 8;
			} else if (strcmp(name, "emse") && strcmp(name, "port") &&
				   strcmp(name, "keys") && strcmp(name, "emks") &&
				   strcmp(name, "telemetry") && strcmp(name, "persist") &&
				   strcmp(name, "cluster")) {
				fail(&p, name, "unknown section");
				goto out;
			}
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq) {
			fail(&p, s, "expected 'setting = value'");
			goto out;
		}
		*eq = '\0';
		char *k = trim(s), *v = trim(eq + 1);
		int r;
		if (!p.section[0])
			r = fail(&p, k, "setting outside any section");
		else if (cur)
			r = set_listener(&p, cur, k, v);
		else if (!strcmp(p.section, "emse"))
			r = set_emse(&p, c, k, v);
		else if (!strcmp(p.section, "port"))
			r = set_port(&p, c, k, v);
		else if (!strcmp(p.section, "keys"))
			r = set_keys(&p, c, k, v);
		else if (!strcmp(p.section, "emks"))
			r = set_emks(&p, c, k, v);
		else if (!strcmp(p.section, "persist"))
			r = set_persist(&p, c, k, v);
		else if (!strcmp(p.section, "cluster"))
			r = set_cluster(&p, c, k, v);
		else
			r = set_telemetry(&p, c, k, v);
		if (r)
			goto out;
	}
	rc = validate(&p, c);
out:
	fclose(f);
	if (rc)
		snprintf(err, err_size, "%s", p.err);
	return rc;
}
