/* Caller role from the client certificate's subject: OU=emse + CN=<EMSE_Id> is that EMSE;
 * CN=<hss cn> without OU=emse is the HSS; anything else has no role. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/x509.h>
#include <string.h>

#include "emse/emks_server.h"

/* A certificate with the given subject entries: pairs of (field, value), NULL-terminated. */
static X509 *cert_with(const char *first, ...)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	va_list ap;
	va_start(ap, first);
	for (const char *f = first; f; f = va_arg(ap, const char *)) {
		const char *v = va_arg(ap, const char *);
		assert_int_equal(X509_NAME_add_entry_by_txt(n, f, MBSTRING_UTF8,
							    (const unsigned char *)v, -1, -1, 0), 1);
	}
	va_end(ap);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	return x;
}

static void role_of(X509 *x, struct emks_peer *p)
{
	emks_peer_from_cert(x, "hss", p);
	X509_free(x);
}

static void test_emse_by_ou_and_cn(void **state)
{
	(void)state;
	struct emks_peer p;
	role_of(cert_with("O", "emse test", "OU", "emse", "CN", "emse-1", NULL), &p);
	assert_int_equal(p.role, EMKS_PEER_EMSE);
	assert_string_equal(p.emse_id, "emse-1");
	/* An EMSE whose EMSE_Id is "hss" is still an EMSE: OU decides. */
	role_of(cert_with("OU", "emse", "CN", "hss", NULL), &p);
	assert_int_equal(p.role, EMKS_PEER_EMSE);
	assert_string_equal(p.emse_id, "hss");
}

static void test_emse_id_of_64_octets(void **state)
{
	(void)state;
	struct emks_peer p;
	char id[65];
	memset(id, 'x', 64);
	id[64] = '\0';
	role_of(cert_with("OU", "emse", "CN", id, NULL), &p);
	assert_int_equal(p.role, EMKS_PEER_EMSE);
	assert_string_equal(p.emse_id, id);
}

static void test_hss_by_cn(void **state)
{
	(void)state;
	struct emks_peer p;
	role_of(cert_with("O", "emse test", "CN", "hss", NULL), &p);
	assert_int_equal(p.role, EMKS_PEER_HSS);
	emks_peer_from_cert(NULL, "hss", &p);
	assert_int_equal(p.role, EMKS_PEER_NONE);
}

static void test_no_role(void **state)
{
	(void)state;
	struct emks_peer p;
	role_of(cert_with("CN", "emse-1", NULL), &p);          /* no OU=emse */
	assert_int_equal(p.role, EMKS_PEER_NONE);
	role_of(cert_with("OU", "other", "CN", "emse-1", NULL), &p);
	assert_int_equal(p.role, EMKS_PEER_NONE);
	role_of(cert_with("OU", "emse", NULL), &p);             /* no CN */
	assert_int_equal(p.role, EMKS_PEER_NONE);
	role_of(cert_with("OU", "emse", "CN", "a", "CN", "b", NULL), &p); /* ambiguous */
	assert_int_equal(p.role, EMKS_PEER_NONE);
	role_of(cert_with("OU", "emse", "CN", "a\tb", NULL), &p);
	assert_int_equal(p.role, EMKS_PEER_NONE);
	role_of(cert_with("CN", "HSS", NULL), &p);              /* exact match only */
	assert_int_equal(p.role, EMKS_PEER_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emse_by_ou_and_cn),
		cmocka_unit_test(test_emse_id_of_64_octets),
		cmocka_unit_test(test_hss_by_cn),
		cmocka_unit_test(test_no_role),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
