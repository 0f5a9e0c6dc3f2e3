/* cid-echo-server: a one-session DTLS 1.2 PSK echo server on mbedTLS 3.6 with an RFC 9146
 * Connection ID: the independent peer that cid-client and emse-bench's own handshake client are
 * checked against (mbedTLS's ssl_server2 answers with an HTTP page, not an echo, and cannot
 * follow a client to a new address).
 *
 *   cid-echo-server --port N --psk-identity ID --psk-hex HEX [--bind ADDR] [--cid-hex HEX|off]
 *                   [--records N] [--timeout-ms MS]
 *
 * It answers to the address of the last datagram that carried an authenticated record (mbedTLS
 * returns a record from ssl_read only once it passed the tag and replay checks); a test peer, not
 * the full RFC 9146 section 6 rule (newer than every record seen), which is emse's. Prints
 * "moved: PORT -> PORT" for every address change and a final "summary: ..." line. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cookie.h>
#include <mbedtls/timing.h>
#include <psa/crypto.h>

struct transport {
    int fd;
    struct sockaddr_storage peer, last; /* where we answer; where the last datagram came from */
    socklen_t peer_len, last_len;
    int have_peer;
};

static void die(const char *what, int ret)
{
    char buf[160];
    mbedtls_strerror(ret, buf, sizeof(buf));
    fprintf(stderr, "cid-echo-server: %s: %s (-0x%04x)\n", what, buf, (unsigned)-ret);
    exit(1);
}

static int t_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct transport *t = ctx;
    ssize_t n = sendto(t->fd, buf, len, 0, (struct sockaddr *)&t->peer, t->peer_len);
    return n < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)n;
}

static int t_recv_timeout(void *ctx, unsigned char *buf, size_t len, uint32_t timeout_ms)
{
    struct transport *t = ctx;
    struct pollfd p = { .fd = t->fd, .events = POLLIN };
    int r = poll(&p, 1, timeout_ms ? (int)timeout_ms : -1);
    if (r == 0)
        return MBEDTLS_ERR_SSL_TIMEOUT;
    if (r < 0)
        return MBEDTLS_ERR_SSL_WANT_READ;
    t->last_len = sizeof(t->last);
    ssize_t n = recvfrom(t->fd, buf, len, 0, (struct sockaddr *)&t->last, &t->last_len);
    if (n < 0)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (!t->have_peer) { /* the handshake's first datagram names the client */
        t->peer = t->last;
        t->peer_len = t->last_len;
        t->have_peer = 1;
    }
    return (int)n;
}

static unsigned short port_of(const struct sockaddr_storage *ss)
{
    return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
                                           : ((const struct sockaddr_in *)ss)->sin_port);
}

static size_t parse_hex(const char *s, unsigned char *out, size_t cap, int *ok)
{
    size_t n = strlen(s);
    *ok = n % 2 == 0 && n / 2 <= cap;
    for (size_t i = 0; *ok && i < n / 2; i++) {
        unsigned v;
        *ok = sscanf(s + 2 * i, "%2x", &v) == 1;
        out[i] = (unsigned char)v;
    }
    return n / 2;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "port", 1, 0, 'p' }, { "psk-identity", 1, 0, 'i' }, { "psk-hex", 1, 0, 'k' },
        { "bind", 1, 0, 'B' }, { "cid-hex", 1, 0, 'c' }, { "records", 1, 0, 'n' },
        { "timeout-ms", 1, 0, 'T' }, { 0, 0, 0, 0 }
    };
    const char *port = NULL, *identity = NULL, *psk_hex = NULL, *bind_addr = "127.0.0.1", *cid_hex = "c1d0c1d0c1d0c1d0";
    long records = 0, timeout_ms = 10000;
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'p': port = optarg; break;
        case 'i': identity = optarg; break;
        case 'k': psk_hex = optarg; break;
        case 'B': bind_addr = optarg; break;
        case 'c': cid_hex = optarg; break;
        case 'n': records = atol(optarg); break;
        case 'T': timeout_ms = atol(optarg); break;
        default: goto usage;
        }
    }
    if (!port || !identity || !psk_hex || optind != argc) {
    usage:
        fprintf(stderr, "usage: cid-echo-server --port N --psk-identity ID --psk-hex HEX [--bind ADDR]\n"
                        "       [--cid-hex HEX|off] [--records N] [--timeout-ms MS]\n");
        return 2;
    }
    unsigned char psk[64], cid[MBEDTLS_SSL_CID_IN_LEN_MAX];
    int ok, cid_on = strcmp(cid_hex, "off") != 0;
    size_t psk_len = parse_hex(psk_hex, psk, sizeof(psk), &ok);
    if (!ok || !psk_len) {
        fprintf(stderr, "cid-echo-server: --psk-hex: want 1..64 octets in hex\n");
        return 2;
    }
    size_t cid_len = cid_on ? parse_hex(cid_hex, cid, sizeof(cid), &ok) : 0;
    if (!ok) {
        fprintf(stderr, "cid-echo-server: --cid-hex: want up to %d octets in hex, or off\n", MBEDTLS_SSL_CID_IN_LEN_MAX);
        return 2;
    }

    struct transport t = { .fd = -1 };
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
                              .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE }, *ai;
    if (getaddrinfo(bind_addr, port, &hints, &ai) != 0) {
        fprintf(stderr, "cid-echo-server: --bind %s --port %s: want a numeric address and port\n", bind_addr, port);
        return 2;
    }
    t.fd = socket(ai->ai_family, SOCK_DGRAM, 0);
    if (t.fd < 0 || bind(t.fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        perror("cid-echo-server: bind");
        return 1;
    }
    freeaddrinfo(ai);

    int ret;
    if (psa_crypto_init() != PSA_SUCCESS)
        return 1;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_cookie_ctx cookies;
    mbedtls_timing_delay_context timer;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_ssl_config_init(&conf);
    mbedtls_ssl_init(&ssl);
    mbedtls_ssl_cookie_init(&cookies);
    if ((ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0)) != 0)
        die("ctr_drbg_seed", ret);
    if ((ret = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_DATAGRAM,
                                           MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
        die("ssl_config_defaults", ret);
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    mbedtls_ssl_conf_min_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_max_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
    static const int suites[] = { MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8, MBEDTLS_TLS_PSK_WITH_AES_128_GCM_SHA256, 0 };
    mbedtls_ssl_conf_ciphersuites(&conf, suites);
    if ((ret = mbedtls_ssl_conf_psk(&conf, psk, psk_len, (const unsigned char *)identity, strlen(identity))) != 0)
        die("ssl_conf_psk", ret);
    mbedtls_ssl_conf_read_timeout(&conf, (uint32_t)timeout_ms);
    if ((ret = mbedtls_ssl_cookie_setup(&cookies, mbedtls_ctr_drbg_random, &drbg)) != 0)
        die("cookie_setup", ret);
    mbedtls_ssl_conf_dtls_cookies(&conf, mbedtls_ssl_cookie_write, mbedtls_ssl_cookie_check, &cookies);
    if ((ret = mbedtls_ssl_conf_cid(&conf, cid_len, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE)) != 0)
        die("ssl_conf_cid", ret);
    if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0)
        die("ssl_setup", ret);
    mbedtls_ssl_set_timer_cb(&ssl, &timer, mbedtls_timing_set_delay, mbedtls_timing_get_delay);
    mbedtls_ssl_set_bio(&ssl, &t, t_send, NULL, t_recv_timeout);
    printf("listening on %s port %s\n", bind_addr, port);
    fflush(stdout);

    int handshakes = 0, hvr = 0;
    for (;;) {
        if (cid_on && (ret = mbedtls_ssl_set_cid(&ssl, MBEDTLS_SSL_CID_ENABLED, cid, cid_len)) != 0)
            die("ssl_set_cid", ret);
        /* The transport id the cookie binds: the first datagram's address, read before the
         * handshake starts. */
        struct pollfd p = { .fd = t.fd, .events = POLLIN };
        if (poll(&p, 1, (int)timeout_ms) <= 0) {
            fprintf(stderr, "cid-echo-server: no client within %ld ms\n", timeout_ms);
            return 1;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        unsigned char peek[1];
        if (recvfrom(t.fd, peek, sizeof(peek), MSG_PEEK, (struct sockaddr *)&ss, &sl) < 0)
            continue;
        t.peer = ss;
        t.peer_len = sl;
        t.have_peer = 1;
        if ((ret = mbedtls_ssl_set_client_transport_id(&ssl, (unsigned char *)&ss, sl)) != 0)
            die("set_client_transport_id", ret);
        do
            ret = mbedtls_ssl_handshake(&ssl);
        while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
        if (ret == MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED) {
            hvr++;
            mbedtls_ssl_session_reset(&ssl);
            continue;
        }
        if (ret != 0)
            die("handshake", ret);
        handshakes++;
        break;
    }
    int negotiated = 0;
    unsigned char peer_cid[MBEDTLS_SSL_CID_OUT_LEN_MAX];
    size_t peer_cid_len = 0;
    mbedtls_ssl_get_peer_cid(&ssl, &negotiated, peer_cid, &peer_cid_len);
    printf("handshake: suite=%s cid=%s port=%u\n", mbedtls_ssl_get_ciphersuite(&ssl),
           negotiated == MBEDTLS_SSL_CID_ENABLED ? "yes" : "no", port_of(&t.peer));
    fflush(stdout);

    long echoed = 0, moves = 0;
    unsigned char buf[16384];
    while (records == 0 || echoed < records) {
        do
            ret = mbedtls_ssl_read(&ssl, buf, sizeof(buf));
        while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
        if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == 0 || ret == MBEDTLS_ERR_SSL_TIMEOUT)
            break;
        if (ret < 0)
            die("read", ret);
        if (t.last_len != t.peer_len || memcmp(&t.last, &t.peer, t.last_len) != 0) {
            printf("moved: %u -> %u\n", port_of(&t.peer), port_of(&t.last));
            t.peer = t.last;
            t.peer_len = t.last_len;
            moves++;
        }
        int n = ret;
        do
            ret = mbedtls_ssl_write(&ssl, buf, (size_t)n);
        while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
        if (ret != n)
            die("write", ret);
        echoed++;
    }
    printf("summary: handshakes=%d hello_verify=%d echoed=%ld moves=%ld cid=%s\n", handshakes, hvr, echoed,
           moves, negotiated == MBEDTLS_SSL_CID_ENABLED ? "yes" : "no");
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_cookie_free(&cookies);
    mbedtls_ssl_config_free(&conf);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    close(t.fd);
    return 0;
}
