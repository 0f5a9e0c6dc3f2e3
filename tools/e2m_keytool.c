/* e2m-keytool: the UE/HSS side of the e2m key hierarchy on the command line (SPEC.md 1-3).
 * derive: K, OPc/OP, RAND, SQN, AMF -> the whole chain as one JSON object (the vectors' fields).
 * psk:    CK, IK, RAND -> the PSK identity and the PSK, for openssl s_client -psk_identity/-psk. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emse/e2m.h"

#define PROG "e2m-keytool"
#define EXIT_USAGE 2

static const char usage[] =
	"usage:\n"
	"  " PROG " derive --k HEX (--opc HEX | --op HEX) --rand HEX --sqn HEX --amf HEX\n"
	"                     --app-id ID --emse-id ID [--key-id rand|hash] [settings]\n"
	"      Runs Milenage and the e2m chain; prints one JSON object with the inputs and\n"
	"      ck, ik, res, ak, ck_prime, ik_prime, e2m_int_key, key_id, e2m_key, psk_identity\n"
	"      (lowercase hex), the fields of the chain entries in e2m-vectors.json.\n"
	"  " PROG " psk --ck HEX --ik HEX (--rand HEX | --key-id hash) --app-id ID --emse-id ID\n"
	"                     [--key-id rand|hash] [settings]\n"
	"      Prints two lines: the PSK identity, then the PSK (e2m_key) in hex, e.g. for\n"
	"      openssl s_client -psk_identity \"$(sed -n 1p out)\" -psk \"$(sed -n 2p out)\".\n"
	"  " PROG " --help\n"
	"\n"
	"inputs (hex in either case, exact length):\n"
	"  --k 32 hex digits       subscriber key K\n"
	"  --opc / --op 32 digits  OPc, or OP from which OPc is computed\n"
	"  --rand 32 hex digits    RAND; its last 4 octets are the key id (with --key-id rand)\n"
	"  --sqn 12 hex digits     SQN\n"
	"  --amf 4 hex digits      AMF\n"
	"  --ck, --ik 32 digits    CK and IK from AKA\n"
	"  --app-id ID             ue_app_id: 1..115 octets of printable UTF-8 (may contain '@')\n"
	"  --emse-id ID            EMSE_Id: 1..64 octets of printable UTF-8\n"
	"  --key-id rand|hash      how key_id (and so psk_identity) is formed: rand (default) the\n"
	"                          last 4 octets of RAND (SPEC.md 2); hash the first 4 octets of\n"
	"                          SHA-256(e2m_int_key) (SPEC.md 6); psk then needs no --rand\n"
	"settings (SPEC.md's private values; defaults shown):\n"
	"  --fc-int HEX            FC of e2m_int_key, ffe0\n"
	"  --fc-key HEX            FC of e2m_key, ffe1\n"
	"  --fc-access HEX         FC of CK'/IK', ffe2\n"
	"      4 digits ff.. for the two-octet form, or 2 digits for one octet (then give all three)\n"
	"  --label STR             P0 of e2m_int_key and P1 of e2m_key, e2m_CIoT\n"
	"  --access-label STR      P0 of CK'/IK', e2m_access\n"
	"Options also take the form --opt=VALUE.\n"
	"\n"
	"exit status: 0 success, 2 bad usage (one line on stderr naming the option), 1 failure.\n"
	"Keys given as arguments are visible to other local users (ps); use a private machine.\n";

enum cmd { CMD_DERIVE = 1, CMD_PSK = 2 };

enum opt_id {
	O_K, O_OPC, O_OP, O_RAND, O_SQN, O_AMF, O_CK, O_IK, O_APP_ID, O_EMSE_ID,
	O_FC_INT, O_FC_KEY, O_FC_ACCESS, O_LABEL, O_ACCESS_LABEL, O_KEY_ID, O_COUNT
};

static const struct opt {
	const char *name;
	unsigned cmds; /* bit set of enum cmd */
} opts[O_COUNT] = {
	[O_K] = {"--k", CMD_DERIVE},
	[O_OPC] = {"--opc", CMD_DERIVE},
	[O_OP] = {"--op", CMD_DERIVE},
	[O_RAND] = {"--rand", CMD_DERIVE | CMD_PSK},
	[O_SQN] = {"--sqn", CMD_DERIVE},
	[O_AMF] = {"--amf", CMD_DERIVE},
	[O_CK] = {"--ck", CMD_PSK},
	[O_IK] = {"--ik", CMD_PSK},
	[O_APP_ID] = {"--app-id", CMD_DERIVE | CMD_PSK},
	[O_EMSE_ID] = {"--emse-id", CMD_DERIVE | CMD_PSK},
	[O_FC_INT] = {"--fc-int", CMD_DERIVE | CMD_PSK},
	[O_FC_KEY] = {"--fc-key", CMD_DERIVE | CMD_PSK},
	[O_FC_ACCESS] = {"--fc-access", CMD_DERIVE | CMD_PSK},
	[O_LABEL] = {"--label", CMD_DERIVE | CMD_PSK},
	[O_ACCESS_LABEL] = {"--access-label", CMD_DERIVE | CMD_PSK},
	[O_KEY_ID] = {"--key-id", CMD_DERIVE | CMD_PSK},
};

/* All secrets of a run live here, so one wipe at exit covers them. */
struct state {
	const char *val[O_COUNT];
	struct e2m_params params;
	uint8_t k[16], op[16], opc[16], rand[16], sqn[6], amf[2];
	uint8_t ck[16], ik[16], res[8], ak[6], sqn_xor_ak[6], ck_prime[16], ik_prime[16];
	uint8_t int_key[E2M_KEY_LEN], key[E2M_KEY_LEN];
	uint32_t key_id;
	int key_id_hash;
	char identity[E2M_PSK_IDENTITY_MAX + 1];
	char hex[2 * E2M_KEY_LEN + 1];
};

static struct state st;

static void wipe_state(void)
{
	e2m_wipe(&st, sizeof(st));
}

static _Noreturn void usage_error(const char *opt, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, PROG ": ");
	if (opt)
		fprintf(stderr, "%s: ", opt);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	wipe_state();
	exit(EXIT_USAGE);
}

static _Noreturn void failure(const char *what)
{
	fprintf(stderr, PROG ": %s failed\n", what);
	wipe_state();
	exit(1);
}

static int find_opt(const char *name, size_t len)
{
	for (int i = 0; i < O_COUNT; i++)
		if (strlen(opts[i].name) == len && memcmp(opts[i].name, name, len) == 0)
			return i;
	return -1;
}

static void parse_args(enum cmd cmd, const char *cmd_name, int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			wipe_state();
			exit(0);
		}
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
		if (strncmp(a, "--", 2) != 0)
			usage_error(NULL, "unexpected argument '%s' (see --help)", a);
		int o = find_opt(a, nlen);
		if (o < 0)
			usage_error(NULL, "%.*s: unknown option (see --help)", (int)nlen, a);
		if (!(opts[o].cmds & cmd))
			usage_error(opts[o].name, "not an option of %s", cmd_name);
		if (st.val[o])
			usage_error(opts[o].name, "given twice");
		if (eq) {
			st.val[o] = eq + 1;
		} else {
			if (i + 1 >= argc)
				usage_error(opts[o].name, "missing value");
			st.val[o] = argv[++i];
		}
	}
}

static void need(enum opt_id o)
{
	if (!st.val[o])
		usage_error(opts[o].name, "missing (required, see --help)");
}

static void hex_opt(enum opt_id o, uint8_t *out, size_t len)
{
	need(o);
	if (e2m_hex_decode(st.val[o], out, len) != 0)
		usage_error(opts[o].name, "expected %zu hex digits", 2 * len);
}

static void text_opts(void)
{
	need(O_APP_ID);
	need(O_EMSE_ID);
	const char *app = st.val[O_APP_ID], *emse = st.val[O_EMSE_ID];
	int rc = e2m_app_id_check(app, strlen(app));
	if (rc != E2M_ID_OK)
		usage_error(opts[O_APP_ID].name, "%s", e2m_identity_strerror(rc));
	if (e2m_emse_id_check(emse, strlen(emse)) != 0)
		usage_error(opts[O_EMSE_ID].name, "expected 1..%d octets of printable UTF-8",
			    E2M_EMSE_ID_MAX);
}

/* FC settings: "ffXX" is the two-octet form, "XX" one octet; all three share one form because
 * struct e2m_params has a single fc_len. */
static void settings(void)
{
	e2m_params_default(&st.params);
	static const enum opt_id fc_opt[3] = {O_FC_INT, O_FC_KEY, O_FC_ACCESS};
	uint8_t *fc_dst[3] = {st.params.fc_int_key, st.params.fc_e2m_key, st.params.fc_access};
	size_t fc_len = 0;
	for (int i = 0; i < 3; i++) {
		const char *v = st.val[fc_opt[i]];
		if (!v)
			continue;
		size_t n = strlen(v) / 2;
		uint8_t fc[2];
		if ((strlen(v) != 2 && strlen(v) != 4) || e2m_hex_decode(v, fc, n) != 0)
			usage_error(opts[fc_opt[i]].name, "expected 2 or 4 hex digits");
		if (n == 2 && fc[0] != 0xff)
			usage_error(opts[fc_opt[i]].name, "the two-octet form starts with ff");
		if (n == 1 && fc[0] == 0xff)
			usage_error(opts[fc_opt[i]].name, "ff alone is reserved for the two-octet form");
		if (fc_len && n != fc_len)
			usage_error(opts[fc_opt[i]].name, "all FC settings must have the same length");
		fc_len = n;
		memcpy(fc_dst[i], fc, n);
	}
	if (fc_len == 1) {
		for (int i = 0; i < 3; i++)
			if (!st.val[fc_opt[i]])
				usage_error(opts[fc_opt[i]].name,
					    "required in one-octet form when another FC is one octet");
		st.params.fc_len = 1;
	}
	static const enum opt_id label_opt[2] = {O_LABEL, O_ACCESS_LABEL};
	char *label_dst[2] = {st.params.label, st.params.access_label};
	for (int i = 0; i < 2; i++) {
		const char *v = st.val[label_opt[i]];
		if (!v)
			continue;
		size_t n = strlen(v);
		if (n < 1 || n >= sizeof(st.params.label) ||
		    !e2m_printable_utf8((const uint8_t *)v, n))
			usage_error(opts[label_opt[i]].name, "expected 1..%zu octets of printable UTF-8",
				    sizeof(st.params.label) - 1);
		memcpy(label_dst[i], v, n + 1);
	}
}

static void key_id_opt(void)
{
	const char *v = st.val[O_KEY_ID];
	if (!v || strcmp(v, "rand") == 0)
		st.key_id_hash = 0;
	else if (strcmp(v, "hash") == 0)
		st.key_id_hash = 1;
	else
		usage_error(opts[O_KEY_ID].name, "expected rand or hash");
}

/* The identity and PSK, common to both commands once CK and IK are known. */
static void derive_psk(void)
{
	const char *app = st.val[O_APP_ID], *emse = st.val[O_EMSE_ID];
	if (e2m_int_key(&st.params, st.ck, st.ik, st.int_key) != 0)
		failure("e2m_int_key");
	st.key_id = st.key_id_hash ? e2m_key_id_hash(st.int_key) : e2m_key_id(st.rand);
	if (e2m_key(&st.params, st.int_key, emse, strlen(emse), st.key) != 0)
		failure("e2m_key");
	if (e2m_identity_encode(st.key_id, app, strlen(app), st.identity, sizeof(st.identity)) < 0)
		failure("psk identity");
}

/* Strings were validated as printable UTF-8, so only '"' and '\' need escaping; control bytes
 * are escaped all the same in case that ever changes. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int first_field = 1;

static void json_field_str(const char *name, const char *value)
{
	printf("%s\"%s\": ", first_field ? "{" : ", ", name);
	first_field = 0;
	json_str(value);
}

static void json_field_hex(const char *name, const uint8_t *v, size_t len)
{
	e2m_hex_encode(v, len, st.hex);
	json_field_str(name, st.hex);
}

static void finish_output(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		failure("writing the output");
	wipe_state();
}

static int cmd_derive(int argc, char **argv)
{
	parse_args(CMD_DERIVE, "derive", argc, argv);
	hex_opt(O_K, st.k, 16);
	if (st.val[O_OP] && st.val[O_OPC])
		usage_error(opts[O_OP].name, "give either --op or --opc, not both");
	if (!st.val[O_OP] && !st.val[O_OPC])
		usage_error(opts[O_OPC].name, "missing (required: --opc or --op)");
	if (st.val[O_OP])
		hex_opt(O_OP, st.op, 16);
	else
		hex_opt(O_OPC, st.opc, 16);
	hex_opt(O_RAND, st.rand, 16);
	hex_opt(O_SQN, st.sqn, 6);
	hex_opt(O_AMF, st.amf, 2);
	key_id_opt();
	text_opts();
	settings();

	if (st.val[O_OP] && milenage_opc(st.k, st.op, st.opc) != 0)
		failure("OPc");
	if (milenage_f2345(st.k, st.opc, st.rand, st.res, st.ck, st.ik, st.ak, NULL) != 0)
		failure("Milenage");
	for (int i = 0; i < 6; i++)
		st.sqn_xor_ak[i] = (uint8_t)(st.sqn[i] ^ st.ak[i]);
	if (e2m_access_keys(&st.params, st.ck, st.ik, st.sqn_xor_ak, st.ck_prime, st.ik_prime) != 0)
		failure("CK'/IK'");
	derive_psk();

	uint8_t key_id_be[4] = {(uint8_t)(st.key_id >> 24), (uint8_t)(st.key_id >> 16),
				(uint8_t)(st.key_id >> 8), (uint8_t)st.key_id};
	json_field_hex("k", st.k, 16);
	if (st.val[O_OP])
		json_field_hex("op", st.op, 16);
	json_field_hex("opc", st.opc, 16);
	json_field_hex("rand", st.rand, 16);
	json_field_hex("sqn", st.sqn, 6);
	json_field_hex("amf", st.amf, 2);
	json_field_hex("ck", st.ck, 16);
	json_field_hex("ik", st.ik, 16);
	json_field_hex("res", st.res, 8);
	json_field_hex("ak", st.ak, 6);
	json_field_hex("ck_prime", st.ck_prime, 16);
	json_field_hex("ik_prime", st.ik_prime, 16);
	json_field_hex("e2m_int_key", st.int_key, E2M_KEY_LEN);
	json_field_hex("key_id", key_id_be, 4);
	json_field_str("ue_app_id", st.val[O_APP_ID]);
	json_field_str("emse_id", st.val[O_EMSE_ID]);
	json_field_hex("e2m_key", st.key, E2M_KEY_LEN);
	json_field_str("psk_identity", st.identity);
	fputs("}\n", stdout);
	finish_output();
	return 0;
}

static int cmd_psk(int argc, char **argv)
{
	parse_args(CMD_PSK, "psk", argc, argv);
	hex_opt(O_CK, st.ck, 16);
	hex_opt(O_IK, st.ik, 16);
	key_id_opt();
	/* In hash mode RAND plays no part; it is still checked when given. */
	if (!st.key_id_hash || st.val[O_RAND])
		hex_opt(O_RAND, st.rand, 16);
	text_opts();
	settings();
	derive_psk();
	e2m_hex_encode(st.key, E2M_KEY_LEN, st.hex);
	printf("%s\n%s\n", st.identity, st.hex);
	finish_output();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage_error(NULL, "expected a command: derive or psk (see --help)");
	const char *c = argv[1];
	if (strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0 || strcmp(c, "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(c, "derive") == 0)
		return cmd_derive(argc, argv);
	if (strcmp(c, "psk") == 0)
		return cmd_psk(argc, argv);
	if (strncmp(c, "--", 2) == 0)
		usage_error(NULL, "%s: unknown option; expected a command first: derive or psk", c);
	usage_error(NULL, "%s: unknown command; expected derive or psk (see --help)", c);
}
