/*
 * fuzz_common.c - credentials, steps and handshakes for the fuzz targets,
 * through the public C API only (the targets reach internals themselves
 * where a parser is fuzzed directly).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "providers/ntlm/ntlm.h"

void sspi_fuzz_die(const char *fmt, ...)
{
    va_list ap;
    fputs("sspi fuzz: invariant broken: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

uint32_t sspi_fuzz_le16(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

uint32_t sspi_fuzz_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

void sspi_fuzz_nt_hash(unsigned char out[16])
{
    if (sspi_ntlm_ntowfv1(NULL, FUZZ_PASSWORD, strlen(FUZZ_PASSWORD), out) != 0)
        sspi_fuzz_die("NTOWFv1 of the test password failed");
}

/* An allocator that checks lua_Alloc's contract as the library uses it:
 * the osize given when a block is resized or freed must be the size it was
 * allocated with (ASan cannot see a free that claims fewer bytes, and the
 * wipe before a free trusts this size).  Each block carries its size in a
 * header. */
#define HDR 16

static void *checking_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    unsigned char *block = NULL;
    size_t had = 0;
    (void)ud;
    if (ptr) {
        block = (unsigned char *)ptr - HDR;
        memcpy(&had, block, sizeof had);
        FUZZ_CHECK(had == osize || (had == 1 && osize == 0),
                   "allocator: a block of %zu bytes %s with osize %zu", had,
                   nsize ? "resized" : "freed", osize);
    }
    if (nsize == 0) {
        free(block);
        return NULL;
    }
    if (nsize > SIZE_MAX - HDR)
        return NULL;
    block = realloc(block, nsize + HDR);
    if (block == NULL)
        return NULL;
    memcpy(block, &nsize, sizeof nsize);
    return block + HDR;
}

static const sspi_allocator the_allocator = {checking_alloc, NULL};

const sspi_allocator *sspi_fuzz_allocator(void)
{
    return &the_allocator;
}

/* The acceptor's user store: every user has FUZZ_PASSWORD, so a fuzzed
 * user name still reaches the response checks. */
static int lookup_any_user(void *ud, const char *user, const char *domain,
                           unsigned char nt_hash[16], sspi_error *err)
{
    (void)ud;
    (void)user;
    (void)domain;
    (void)err;
    sspi_fuzz_nt_hash(nt_hash);
    return 1;
}

/* The user file lives in a private temp dir made once per process and
 * removed at exit. */
static char user_dir[64];
static char user_file[96];

static void remove_user_file(void)
{
    unlink(user_file);
    rmdir(user_dir);
}

static const char *the_user_file(void)
{
    FILE *f;
    if (user_file[0])
        return user_file;
    snprintf(user_dir, sizeof user_dir, "/tmp/sspi-fuzz-XXXXXX");
    if (mkdtemp(user_dir) == NULL)
        sspi_fuzz_die("mkdtemp failed");
    snprintf(user_file, sizeof user_file, "%s/users", user_dir);
    f = fopen(user_file, "w");
    if (f == NULL)
        sspi_fuzz_die("cannot write %s", user_file);
    fprintf(f, "%s:%s:%s\n", FUZZ_DOMAIN, FUZZ_USER, FUZZ_PASSWORD);
    fclose(f);
    atexit(remove_user_file);
    return user_file;
}

sspi_credential *sspi_fuzz_cred(const char *package, sspi_cred_usage usage, int lm_level,
                                sspi_fuzz_store store)
{
    static const char *const ntlm_only[] = {"NTLM"};
    sspi_cred_options o;
    sspi_credential *cred = NULL;
    sspi_error err;
    sspi_status st;
    memset(&o, 0, sizeof o);
    o.package = package;
    o.backend = "builtin";
    o.usage = usage;
    o.lm_compat_level = lm_level;
    o.workstation = "FUZZWS";
    if (strcmp(package, "Negotiate") == 0) {
        o.mechs = ntlm_only;
        o.mech_count = 1;
    }
    if (usage & SSPI_CRED_OUTBOUND) {
        o.username = FUZZ_DOMAIN "\\" FUZZ_USER;
        o.password = FUZZ_PASSWORD;
        o.password_len = strlen(FUZZ_PASSWORD);
    }
    if (usage & SSPI_CRED_INBOUND) {
        if (store == FUZZ_STORE_FILE)
            o.user_file = the_user_file();
        else
            o.lookup = lookup_any_user;
    }
    sspi_error_clear(&err);
    st = sspi_credential_acquire(&o, &the_allocator, &cred, &err);
    if (st != SEC_E_OK)
        sspi_fuzz_die("acquiring a %s credential: %s", package, err.message);
    return cred;
}

void sspi_fuzz_token_free(sspi_fuzz_token *t)
{
    free(t->data);
    t->data = NULL;
    t->len = 0;
}

/* Larger than any token the built-in packages make (NTLM's cbMaxToken is
 * 2888; SPNEGO adds a few dozen bytes). */
#define OUT_CAP 16384

sspi_status sspi_fuzz_step(sspi_context *ctx, int initiator, uint32_t req, const char *target,
                           const unsigned char *in, size_t in_len, const unsigned char *cb,
                           size_t cb_len, sspi_fuzz_token *out, uint32_t *ret_flags)
{
    sspi_buffer inb[2], outb;
    sspi_buffer_list inl, outl;
    sspi_step_args a;
    sspi_step_result res;
    sspi_error err;
    sspi_status st;
    unsigned char *space = malloc(OUT_CAP);
    if (space == NULL)
        sspi_fuzz_die("out of memory");
    memset(inb, 0, sizeof inb);
    inl.buffers = inb;
    inl.count = 0;
    if (in) {
        inb[inl.count].type = SECBUFFER_TOKEN;
        inb[inl.count].data = (unsigned char *)in; /* never written: an input buffer */
        inb[inl.count].length = inb[inl.count].capacity = in_len;
        inl.count++;
    }
    if (cb) {
        inb[inl.count].type = SECBUFFER_CHANNEL_BINDINGS;
        inb[inl.count].data = (unsigned char *)cb;
        inb[inl.count].length = inb[inl.count].capacity = cb_len;
        inl.count++;
    }
    memset(&outb, 0, sizeof outb);
    outb.type = SECBUFFER_TOKEN;
    outb.data = space;
    outb.capacity = OUT_CAP;
    outl.buffers = &outb;
    outl.count = 1;
    memset(&a, 0, sizeof a);
    a.target = target;
    a.context_req = req;
    a.target_data_rep = SECURITY_NATIVE_DREP;
    a.input = inl.count ? &inl : NULL;
    a.output = &outl;
    sspi_error_clear(&err);
    st = initiator ? sspi_init_step(ctx, &a, &res, &err) : sspi_accept_step(ctx, &a, &res, &err);
    /* Every failure must say why (the binding shows it to users). */
    FUZZ_CHECK(SSPI_SUCCESS(st) || err.message[0] != '\0', "status 0x%08x without a message",
               (unsigned)st);
    FUZZ_CHECK(outb.length <= OUT_CAP, "output token longer than its buffer");
    if (ret_flags)
        *ret_flags = res.flags;
    if (out) {
        out->data = NULL;
        out->len = 0;
        if (SSPI_SUCCESS(st) && outb.length) {
            out->data = space;
            out->len = outb.length;
            space = NULL;
        }
    }
    free(space);
    return st;
}

void sspi_fuzz_bindings(unsigned char out[SSPI_FUZZ_BINDINGS_LEN])
{
    unsigned char app[21 + 32];
    sspi_channel_bindings cb;
    size_t i;
    memcpy(app, "tls-server-end-point:", 21);
    for (i = 0; i < 32; i++)
        app[21 + i] = (unsigned char)(0xA0 + i);
    memset(&cb, 0, sizeof cb);
    cb.application_data = app;
    cb.application_length = sizeof app;
    FUZZ_CHECK(sspi_channel_bindings_size(&cb) == SSPI_FUZZ_BINDINGS_LEN, "bindings size");
    sspi_channel_bindings_write(&cb, out);
}

void sspi_fuzz_handshake(sspi_credential *client_cred, sspi_credential *server_cred,
                         uint32_t isc_req, uint32_t asc_req, sspi_context **client,
                         sspi_context **server)
{
    sspi_fuzz_token tok = {NULL, 0}, next = {NULL, 0};
    sspi_status cst = SEC_I_CONTINUE_NEEDED, sst = SEC_I_CONTINUE_NEEDED;
    sspi_error err;
    int round;
    if (sspi_context_new(client_cred, client, &err) != SEC_E_OK ||
        sspi_context_new(server_cred, server, &err) != SEC_E_OK)
        sspi_fuzz_die("new context: %s", err.message);
    for (round = 0; round < 8; round++) {
        cst = sspi_fuzz_step(*client, 1, isc_req, FUZZ_TARGET, tok.data, tok.len, NULL, 0, &next,
                             NULL);
        FUZZ_CHECK(SSPI_SUCCESS(cst), "client step %d: 0x%08x", round, (unsigned)cst);
        sspi_fuzz_token_free(&tok);
        tok = next;
        if (tok.len == 0 && cst == SEC_E_OK && sst == SEC_E_OK)
            break;
        if (tok.len == 0)
            break;
        sst = sspi_fuzz_step(*server, 0, asc_req, NULL, tok.data, tok.len, NULL, 0, &next, NULL);
        FUZZ_CHECK(SSPI_SUCCESS(sst), "server step %d: 0x%08x", round, (unsigned)sst);
        sspi_fuzz_token_free(&tok);
        tok = next;
        if (tok.len == 0)
            break;
    }
    sspi_fuzz_token_free(&tok);
    FUZZ_CHECK(sspi_context_get_state(*client) == SSPI_CTX_COMPLETE &&
                   sspi_context_get_state(*server) == SSPI_CTX_COMPLETE,
               "handshake did not complete");
}

size_t sspi_fuzz_mutate(unsigned char *buf, size_t len, const uint8_t *ops, size_t ops_len)
{
    size_t changed = 0, i;
    if (len == 0)
        return 0;
    for (i = 0; i + 3 <= ops_len; i += 3) {
        size_t at = sspi_fuzz_le16(ops + i) % len;
        if (ops[i + 2]) {
            buf[at] ^= ops[i + 2];
            changed++;
        }
    }
    return changed;
}

uint32_t sspi_fuzz_asc_req(uint32_t isc_req)
{
    if (isc_req & ISC_REQ_CONFIDENTIALITY)
        return FUZZ_ASC_REQ;
    return FUZZ_ASC_REQ & ~(uint32_t)ASC_REQ_CONFIDENTIALITY;
}

int sspi_fuzz_clean_refusal(sspi_status st)
{
    return !SSPI_SUCCESS(st) && st != SEC_E_INTERNAL_ERROR && st != SEC_E_INSUFFICIENT_MEMORY &&
           st != SEC_E_INVALID_HANDLE;
}
