/* unit_stream_tls_test.c: ferry+tls in the ICD's transport (transport_stream.c) against a scripted peer that speaks
 * TLS 1.3 with OpenSSL on 127.0.0.1 (tests/stream_peer.h), with certificates this test makes (a CA, the host's
 * certificate for 127.0.0.1, the guest's, and impostors of each):
 *   a good bundle connects, and calls work over TLS;
 *   a host certificate from another CA, or for another name, is refused by the ICD (and the message says which);
 *   a guest certificate from another CA is refused by the host (the ICD says the host refused its certificate);
 *   a key others can read, and a missing bundle, are refused before any connection, with what to do.
 * The host's real TLS side is tested in ferry-host (net-tls) and end to end by IcdStreamIT. Exits 0 when every check
 * passes. */
#include <signal.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "stream_peer.h"
#include "unittest.h"

typedef struct cert {
    EVP_PKEY *key;
    X509 *x509;
} cert;

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (e != NULL) {
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
}

/* A certificate for cn (san: subjectAltName, or NULL), signed by ca (NULL: self-signed CA). */
static cert make_cert(const char *cn, const char *san, const cert *ca, long serial) {
    cert c;
    c.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    c.x509 = X509_new();
    X509_set_version(c.x509, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c.x509), serial);
    X509_gmtime_adj(X509_getm_notBefore(c.x509), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c.x509), 3600L * 24);
    X509_set_pubkey(c.x509, c.key);
    X509_NAME *name = X509_get_subject_name(c.x509);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *) cn, -1, -1, 0);
    X509_set_issuer_name(c.x509, ca ? X509_get_subject_name(ca->x509) : name);
    X509 *issuer = ca ? ca->x509 : c.x509;
    if (ca == NULL) {
        add_ext(c.x509, issuer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(c.x509, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(c.x509, issuer, NID_basic_constraints, "critical,CA:FALSE");
    }
    if (san != NULL) add_ext(c.x509, issuer, NID_subject_alt_name, san);
    X509_sign(c.x509, ca ? ca->key : c.key, EVP_sha256());
    return c;
}

static void write_pem(const char *dir, const char *file, X509 *x, EVP_PKEY *key, mode_t mode) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (x) PEM_write_X509(f, x);
    if (key) PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    chmod(path, mode);
}

/* A bundle directory: ca.pem, guest.pem, guest.key (mode 0600 unless key_mode says otherwise). */
static void write_bundle(const char *dir, const cert *ca, const cert *guest, mode_t key_mode) {
    mkdir(dir, 0700);
    write_pem(dir, "ca.pem", ca->x509, NULL, 0644);
    write_pem(dir, "guest.pem", guest->x509, NULL, 0644);
    write_pem(dir, "guest.key", NULL, guest->key, key_mode);
}

/* The host side: TLS 1.3, its certificate, client certificates required and checked against client_ca. */
static SSL_CTX *host_context(const cert *host, const cert *client_ca) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_use_certificate(ctx, host->x509);
    SSL_CTX_use_PrivateKey(ctx, host->key);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), client_ca->x509);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return ctx;
}

/* Connects through a peer with host context tls and bundle dir; returns the status, err the message. */
static int try_connect(SSL_CTX *tls, const char *bundle, enum script script, ferry_conn **out, peer *p,
                       pthread_t *t, char *err, size_t n) {
    int port = 0;
    if (start_tls_peer(p, t, script, tls, &port) != 0) return -1;
    char url[128];
    snprintf(url, sizeof url, "ferry+tls://127.0.0.1:%d/g1", port);
    setenv("FERRY_HOST", url, 1);
    setenv("FERRY_TLS_BUNDLE", bundle, 1);
    return ferry_connect(out, err, n);
}

int main(void) {
    alarm(120);     /* SIGPIPE keeps its default action: the ICD must never raise it in the application */
    unsetenv("FERRY_URL");
    unsetenv("FERRY_GUEST");
    unsetenv("FERRY_SECRET");
    unsetenv("FERRY_SECRET_FILE");
    char dir[] = "/tmp/ferry-tls-test-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    cert ca = make_cert("ferry test CA", NULL, NULL, 1);
    cert other_ca = make_cert("another CA", NULL, NULL, 1);
    cert host = make_cert("ferry-host", "IP:127.0.0.1", &ca, 2);
    cert host_other_name = make_cert("ferry-host", "DNS:gpu9.example", &ca, 3);
    cert host_other_ca = make_cert("ferry-host", "IP:127.0.0.1", &other_ca, 4);
    cert guest = make_cert("ferry-guest:g1", NULL, &ca, 5);
    cert guest_other_ca = make_cert("ferry-guest:g1", NULL, &other_ca, 6);
    char good[300], impostor[300], open_key[300];
    snprintf(good, sizeof good, "%s/good", dir);
    snprintf(impostor, sizeof impostor, "%s/impostor", dir);
    snprintf(open_key, sizeof open_key, "%s/open", dir);
    write_bundle(good, &ca, &guest, 0600);
    write_bundle(impostor, &ca, &guest_other_ca, 0600);
    write_bundle(open_key, &ca, &guest, 0644);

    char err[1024];
    ferry_conn *c = NULL;
    peer p;
    pthread_t t;

    /* a good bundle and a good host: calls work over TLS */
    SSL_CTX *tls = host_context(&host, &ca);
    int st = try_connect(tls, good, PLAY_WELL, &c, &p, &t, err, sizeof err);
    CHECK(st == 0, "good bundle: %d %s", st, err);
    if (st == 0) {
        int64_t o = ferry_heap_alloc(c, 8192);
        uint64_t info[FERRY_INFO_ARGC] = {1, 2, 3, 0, (uint64_t) o, 8192};
        ferry_reply r;
        st = ferry_call(c, FERRY_OP_INFO, info, FERRY_INFO_ARGC, NULL, 0, &r);
        uint8_t *hb = ferry_heap_base(c);
        CHECK(st == 0 && r.results[0] == 4100 && memcmp(hb + o + 4096, "tail", 4) == 0, "INFO over TLS: %d", st);
        ferry_reply_free(&r);
        ferry_disconnect(c);
    }
    stop_peer(&p, t);
    CHECK(p.tls_accepted && strcmp(p.open_guest, "g1") == 0 && !p.open_secret,
          "the host saw the guest's certificate, OPEN named the guest and carried no secret");
    SSL_CTX_free(tls);

    /* the host's certificate from another CA: refused by the ICD */
    tls = host_context(&host_other_ca, &ca);
    st = try_connect(tls, good, PLAY_WELL, &c, &p, &t, err, sizeof err);
    CHECK(st == FERRY_STATUS_BAD_CREDENTIAL && strstr(err, "failed TLS verification") != NULL
          && strstr(err, "certificate") != NULL, "host of another CA: %d %s", st, err);
    stop_peer(&p, t);
    SSL_CTX_free(tls);

    /* the host's certificate for another name: refused by the ICD */
    tls = host_context(&host_other_name, &ca);
    st = try_connect(tls, good, PLAY_WELL, &c, &p, &t, err, sizeof err);
    CHECK(st == FERRY_STATUS_BAD_CREDENTIAL && strstr(err, "failed TLS verification") != NULL
          && strstr(err, "127.0.0.1") != NULL, "host of another name: %d %s", st, err);
    stop_peer(&p, t);
    SSL_CTX_free(tls);

    /* the guest's certificate from another CA: refused by the host, and the ICD says so */
    tls = host_context(&host, &ca);
    st = try_connect(tls, impostor, PLAY_WELL, &c, &p, &t, err, sizeof err);
    CHECK(st == FERRY_STATUS_BAD_CREDENTIAL && strstr(err, "the host refused this guest's TLS certificate") != NULL,
          "guest of another CA: %d %s", st, err);
    stop_peer(&p, t);
    CHECK(!p.tls_accepted, "the host did not accept the impostor");

    /* a key others can read; no bundle at all: refused before connecting */
    setenv("FERRY_HOST", "ferry+tls://127.0.0.1:9/g1", 1);
    setenv("FERRY_TLS_BUNDLE", open_key, 1);
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "chmod 600") != NULL, "open key: %d %s", st, err);
    char missing[400];
    snprintf(missing, sizeof missing, "%s/none", dir);
    setenv("FERRY_TLS_BUNDLE", missing, 1);
    int port = 0;
    st = start_tls_peer(&p, &t, PLAY_WELL, tls, &port);
    char url[128];
    snprintf(url, sizeof url, "ferry+tls://127.0.0.1:%d/g1", port);
    setenv("FERRY_HOST", url, 1);
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == FERRY_STATUS_NOT_CONFIGURED && strstr(err, "ferry guest add g1 --tls") != NULL
          && strstr(err, "FERRY_TLS_BUNDLE") != NULL, "no bundle: %d %s", st, err);
    shutdown(p.listen_fd, SHUT_RDWR);   /* the peer's accept returns: nobody connected */
    stop_peer(&p, t);
    SSL_CTX_free(tls);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    if (failures) {
        fprintf(stderr, "unit_stream_tls_test: %d failure(s)\n", failures);
        return 1;
    }
    printf("unit_stream_tls_test: ok\n");
    return 0;
}
