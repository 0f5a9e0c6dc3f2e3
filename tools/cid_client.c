/* cid-client: a DTLS 1.2 PSK client on mbedTLS 3.6 that negotiates an RFC 9146 Connection ID,
 * sends records and checks each is echoed, and can move to a new UDP source port every K records
 * while keeping its DTLS session (what a UE behind a rebinding NAT looks like to the server).
 *
 *   cid-client --host ADDR --port N --psk-identity ID --psk-hex HEX [--suite ccm8|gcm]
 *              [--cid on|off|empty] [--records N] [--size B] [--rebind-every K]
 *              [--interval-ms MS] [--bind ADDR] [--timeout-ms MS]
 *              [--step-file PATH] [--rehandshake]
 *
 * --step-file: record i (i > 0) waits until PATH holds a number >= i, so that a test moves many
 * clients through its phases together (NAT flush, balancer change, node killed). --rehandshake:
 * a record that is not echoed is sent again, and if that is not echoed either, retried once on a
 * new handshake from a new port, as a UE whose server went away does (the summary counts the handshakes and shows the last peer CID).
 *
 * --cid empty offers a zero-length CID of our own (mbedTLS defaults, nRF modems in "supported"
 * mode): the server must still give us its CID. One line per echoed record, then a summary line
 * "summary: ..." that the e2e tests parse. Exit 0 only if every record was echoed intact. */
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
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/timing.h>
#include <psa/crypto.h>

#if !defined(MBEDTLS_SSL_DTLS_CONNECTION_ID) || MBEDTLS_SSL_DTLS_CONNECTION_ID_COMPAT != 0
#error "cid-client needs mbedTLS with RFC 9146 Connection ID (tools/build-mbedtls.sh)"
#endif

#define OWN_CID_LEN 4 /* what the server puts in the records it sends us (--cid on) */
#define MAX_RECORD 16384

struct opts {
    const char *host, *port, *identity, *psk_hex, *bind_addr;
    int suite;            /* mbedTLS ciphersuite id */
    enum { CID_OFF, CID_ON, CID_EMPTY } cid;
    long records, size, rebind_every, interval_ms, timeout_ms;
    const char *step_file;
    int rehandshake;
};

/* The UDP transport: a connected socket, so only the server's datagrams reach mbedTLS. */
struct transport {
    int fd;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    const char *bind_addr;
    unsigned short port; /* our current source port */
};

static void die(const char *what, int ret)
{
    char buf[160];
    mbedtls_strerror(ret, buf, sizeof(buf));
    fprintf(stderr, "cid-client: %s: %s (-0x%04x)\n", what, buf, (unsigned)-ret);
    exit(1);
}

static int t_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct transport *t = ctx;
    ssize_t n = send(t->fd, buf, len, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
    return (int)n;
}

static int t_recv_timeout(void *ctx, unsigned char *buf, size_t len, uint32_t timeout_ms)
{
    struct transport *t = ctx;
    struct pollfd p = { .fd = t->fd, .events = POLLIN };
    int r = poll(&p, 1, timeout_ms ? (int)timeout_ms : -1);
    if (r == 0)
        return MBEDTLS_ERR_SSL_TIMEOUT;
    if (r < 0)
        return errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
    ssize_t n = recv(t->fd, buf, len, 0);
    if (n < 0) /* ICMP port unreachable on a connected socket: keep waiting for the timer */
        return errno == ECONNREFUSED || errno == EAGAIN || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ
                                                                          : MBEDTLS_ERR_NET_RECV_FAILED;
    return (int)n;
}

static unsigned short local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t l = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &l) != 0)
        return 0;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

/* Opens a socket on a source port other than `avoid` (the kernel may hand the same ephemeral port
 * back right after a close: a rebind that keeps the port would prove nothing). */
static int open_socket(struct transport *t, unsigned short avoid)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        int fd = socket(t->peer.ss_family, SOCK_DGRAM, 0);
        if (fd < 0)
            return -1;
        if (t->bind_addr) {
            struct addrinfo hints = { .ai_family = t->peer.ss_family, .ai_socktype = SOCK_DGRAM,
                                      .ai_flags = AI_NUMERICHOST | AI_PASSIVE }, *ai;
            if (getaddrinfo(t->bind_addr, "0", &hints, &ai) != 0) {
                fprintf(stderr, "cid-client: --bind %s: not a numeric address of the server's family\n",
                        t->bind_addr);
                exit(2);
            }
            int r = bind(fd, ai->ai_addr, ai->ai_addrlen);
            freeaddrinfo(ai);
            if (r != 0) {
                perror("cid-client: bind");
                exit(1);
            }
        }
        if (connect(fd, (struct sockaddr *)&t->peer, t->peer_len) != 0) {
            close(fd);
            return -1;
        }
        unsigned short p = local_port(fd);
        if (p != avoid) {
            t->fd = fd;
            t->port = p;
            return 0;
        }
        close(fd);
    }
    return -1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t parse_hex(const char *s, unsigned char *out, size_t cap)
{
    size_t n = strlen(s);
    if (n == 0 || n % 2 || n / 2 > cap)
        return 0;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return n / 2;
}

static void hex(char *out, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * n] = 0;
}

static long num(const char *name, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || x < lo || x > hi) {
        fprintf(stderr, "cid-client: --%s %s: want an integer in [%ld, %ld]\n", name, v, lo, hi);
        exit(2);
    }
    return x;
}

/* Waits until path holds a number >= step (written by the test driving us). */
static void wait_step(const char *path, long step)
{
    for (;;) {
        FILE *f = fopen(path, "r");
        long v = -1;
        if (f) {
            if (fscanf(f, "%ld", &v) != 1)
                v = -1;
            fclose(f);
        }
        if (v >= step)
            return;
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: cid-client --host ADDR --port N --psk-identity ID --psk-hex HEX\n"
                    "       [--suite ccm8|gcm] [--cid on|off|empty] [--records N] [--size B]\n"
                    "       [--rebind-every K] [--interval-ms MS] [--bind ADDR] [--timeout-ms MS]\n"
                    "       [--step-file PATH] [--rehandshake]\n");
    exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        { "host", 1, 0, 'h' }, { "port", 1, 0, 'p' }, { "psk-identity", 1, 0, 'i' },
        { "psk-hex", 1, 0, 'k' }, { "suite", 1, 0, 's' }, { "cid", 1, 0, 'c' },
        { "records", 1, 0, 'n' }, { "size", 1, 0, 'b' }, { "rebind-every", 1, 0, 'r' },
        { "interval-ms", 1, 0, 't' }, { "bind", 1, 0, 'B' }, { "timeout-ms", 1, 0, 'T' },
        { "step-file", 1, 0, 'S' }, { "rehandshake", 0, 0, 'R' }, { 0, 0, 0, 0 }
    };
    *o = (struct opts){ .suite = MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8, .cid = CID_ON, .records = 1,
                        .size = 32, .timeout_ms = 2000 };
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'h': o->host = optarg; break;
        case 'p': o->port = optarg; break;
        case 'i': o->identity = optarg; break;
        case 'k': o->psk_hex = optarg; break;
        case 'B': o->bind_addr = optarg; break;
        case 's':
            if (!strcmp(optarg, "ccm8")) o->suite = MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8;
            else if (!strcmp(optarg, "gcm")) o->suite = MBEDTLS_TLS_PSK_WITH_AES_128_GCM_SHA256;
            else { fprintf(stderr, "cid-client: --suite %s: want ccm8 or gcm\n", optarg); exit(2); }
            break;
        case 'c':
            if (!strcmp(optarg, "on")) o->cid = CID_ON;
            else if (!strcmp(optarg, "off")) o->cid = CID_OFF;
            else if (!strcmp(optarg, "empty")) o->cid = CID_EMPTY;
            else { fprintf(stderr, "cid-client: --cid %s: want on, off or empty\n", optarg); exit(2); }
            break;
        case 'n': o->records = num("records", optarg, 0, 100000000); break;
        case 'b': o->size = num("size", optarg, 1, 1200); break;
        case 'r': o->rebind_every = num("rebind-every", optarg, 0, 100000000); break;
        case 't': o->interval_ms = num("interval-ms", optarg, 0, 3600000); break;
        case 'T': o->timeout_ms = num("timeout-ms", optarg, 1, 600000); break;
        case 'S': o->step_file = optarg; break;
        case 'R': o->rehandshake = 1; break;
        default: usage();
        }
    }
    if (!o->host || !o->port || !o->identity || !o->psk_hex || optind != argc)
        usage();
}

int main(int argc, char **argv)
{
    struct opts o;
    parse(argc, argv, &o);
    unsigned char psk[64];
    size_t psk_len = parse_hex(o.psk_hex, psk, sizeof(psk));
    if (!psk_len) {
        fprintf(stderr, "cid-client: --psk-hex: want 1..64 octets in hex\n");
        return 2;
    }

    struct transport t = { .fd = -1, .bind_addr = o.bind_addr };
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
                              .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *ai;
    if (getaddrinfo(o.host, o.port, &hints, &ai) != 0) {
        fprintf(stderr, "cid-client: --host %s --port %s: want a numeric address and port\n", o.host, o.port);
        return 2;
    }
    memcpy(&t.peer, ai->ai_addr, ai->ai_addrlen);
    t.peer_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    if (open_socket(&t, 0) != 0) {
        perror("cid-client: socket");
        return 1;
    }

    int ret;
    if ((ret = (int)psa_crypto_init()) != PSA_SUCCESS) {
        fprintf(stderr, "cid-client: psa_crypto_init: %d\n", ret);
        return 1;
    }
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    mbedtls_timing_delay_context timer;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_ssl_config_init(&conf);
    mbedtls_ssl_init(&ssl);
    if ((ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                                     (const unsigned char *)"cid-client", 10)) != 0)
        die("ctr_drbg_seed", ret);
    if ((ret = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_DATAGRAM,
                                           MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
        die("ssl_config_defaults", ret);
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    mbedtls_ssl_conf_min_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_max_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
    const int suites[] = { o.suite, 0 };
    mbedtls_ssl_conf_ciphersuites(&conf, suites);
    if ((ret = mbedtls_ssl_conf_psk(&conf, psk, psk_len, (const unsigned char *)o.identity,
                                    strlen(o.identity))) != 0)
        die("ssl_conf_psk", ret);
    mbedtls_platform_zeroize(psk, sizeof(psk)); /* mbedTLS keeps its own copy */
    mbedtls_ssl_conf_handshake_timeout(&conf, 1000, 8000);
    mbedtls_ssl_conf_read_timeout(&conf, (uint32_t)o.timeout_ms);
    size_t own_len = o.cid == CID_ON ? OWN_CID_LEN : 0;
    if ((ret = mbedtls_ssl_conf_cid(&conf, own_len, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE)) != 0)
        die("ssl_conf_cid", ret);
    if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0)
        die("ssl_setup", ret);
    unsigned char own_cid[OWN_CID_LEN];
    if (o.cid != CID_OFF) {
        if ((ret = mbedtls_ctr_drbg_random(&drbg, own_cid, own_len)) != 0)
            die("own cid", ret);
        if ((ret = mbedtls_ssl_set_cid(&ssl, MBEDTLS_SSL_CID_ENABLED, own_cid, own_len)) != 0)
            die("ssl_set_cid", ret);
    }
    mbedtls_ssl_set_bio(&ssl, &t, t_send, NULL, t_recv_timeout);
    mbedtls_ssl_set_timer_cb(&ssl, &timer, mbedtls_timing_set_delay, mbedtls_timing_get_delay);

    int handshakes = 0, cid_on = 0;
    unsigned char peer_cid[MBEDTLS_SSL_CID_OUT_LEN_MAX];
    size_t peer_len = 0;
handshake:
    do
        ret = mbedtls_ssl_handshake(&ssl);
    while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
    if (ret != 0)
        die("handshake", ret);
    handshakes++;
    if ((ret = mbedtls_ssl_get_peer_cid(&ssl, &cid_on, peer_cid, &peer_len)) != 0)
        die("get_peer_cid", ret);
    char peer_hex[2 * sizeof(peer_cid) + 1], own_hex[2 * OWN_CID_LEN + 1];
    hex(peer_hex, peer_cid, cid_on == MBEDTLS_SSL_CID_ENABLED ? peer_len : 0);
    hex(own_hex, own_cid, o.cid == CID_OFF ? 0 : own_len);
    printf("handshake: suite=%s cid=%s peer_cid=%s own_cid=%s port=%u\n",
           mbedtls_ssl_get_ciphersuite(&ssl), cid_on == MBEDTLS_SSL_CID_ENABLED ? "yes" : "no",
           peer_hex[0] ? peer_hex : "-", own_hex[0] ? own_hex : "-", t.port);
    fflush(stdout);

    static unsigned char out[MAX_RECORD], in[MAX_RECORD];
    static long sent = 0, echoed = 0, rebinds = 0, i = 0, retried = -1;
    int fail = 0;
    if (handshakes > 1)
        goto record; /* the record that was not echoed, once more on the new session */
    for (i = 0; i < o.records && !fail; i++) {
        if (o.step_file && i > 0)
            wait_step(o.step_file, i);
        if (o.rebind_every && i > 0 && i % o.rebind_every == 0) {
            /* A new socket on a new port: the DTLS session (keys, epoch, sequence numbers, CID)
             * stays in `ssl`, only its transport moves, as behind a NAT that rebinds. */
            unsigned short old = t.port;
            close(t.fd);
            if (open_socket(&t, old) != 0) {
                perror("cid-client: rebind");
                return 1;
            }
            mbedtls_ssl_set_bio(&ssl, &t, t_send, NULL, t_recv_timeout);
            rebinds++;
            printf("rebind: port %u -> %u\n", old, t.port);
        }
    record:;
        int len = snprintf((char *)out, sizeof(out), "cid-client record %ld ", i);
        for (long j = len; j < o.size; j++)
            out[j] = (unsigned char)('a' + (i + j) % 26);
        len = (int)o.size;
        sent++;
        /* --rehandshake: a record not echoed is sent once more (a datagram may be lost) before
         * the session is given up */
        for (int attempt = 0;; attempt++) {
            do
                ret = mbedtls_ssl_write(&ssl, out, (size_t)len);
            while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
            if (ret != len)
                die("write", ret < 0 ? ret : MBEDTLS_ERR_SSL_INTERNAL_ERROR);
            do
                ret = mbedtls_ssl_read(&ssl, in, sizeof(in));
            while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
            if (ret != MBEDTLS_ERR_SSL_TIMEOUT || !o.rehandshake || attempt > 0)
                break;
            printf("record %ld: no echo within %ld ms (port %u): sent again\n", i, o.timeout_ms,
                   t.port);
            fflush(stdout);
        }
        if (ret == MBEDTLS_ERR_SSL_TIMEOUT && o.rehandshake && retried != i) {
            /* the server lost our session (or went away): a new one, from a new port */
            printf("record %ld: no echo within %ld ms (port %u): new handshake\n", i,
                   o.timeout_ms, t.port);
            fflush(stdout);
            retried = i;
            sent--;
            unsigned short old = t.port;
            close(t.fd);
            if (open_socket(&t, old) != 0) {
                perror("cid-client: new socket");
                return 1;
            }
            if ((ret = mbedtls_ssl_session_reset(&ssl)) != 0)
                die("session_reset", ret);
            if (o.cid != CID_OFF &&
                (ret = mbedtls_ssl_set_cid(&ssl, MBEDTLS_SSL_CID_ENABLED, own_cid, own_len)) != 0)
                die("ssl_set_cid", ret);
            mbedtls_ssl_set_bio(&ssl, &t, t_send, NULL, t_recv_timeout);
            goto handshake;
        } else if (ret == MBEDTLS_ERR_SSL_TIMEOUT) {
            printf("record %ld: no echo within %ld ms (port %u)\n", i, o.timeout_ms, t.port);
            fail = 1;
        } else if (ret < 0) {
            die("read", ret);
        } else if (ret != len || memcmp(in, out, (size_t)len) != 0) {
            printf("record %ld: echo differs (%d octets back, %d sent)\n", i, ret, len);
            fail = 1;
        } else {
            echoed++;
            printf("echo %ld: %d octets port=%u\n", i, ret, t.port);
        }
        fflush(stdout);
        if (o.interval_ms && i + 1 < o.records) {
            struct timespec ts = { o.interval_ms / 1000, (o.interval_ms % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    printf("summary: sent=%ld echoed=%ld cid=%s peer_cid=%s own_cid=%s rebinds=%ld handshakes=%d\n",
           sent, echoed, cid_on == MBEDTLS_SSL_CID_ENABLED ? "yes" : "no", peer_hex[0] ? peer_hex : "-",
           own_hex[0] ? own_hex : "-", rebinds, handshakes);
    mbedtls_ssl_close_notify(&ssl);
    close(t.fd);
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    mbedtls_psa_crypto_free();
    return fail || echoed != o.records;
}
