/* emks-hss: plays the HSS for a UE population (docs/emks.md). Per UE: PUT its subscription, run
 * AKA key generation on a fresh RAND (Milenage -> CK, IK -> e2m_int_key, key id) and push the key
 * to the EMKS, as at each AKA run; then record what the UE now holds in --out (JSON lines). */
#include "emse/e2m.h"
#include "emse/emks_api.h"
#include "emse/hss.h"
#include "emse/emks_wipe.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: emks-hss --population FILE --emks URL --cert PEM --key PEM --ca PEM --out FILE\n"
		"                [--only IMSI] [--keys-only] [--sqn-start N] [--amf HEX4 (8000)]\n"
		"                [--timeout-ms MS (5000)] [--retries N (3)]\n"
		"       emks-hss --remove IMSI --emks URL --cert PEM --key PEM --ca PEM [--out FILE]\n"
		"  Population lines: imsi k opc app_id[,app_id...] emse_id[,emse_id...]\n"
		"  --out gets one JSON object per UE (what the UE now holds); UEs not run this time keep\n"
		"  their line. --keys-only skips the subscriber PUT (a pure re-authentication).\n");
}

static _Noreturn void bad(const char *opt, const char *why)
{
	fprintf(stderr, "emks-hss: %s: %s\n", opt, why);
	exit(2);
}

static long long num(const char *opt, const char *s, long long lo, long long hi)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (errno || end == s || *end || v < lo || v > hi) {
		char why[96];
		snprintf(why, sizeof(why), "need an integer in %lld..%lld, got \"%s\"", lo, hi, s);
		bad(opt, why);
	}
	return v;
}

/* ---- the output file: one JSON object per line, keyed by imsi ---------------------------------- */

struct line {
	char imsi[EMKS_IMSI_MAX + 1];
	char *text;  /* without newline; holds keys: wipe before free */
};

static void line_free(struct line *l)
{
	if (l->text) {
		OPENSSL_cleanse(l->text, strlen(l->text));
		free(l->text);
		l->text = NULL;
	}
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->imsi, ((const struct line *)b)->imsi);
}

/* Reads an existing output file (missing is fine); lines sorted by imsi. */
static int read_out(const char *path, struct line **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	size_t cap = 0;
	char *buf = NULL;
	size_t bcap = 0;
	ssize_t len;
	while ((len = getline(&buf, &bcap, f)) >= 0) {
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		json_t *j = json_loads(buf, 0, NULL);
		const char *imsi = json_string_value(json_object_get(j, "imsi"));
		if (imsi && emks_valid_imsi(imsi)) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				*out = realloc(*out, cap * sizeof(**out));
				if (!*out)
					abort();
			}
			struct line *l = &(*out)[(*n)++];
			strcpy(l->imsi, imsi);
			l->text = strdup(buf);
		}
		json_decref(j);
	}
	if (buf) {
		OPENSSL_cleanse(buf, bcap);
		free(buf);
	}
	fclose(f);
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_line);
	return 0;
}

static struct line *find_line(struct line *lines, size_t n, const char *imsi)
{
	struct line key;
	if (!n)
		return NULL;
	snprintf(key.imsi, sizeof(key.imsi), "%s", imsi);
	return bsearch(&key, lines, n, sizeof(*lines), cmp_line);
}

/* Writes population order first (this run's line, else the old one), then old lines of UEs not in
 * the population; through a temporary file and rename, so a reader never sees half a file. */
static int write_out(const char *path, const struct hss_ue *ues, size_t n_ues, char **fresh,
		     struct line *old, size_t n_old, const char *drop_imsi)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		fprintf(stderr, "emks-hss: --out: cannot write %s: %s\n", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char *used = calloc(n_old ? n_old : 1, 1);
	for (size_t i = 0; i < n_ues; i++) {
		struct line *l = find_line(old, n_old, ues[i].imsi);
		if (l)
			used[l - old] = 1;
		if (fresh && fresh[i])
			fprintf(f, "%s\n", fresh[i]);
		else if (l)
			fprintf(f, "%s\n", l->text);
	}
	for (size_t i = 0; i < n_old; i++)
		if (!used[i] && !(drop_imsi && strcmp(old[i].imsi, drop_imsi) == 0))
			fprintf(f, "%s\n", old[i].text);
	free(used);
	int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0) {
		fprintf(stderr, "emks-hss: --out: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
	}
	return rc;
}

/* ---- one UE ------------------------------------------------------------------------------------ */

struct run {
	struct hss_client *client;
	struct e2m_params params;
	uint8_t sqn[6], amf[2];
	int keys_only;
	int transport_failed;  /* the EMKS is unreachable: stop rather than fail every UE */
};

static void hex(json_t *obj, const char *member, const uint8_t *p, size_t len)
{
	char buf[2 * 64 + 1];
	e2m_hex_encode(p, len, buf);
	json_object_set_new(obj, member, json_string(buf));
	OPENSSL_cleanse(buf, sizeof(buf));
}

static int push_subscriber(struct run *r, const struct hss_ue *ue)
{
	json_t *apps = json_array(), *emses = json_array();
	for (size_t i = 0; i < ue->n_app; i++)
		json_array_append_new(apps, json_string(ue->app_ids[i]));
	for (size_t i = 0; i < ue->n_emse; i++)
		json_array_append_new(emses, json_string(ue->emse_ids[i]));
	json_t *body = json_pack("{sososs}", "ueAppIds", apps, "emseIds", emses, "keyIdMode",
				 ue->key_id_mode == EMKS_KEY_ID_HASH ? "hash" : "rand");
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!s) {
		fprintf(stderr, "emks-hss: %s: cannot build the subscriber body (bad UTF-8 id?)\n",
			ue->imsi);
		return -1;
	}
	char path[64], resp[512], err[512];
	snprintf(path, sizeof(path), "/subscribers/%s", ue->imsi);
	long st = hss_client_request(r->client, "PUT", path, s, resp, sizeof(resp), err, sizeof(err));
	free(s);
	if (st < 0)
		r->transport_failed = 1;
	if (st != 204) {
		fprintf(stderr, "emks-hss: %s: PUT subscriber: %ld %s\n", ue->imsi, st,
			st < 0 ? err : resp);
		return -1;
	}
	return 0;
}

/* Runs one AKA key generation and the push; returns the UE's output line or NULL. */
static char *authenticate(struct run *r, const struct hss_ue *ue)
{
	uint8_t rand[16], res[8], ck[16], ik[16], ak[6], int_key[E2M_KEY_LEN], key[E2M_KEY_LEN];
	char *line = NULL, *body = NULL;
	json_t *out = NULL;
	if (RAND_bytes(rand, sizeof(rand)) != 1 ||
	    milenage_f2345(ue->k, ue->opc, rand, res, ck, ik, ak, NULL) != 0 ||
	    e2m_int_key(&r->params, ck, ik, int_key) != 0) {
		fprintf(stderr, "emks-hss: %s: key derivation failed\n", ue->imsi);
		goto done;
	}
	/* Hash mode: the EMKS derives the same id from the key, so the push leaves keyId out. */
	int hash_mode = ue->key_id_mode == EMKS_KEY_ID_HASH;
	uint32_t key_id = hash_mode ? e2m_key_id_hash(int_key) : e2m_key_id(rand);
	char kid[9], ikhex[2 * E2M_KEY_LEN + 1];
	snprintf(kid, sizeof(kid), "%08x", key_id);
	e2m_hex_encode(int_key, E2M_KEY_LEN, ikhex);
	size_t blen = 256;
	body = malloc(blen);
	if (!body)
		goto done;
	if (hash_mode)
		snprintf(body, blen, "{\"imsi\":\"%s\",\"e2mIntKey\":\"%s\"}", ue->imsi, ikhex);
	else
		snprintf(body, blen, "{\"imsi\":\"%s\",\"keyId\":\"%s\",\"e2mIntKey\":\"%s\"}",
			 ue->imsi, kid, ikhex);
	OPENSSL_cleanse(ikhex, sizeof(ikhex));
	char resp[512], err[512];
	long st = hss_client_request(r->client, "POST", "/register-intkey", body, resp, sizeof(resp),
				     err, sizeof(err));
	if (st < 0)
		r->transport_failed = 1;
	if (st != 204) {
		fprintf(stderr, "emks-hss: %s: register-intkey: %ld %s\n", ue->imsi, st,
			st < 0 ? err : resp);
		goto done;
	}

	out = json_object();
	json_object_set_new(out, "imsi", json_string(ue->imsi));
	json_object_set_new(out, "app_id", json_string(ue->app_ids[0]));
	json_t *apps = json_array();
	for (size_t i = 0; i < ue->n_app; i++)
		json_array_append_new(apps, json_string(ue->app_ids[i]));
	json_object_set_new(out, "app_ids", apps);
	hex(out, "rand", rand, sizeof(rand));
	hex(out, "sqn", r->sqn, sizeof(r->sqn));
	hex(out, "amf", r->amf, sizeof(r->amf));
	hex(out, "res", res, sizeof(res));
	hex(out, "ck", ck, sizeof(ck));
	hex(out, "ik", ik, sizeof(ik));
	hex(out, "e2m_int_key", int_key, sizeof(int_key));
	json_object_set_new(out, "key_id", json_string(kid));
	json_object_set_new(out, "key_id_mode", json_string(hash_mode ? "hash" : "rand"));
	json_t *emse = json_object();
	for (size_t i = 0; i < ue->n_emse; i++) {
		char ident[E2M_PSK_IDENTITY_MAX + 1];
		const char *id = ue->emse_ids[i];
		if (e2m_key(&r->params, int_key, id, strlen(id), key) != 0 ||
		    e2m_identity_encode(key_id, ue->app_ids[0], strlen(ue->app_ids[0]), ident,
					sizeof(ident)) < 0) {
			fprintf(stderr, "emks-hss: %s: cannot derive for EMSE %s\n", ue->imsi, id);
			json_decref(emse);
			goto done;
		}
		json_t *e = json_object();
		json_object_set_new(e, "psk_identity", json_string(ident));
		hex(e, "e2m_key", key, sizeof(key));
		json_object_set_new(emse, id, e);
	}
	json_object_set_new(out, "emse", emse);
	line = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
done:
	json_decref(out);
	if (body) {
		OPENSSL_cleanse(body, blen);
		free(body);
	}
	OPENSSL_cleanse(ck, sizeof(ck));
	OPENSSL_cleanse(ik, sizeof(ik));
	OPENSSL_cleanse(ak, sizeof(ak));
	OPENSSL_cleanse(res, sizeof(res));
	OPENSSL_cleanse(int_key, sizeof(int_key));
	OPENSSL_cleanse(key, sizeof(key));
	return line;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"population", required_argument, 0, 'p'}, {"emks", required_argument, 0, 'u'},
		{"cert", required_argument, 0, 'c'},       {"key", required_argument, 0, 'k'},
		{"ca", required_argument, 0, 'a'},         {"out", required_argument, 0, 'o'},
		{"only", required_argument, 0, 'O'},       {"keys-only", no_argument, 0, 'K'},
		{"sqn-start", required_argument, 0, 's'},  {"amf", required_argument, 0, 'm'},
		{"timeout-ms", required_argument, 0, 't'}, {"retries", required_argument, 0, 'r'},
		{"remove", required_argument, 0, 'R'},     {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	/* First: OpenSSL refuses new allocators once it has allocated anything. */
	if (emks_wipe_install() != 0)
		fprintf(stderr, "emks-hss: warning: OpenSSL's buffers will not be wiped on free\n");
	const char *population = NULL, *out_path = NULL, *only = NULL, *remove_imsi = NULL;
	struct hss_client_config ccfg = {.timeout_ms = 5000, .retries = 3};
	struct run r = {.amf = {0x80, 0x00}};
	uint64_t sqn = (uint64_t)time(NULL);
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': population = optarg; break;
		case 'u': ccfg.base_url = optarg; break;
		case 'c': ccfg.cert = optarg; break;
		case 'k': ccfg.key = optarg; break;
		case 'a': ccfg.ca = optarg; break;
		case 'o': out_path = optarg; break;
		case 'O':
			if (!emks_valid_imsi(optarg))
				bad("--only", "need an IMSI of 5..15 digits");
			only = optarg;
			break;
		case 'K': r.keys_only = 1; break;
		case 's': sqn = (uint64_t)num("--sqn-start", optarg, 0, 0xffffffffffffLL); break;
		case 'm':
			if (strlen(optarg) != 4 || e2m_hex_decode(optarg, r.amf, 2) != 0)
				bad("--amf", "need 4 hex digits");
			break;
		case 't': ccfg.timeout_ms = (long)num("--timeout-ms", optarg, 1, 600000); break;
		case 'r': ccfg.retries = (int)num("--retries", optarg, 0, 100); break;
		case 'R':
			if (!emks_valid_imsi(optarg))
				bad("--remove", "need an IMSI of 5..15 digits");
			remove_imsi = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: bad(argv[optind - 1], "unknown option or missing value (see --help)");
		}
	}
	if (optind < argc)
		bad(argv[optind], "unexpected argument");
	if (!ccfg.base_url) bad("--emks", "required (e.g. https://127.0.0.1:8443)");
	if (strncmp(ccfg.base_url, "https://", 8) != 0) bad("--emks", "need an https:// URL");
	if (!ccfg.cert) bad("--cert", "required");
	if (!ccfg.key) bad("--key", "required");
	if (!ccfg.ca) bad("--ca", "required");
	if (!remove_imsi && !population) bad("--population", "required");
	if (!remove_imsi && !out_path) bad("--out", "required");
	for (int i = 5; i >= 0; i--, sqn >>= 8)
		r.sqn[i] = (uint8_t)sqn;

	e2m_params_default(&r.params);
	if (access(ccfg.cert, R_OK) != 0) bad("--cert", strerror(errno));
	if (access(ccfg.key, R_OK) != 0) bad("--key", strerror(errno));
	if (access(ccfg.ca, R_OK) != 0) bad("--ca", strerror(errno));

	char err[512];
	struct line *old = NULL;
	size_t n_old = 0;
	if (out_path && read_out(out_path, &old, &n_old) != 0)
		bad("--out", "cannot read the existing file");
	struct hss_ue *ues = NULL;
	size_t n_ues = 0;
	if (!remove_imsi && hss_population_load(population, &ues, &n_ues, err, sizeof(err)) != 0)
		bad("--population", err);
	r.client = hss_client_new(&ccfg, err, sizeof(err));
	if (!r.client) {
		fprintf(stderr, "emks-hss: %s\n", err);
		return 1;
	}
	int rc = 0;
	char **fresh = NULL;

	if (remove_imsi) {
		char body[64], resp[512];
		snprintf(body, sizeof(body), "{\"imsi\":\"%s\"}", remove_imsi);
		long st = hss_client_request(r.client, "POST", "/remove-context", body, resp,
					     sizeof(resp), err, sizeof(err));
		if (st != 204) {
			fprintf(stderr, "emks-hss: %s: remove-context: %ld %s\n", remove_imsi, st,
				st < 0 ? err : resp);
			rc = 1;
		} else {
			printf("emks-hss: removed the keys of %s\n", remove_imsi);
			if (out_path && write_out(out_path, NULL, 0, NULL, old, n_old, remove_imsi) != 0)
				rc = 1;
		}
		goto done;
	}

	fresh = calloc(n_ues ? n_ues : 1, sizeof(*fresh));
	if (!fresh)
		abort();
	size_t done_ok = 0, failed = 0, selected = 0;
	for (size_t i = 0; i < n_ues; i++) {
		if (only && strcmp(only, ues[i].imsi) != 0)
			continue;
		selected++;
		if (!r.keys_only && push_subscriber(&r, &ues[i]) != 0) {
			failed++;
			if (r.transport_failed) {
				fprintf(stderr, "emks-hss: stopping: the EMKS cannot be reached\n");
				break;
			}
			continue;
		}
		fresh[i] = authenticate(&r, &ues[i]);
		if (fresh[i])
			done_ok++;
		else
			failed++;
		if (r.transport_failed) {
			fprintf(stderr, "emks-hss: stopping: the EMKS cannot be reached\n");
			break;
		}
	}
	if (only && !selected) {
		fprintf(stderr, "emks-hss: --only: %s is not in %s\n", only, population);
		rc = 2;
		goto done;
	}
	/* Written even after failures: the UEs that were pushed hold their new keys now. */
	if (write_out(out_path, ues, n_ues, fresh, old, n_old, NULL) != 0)
		rc = 1;
	printf("emks-hss: %zu UEs authenticated and pushed, %zu failed; wrote %s\n", done_ok, failed,
	       out_path);
	if (failed)
		rc = 1;
done:
	for (size_t i = 0; fresh && i < n_ues; i++) {
		if (fresh[i]) {
			OPENSSL_cleanse(fresh[i], strlen(fresh[i]));
			free(fresh[i]);
		}
	}
	free(fresh);
	for (size_t i = 0; i < n_old; i++)
		line_free(&old[i]);
	free(old);
	hss_population_free(ues, n_ues);
	hss_client_free(r.client);
	return rc;
}
