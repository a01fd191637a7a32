/*
 * gss_raw.c - the raw C GSSAPI contender: the same work as bench/sspi_bench.lua
 * and bench/gss_python.py, with nothing between the program and libgssapi_krb5.
 * Its figures are the limit a binding can reach, so the ratios in the table
 * are taken against them.
 *
 *   gss_raw krb5|ntlm handshake SECONDS
 *   gss_raw krb5|ntlm wrap SIZE SECONDS
 *
 * krb5: the initiator uses the default ccache (KRB5CCNAME, a TGT), the acceptor
 * the default keytab (KRB5_KTNAME); the target is BENCH_KRB5_TARGET
 * ("host@localhost").  ntlm: gss-ntlmssp by its mechanism OID; the initiator
 * acquires BENCH_NTLM_USER ("DOMAIN\\user") with BENCH_NTLM_PASSWORD, the
 * acceptor reads NTLM_USER_FILE.
 *
 * Prints one line "ops=N secs=T bytes=B" (B: payload bytes per op, 0 for
 * handshakes) and exits 0; any GSSAPI failure prints the major/minor text to
 * stderr and exits 1.  Iterations are sized by time: the loop runs until
 * SECONDS have passed, reading the clock once per batch.
 */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* gss-ntlmssp's mechanism: 1.3.6.1.4.1.311.2.2.10 */
static const unsigned char ntlm_oid_bytes[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37,
                                                0x02, 0x02, 0x0a };
static gss_OID_desc ntlm_oid = { sizeof ntlm_oid_bytes, (void *)ntlm_oid_bytes };

/* The same request everywhere in bench/: mutual (Kerberos only), replay and
 * sequence detection, integrity and confidentiality. */
#define BENCH_FLAGS (GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG | \
                     GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG)

typedef struct bench_peer {
    gss_OID mech;
    gss_cred_id_t init_cred;
    gss_cred_id_t accept_cred;
    gss_name_t target;
} bench_peer;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_status_kind(OM_uint32 code, int type, gss_OID mech)
{
    OM_uint32 minor, more = 0;
    gss_buffer_desc text;
    do {
        if (GSS_ERROR(gss_display_status(&minor, code, type, mech, &more, &text)))
            return;
        fprintf(stderr, "  %.*s\n", (int)text.length, (const char *)text.value);
        gss_release_buffer(&minor, &text);
    } while (more != 0);
}

/* Fails the run: a benchmark that silently measures an error is worthless. */
static void die_gss(const char *what, OM_uint32 major, OM_uint32 minor, gss_OID mech)
{
    fprintf(stderr, "gss_raw: %s failed (major 0x%08x, minor %u)\n", what, major, minor);
    print_status_kind(major, GSS_C_GSS_CODE, mech);
    print_status_kind(minor, GSS_C_MECH_CODE, mech);
    exit(1);
}

static void die(const char *msg)
{
    fprintf(stderr, "gss_raw: %s\n", msg);
    exit(1);
}

static const char *need_env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "gss_raw: environment variable %s is not set\n", name);
        exit(1);
    }
    return v;
}

static gss_name_t import_name(const char *text, gss_OID type, gss_OID mech)
{
    OM_uint32 major, minor;
    gss_buffer_desc buf;
    gss_name_t name = GSS_C_NO_NAME;
    buf.value = (void *)text;
    buf.length = strlen(text);
    major = gss_import_name(&minor, &buf, type, &name);
    if (GSS_ERROR(major))
        die_gss("gss_import_name", major, minor, mech);
    return name;
}

static void setup_krb5(bench_peer *p)
{
    OM_uint32 major, minor;
    gss_OID_set_desc mechs = { 1, (gss_OID)gss_mech_krb5 };
    p->mech = (gss_OID)gss_mech_krb5;
    major = gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE,
                             &p->init_cred, NULL, NULL);
    if (GSS_ERROR(major))
        die_gss("gss_acquire_cred (initiate)", major, minor, p->mech);
    major = gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT,
                             &p->accept_cred, NULL, NULL);
    if (GSS_ERROR(major))
        die_gss("gss_acquire_cred (accept)", major, minor, p->mech);
    p->target = import_name(need_env("BENCH_KRB5_TARGET"), GSS_C_NT_HOSTBASED_SERVICE, p->mech);
}

static void setup_ntlm(bench_peer *p)
{
    OM_uint32 major, minor;
    gss_OID_set_desc mechs = { 1, &ntlm_oid };
    gss_buffer_desc password;
    gss_name_t user;
    p->mech = &ntlm_oid;
    need_env("NTLM_USER_FILE");
    user = import_name(need_env("BENCH_NTLM_USER"), GSS_C_NT_USER_NAME, p->mech);
    password.value = (void *)need_env("BENCH_NTLM_PASSWORD");
    password.length = strlen((const char *)password.value);
    major = gss_acquire_cred_with_password(&minor, user, &password, GSS_C_INDEFINITE, &mechs,
                                           GSS_C_INITIATE, &p->init_cred, NULL, NULL);
    if (GSS_ERROR(major))
        die_gss("gss_acquire_cred_with_password (initiate)", major, minor, p->mech);
    gss_release_name(&minor, &user);
    major = gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT,
                             &p->accept_cred, NULL, NULL);
    if (GSS_ERROR(major))
        die_gss("gss_acquire_cred (accept)", major, minor, p->mech);
    /* gss-ntlmssp ignores the target for authentication; a name keeps the
     * calls identical to the Kerberos ones. */
    p->target = import_name("host@localhost", GSS_C_NT_HOSTBASED_SERVICE, p->mech);
}

/* One full in-process handshake: tokens go straight from one side to the
 * other until both report completion. */
static void handshake(const bench_peer *p, gss_ctx_id_t *ictx, gss_ctx_id_t *actx)
{
    OM_uint32 minor, imajor = GSS_S_FAILURE, amajor = GSS_S_FAILURE;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
    int legs;

    *ictx = GSS_C_NO_CONTEXT;
    *actx = GSS_C_NO_CONTEXT;
    for (legs = 0;; legs++) {
        if (legs > 8)
            die("handshake did not finish in 8 legs");
        imajor = gss_init_sec_context(&minor, p->init_cred, ictx, p->target, p->mech, BENCH_FLAGS,
                                      GSS_C_INDEFINITE, GSS_C_NO_CHANNEL_BINDINGS, &in, NULL,
                                      &out, NULL, NULL);
        gss_release_buffer(&minor, &in);
        if (GSS_ERROR(imajor))
            die_gss("gss_init_sec_context", imajor, minor, p->mech);
        if (out.length == 0)
            break; /* the initiator has nothing more to say */
        amajor = gss_accept_sec_context(&minor, actx, p->accept_cred, &out,
                                        GSS_C_NO_CHANNEL_BINDINGS, NULL, NULL, &in, NULL, NULL,
                                        NULL);
        gss_release_buffer(&minor, &out);
        if (GSS_ERROR(amajor))
            die_gss("gss_accept_sec_context", amajor, minor, p->mech);
        if (in.length == 0)
            break; /* the acceptor has nothing more to say */
    }
    gss_release_buffer(&minor, &in);
    gss_release_buffer(&minor, &out);
    if (imajor != GSS_S_COMPLETE || amajor != GSS_S_COMPLETE)
        die("handshake ended with a side not complete");
}

static void delete_pair(gss_ctx_id_t *ictx, gss_ctx_id_t *actx)
{
    OM_uint32 minor;
    gss_delete_sec_context(&minor, ictx, GSS_C_NO_BUFFER);
    gss_delete_sec_context(&minor, actx, GSS_C_NO_BUFFER);
}

static void bench_handshake(const bench_peer *p, double seconds)
{
    gss_ctx_id_t ictx, actx;
    unsigned long ops = 0;
    double start, elapsed;

    /* Warm-up: the first handshake fetches and caches the service ticket. */
    handshake(p, &ictx, &actx);
    delete_pair(&ictx, &actx);

    start = now_seconds();
    do {
        handshake(p, &ictx, &actx);
        delete_pair(&ictx, &actx);
        ops++;
        elapsed = now_seconds() - start;
    } while (elapsed < seconds);
    printf("ops=%lu secs=%.6f bytes=0\n", ops, elapsed);
}

/* Initiator wraps (sealed), acceptor unwraps: one op. */
static void wrap_unwrap(const bench_peer *p, gss_ctx_id_t ictx, gss_ctx_id_t actx,
                        gss_buffer_desc *msg, int check)
{
    OM_uint32 major, minor;
    gss_buffer_desc token = GSS_C_EMPTY_BUFFER, plain = GSS_C_EMPTY_BUFFER;
    int conf = 0;

    major = gss_wrap(&minor, ictx, 1, GSS_C_QOP_DEFAULT, msg, &conf, &token);
    if (GSS_ERROR(major))
        die_gss("gss_wrap", major, minor, p->mech);
    if (!conf)
        die("gss_wrap did not encrypt");
    conf = 0;
    major = gss_unwrap(&minor, actx, &token, &plain, &conf, NULL);
    if (GSS_ERROR(major))
        die_gss("gss_unwrap", major, minor, p->mech);
    if (major != GSS_S_COMPLETE || !conf || plain.length != msg->length)
        die("gss_unwrap gave back something else");
    if (check && memcmp(plain.value, msg->value, msg->length) != 0)
        die("gss_unwrap gave back other bytes");
    gss_release_buffer(&minor, &token);
    gss_release_buffer(&minor, &plain);
}

static void bench_wrap(const bench_peer *p, size_t size, double seconds)
{
    gss_ctx_id_t ictx, actx;
    gss_buffer_desc msg;
    unsigned long ops = 0, i, batch = size >= 4096 ? 1 : 64;
    double start, elapsed;
    unsigned char *data = malloc(size);

    if (data == NULL)
        die("out of memory");
    for (i = 0; i < size; i++)
        data[i] = (unsigned char)(i * 7u + 1u);
    msg.value = data;
    msg.length = size;

    handshake(p, &ictx, &actx);
    for (i = 0; i < 16; i++)
        wrap_unwrap(p, ictx, actx, &msg, 1);

    start = now_seconds();
    do {
        for (i = 0; i < batch; i++)
            wrap_unwrap(p, ictx, actx, &msg, 0);
        ops += batch;
        elapsed = now_seconds() - start;
    } while (elapsed < seconds);
    printf("ops=%lu secs=%.6f bytes=%lu\n", ops, elapsed, (unsigned long)size);
    delete_pair(&ictx, &actx);
    free(data);
}

static void usage(void)
{
    die("usage: gss_raw krb5|ntlm handshake SECONDS | gss_raw krb5|ntlm wrap SIZE SECONDS");
}

int main(int argc, char **argv)
{
    bench_peer peer;
    OM_uint32 minor;
    double seconds;

    memset(&peer, 0, sizeof peer);
    if (argc < 4)
        usage();
    if (strcmp(argv[1], "krb5") == 0)
        setup_krb5(&peer);
    else if (strcmp(argv[1], "ntlm") == 0)
        setup_ntlm(&peer);
    else
        usage();

    if (strcmp(argv[2], "handshake") == 0 && argc == 4) {
        seconds = atof(argv[3]);
        bench_handshake(&peer, seconds);
    } else if (strcmp(argv[2], "wrap") == 0 && argc == 5) {
        long size = atol(argv[3]);
        seconds = atof(argv[4]);
        if (size <= 0)
            usage();
        bench_wrap(&peer, (size_t)size, seconds);
    } else {
        usage();
    }

    gss_release_name(&minor, &peer.target);
    gss_release_cred(&minor, &peer.init_cred);
    gss_release_cred(&minor, &peer.accept_cred);
    return 0;
}
