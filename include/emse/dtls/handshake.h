/* What the DTLS layer's two handshake engines (hs12.c and the wolfSSL glue dtls.c) share with
 * their user: the suites a listener may offer, and the reasons a handshake fails or a ClientHello
 * goes to wolfSSL instead of hs12.c. The worker counts them (stats.h); they live here so the
 * protocol library needs no worker header. */
#ifndef EMSE_DTLS_HANDSHAKE_H
#define EMSE_DTLS_HANDSHAKE_H

/* Cipher suites we may offer, as a bit set. */
#define EMSE_SUITE_CCM8 0x1u
#define EMSE_SUITE_GCM 0x2u
#define EMSE_SUITE_CBC 0x4u

/* Why a handshake failed. */
enum emse_hs_fail {
	EMSE_HS_FAIL_TIMEOUT = 0,     /* no progress within handshake_timeout_ms */
	EMSE_HS_FAIL_NOT_E2M,         /* identity is not an e2m identity */
	EMSE_HS_FAIL_NO_KEY,          /* key cache / EMKS: no key for this identity */
	EMSE_HS_FAIL_KEY_FORBIDDEN,   /* EMKS said 403 */
	EMSE_HS_FAIL_KEY_UNAVAILABLE, /* EMKS down, timeout, overload */
	EMSE_HS_FAIL_PARKED_TIMEOUT,  /* key did not come within parked_timeout_ms */
	EMSE_HS_FAIL_BAD_FINISHED,    /* wrong key: Finished / MAC did not verify */
	EMSE_HS_FAIL_ALERT,           /* the client sent a fatal alert */
	EMSE_HS_FAIL_PROTOCOL,        /* any other wolfSSL error */
	EMSE_HS_FAIL__COUNT
};

/* Why a ClientHello with a valid cookie went to wolfSSL instead of hs12.c. */
enum emse_hs12_skip {
	EMSE_HS12_OK = 0,
	EMSE_HS12_SKIP_VERSION,     /* not DTLS 1.2, or DTLS 1.3 offered */
	EMSE_HS12_SKIP_SUITE,       /* the suite the server prefers is one hs12.c does not do */
	EMSE_HS12_SKIP_EXTENSIONS,  /* extensions block malformed or repeated, or renegotiation */
	EMSE_HS12_SKIP_COMPRESSION, /* null compression not offered */
	EMSE_HS12_SKIP_ENGINE,      /* handshake_engine = wolfssl */
	EMSE_HS12_SKIP__COUNT
};

#endif
