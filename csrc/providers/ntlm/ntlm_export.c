/*
 * ntlm_export.c - a complete built-in NTLM context that moves between
 * processes (ctx:export / sspi.import_context): its own versioned
 * serialisation, inside the core's envelope (csrc/core/envelope.c), which
 * has checked the lengths and the digest before import runs.  The payload
 * is still never trusted: every field is checked, and the keys must be the
 * ones the session key and the flags give.
 *
 * Payload, version 1 (integers big-endian):
 *   version 1, bits 1 (1 anonymous, 2 mic_present), 0 2,
 *   negotiated flags 4, requested flags 4, ExportedSessionKey 16,
 *   then the sending and the receiving direction, each:
 *     sign key 16, seal key 16, seal key length 1, spent 1, has RC4 1, 0 1,
 *     sequence number 4, and with has RC4: the S-box 256, i 1, j 1
 *     (without extended session security one RC4 state serves both
 *     directions: the receiving one has none of its own),
 *   then the client name ("DOMAIN\user") and the server name, each: present
 *   1, length 2, UTF-8 bytes (no NUL); nothing after them.
 *
 * Every secret of the context is in it (keys, RC4 states): the blob is as
 * secret as the session.  Export leaves the old context without keys.
 */
#include <string.h>

#include "ntlm.h"

#define EXPORT_VERSION 1
#define NAME_MAX_BYTES 4096u
#define BIT_ANONYMOUS 1u
#define BIT_MIC 2u

/* --------------------------------------------------------------- writing */

static int put_direction(sspi_bytes *out, const sspi_ntlm_direction *d, int own_rc4)
{
    unsigned char fixed[40];
    int has_rc4 = own_rc4 && d->rc4 != NULL;
    memcpy(fixed, d->sign_key, 16);
    memcpy(fixed + 16, d->seal_key, 16);
    fixed[32] = (unsigned char)d->seal_key_len;
    fixed[33] = (unsigned char)(d->spent != 0);
    fixed[34] = (unsigned char)has_rc4;
    fixed[35] = 0;
    sspi_put_be32(fixed + 36, d->seq);
    if (sspi_bytes_append(out, fixed, sizeof fixed) != 0)
        return -1;
    sspi_wipe(fixed, sizeof fixed);
    if (!has_rc4)
        return 0;
    return sspi_bytes_append(out, d->rc4->s, 256) != 0 ||
                   sspi_bytes_append(out, &d->rc4->i, 1) != 0 ||
                   sspi_bytes_append(out, &d->rc4->j, 1) != 0
               ? -1
               : 0;
}

static int put_name(sspi_bytes *out, const char *name)
{
    size_t n = name ? strlen(name) : 0;
    unsigned char head[3];
    head[0] = (unsigned char)(name != NULL);
    head[1] = (unsigned char)(n >> 8);
    head[2] = (unsigned char)n;
    return sspi_bytes_append(out, head, 3) != 0 || (n && sspi_bytes_append(out, name, n) != 0)
               ? -1
               : 0;
}

sspi_status sspi_ntlm_export_context(sspi_context *ctx, sspi_bytes *out, sspi_error *err)
{
    sspi_ntlm_ctx *c = ctx->impl;
    unsigned char head[28];
    int ok;

    if (c == NULL || c->stage != NTLM_STAGE_DONE)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "export: the context is not complete");
    if ((c->client_name && strlen(c->client_name) > NAME_MAX_BYTES) ||
        (c->server_name && strlen(c->server_name) > NAME_MAX_BYTES))
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "export: an NTLM name over %u bytes cannot be exported",
                              NAME_MAX_BYTES);
    memset(head, 0, sizeof head);
    head[0] = EXPORT_VERSION;
    head[1] = (unsigned char)((c->anonymous ? BIT_ANONYMOUS : 0) | (c->mic_present ? BIT_MIC : 0));
    sspi_put_be32(head + 4, c->flags);
    sspi_put_be32(head + 8, c->requested);
    memcpy(head + 12, c->session_key, 16);
    ok = sspi_bytes_set(out, head, sizeof head) == 0 && put_direction(out, &c->send, 1) == 0 &&
         put_direction(out, &c->recv, !c->shared_handle) == 0 &&
         put_name(out, c->client_name) == 0 && put_name(out, c->server_name) == 0;
    sspi_wipe(head, sizeof head);
    if (!ok)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "export: out of memory");
    /* Moved: the keys live on in the blob only, never in two places that
     * could both seal (one RC4 key stream used twice). */
    sspi_ntlm_session_free(c);
    memset(c->session_key, 0, sizeof c->session_key);
    c->stage = NTLM_STAGE_START;
    return SEC_E_OK;
}

/* --------------------------------------------------------------- reading */

typedef struct reader {
    const unsigned char *p;
    size_t left;
} reader;

/* The next n bytes, or NULL when fewer are left. */
static const unsigned char *take(reader *r, size_t n)
{
    const unsigned char *at = r->p;
    if (r->left < n)
        return NULL;
    r->p += n;
    r->left -= n;
    return at;
}

static sspi_status refuse(sspi_error *err, const char *why)
{
    return sspi_error_set(err, SEC_E_INVALID_TOKEN, "import: not a valid NTLM context (%s)", why);
}

/* What a direction's payload says, before it is checked against the keys
 * the session key gives. */
typedef struct direction_in {
    const unsigned char *sign_key, *seal_key;
    size_t seal_key_len;
    int spent, has_rc4;
    uint32_t seq;
    const unsigned char *rc4; /* 258 bytes when has_rc4 */
} direction_in;

static const char *read_direction(reader *r, direction_in *d)
{
    const unsigned char *f = take(r, 40);
    if (f == NULL)
        return "short direction";
    d->sign_key = f;
    d->seal_key = f + 16;
    d->seal_key_len = f[32];
    if (f[33] > 1 || f[34] > 1 || f[35] != 0)
        return "bad direction bits";
    d->spent = f[33];
    d->has_rc4 = f[34];
    d->seq = sspi_get_be32(f + 36);
    if (d->spent && d->seq != SSPI_NTLM_SEQ_LAST)
        return "a spent direction before its last sequence number";
#if SSPI_NTLM_SEQ_LAST < 0xFFFFFFFFu /* a test build's lowered last number */
    if (d->seq > SSPI_NTLM_SEQ_LAST)
        return "a sequence number past the last";
#endif
    d->rc4 = NULL;
    if (d->has_rc4 && (d->rc4 = take(r, 258)) == NULL)
        return "short RC4 state";
    return NULL;
}

/* A name: *out stays NULL when absent; a copy (no NUL inside) otherwise. */
static const char *read_name(sspi_context *ctx, reader *r, char **out, size_t *size)
{
    const unsigned char *h = take(r, 3), *s;
    size_t n;
    char *copy;
    if (h == NULL)
        return "short name";
    n = ((size_t)h[1] << 8) | h[2];
    if (h[0] > 1 || (h[0] == 0 && n != 0) || n > NAME_MAX_BYTES)
        return "bad name length";
    if (h[0] == 0)
        return NULL;
    if ((s = take(r, n)) == NULL)
        return "short name";
    if (memchr(s, 0, n) != NULL)
        return "a NUL inside a name";
    copy = sspi_mem_alloc(ctx->alloc, n + 1);
    if (copy == NULL)
        return "out of memory";
    memcpy(copy, s, n);
    copy[n] = '\0';
    *out = copy;
    *size = n + 1;
    return NULL;
}

/* The keys and RC4 state of one direction after sspi_ntlm_session_start
 * derived them: the payload must say the same, then its RC4 state (the
 * stream position) replaces the fresh one. */
static const char *apply_direction(sspi_ntlm_direction *d, const direction_in *in, int own_rc4)
{
    if (in->seal_key_len != d->seal_key_len ||
        sspi_ct_memcmp(in->sign_key, d->sign_key, 16) != 0 ||
        sspi_ct_memcmp(in->seal_key, d->seal_key, 16) != 0)
        return "its keys are not the ones its session key and flags give";
    if (in->has_rc4 != (own_rc4 && d->rc4 != NULL))
        return "an RC4 state where the flags have none, or none where they need one";
    if (in->has_rc4) {
        memcpy(d->rc4_state.s, in->rc4, 256);
        d->rc4_state.i = in->rc4[256];
        d->rc4_state.j = in->rc4[257];
        if (!sspi_ntlm_rc4_valid(&d->rc4_state))
            return "an RC4 state that is not a permutation";
    }
    d->seq = in->seq;
    d->spent = in->spent;
    return NULL;
}

/* Flags the envelope promises must be flags NTLM negotiated. */
static const char *check_ret_flags(const sspi_context *ctx, uint32_t flags)
{
    uint32_t conf = ctx->initiator ? ISC_RET_CONFIDENTIALITY : ASC_RET_CONFIDENTIALITY;
    uint32_t integ = ctx->initiator ? ISC_RET_INTEGRITY : ASC_RET_INTEGRITY;
    if ((ctx->ret_flags & conf) && !(flags & NTLMSSP_NEGOTIATE_SEAL))
        return "confidentiality without SEAL";
    if ((ctx->ret_flags & integ) && !(flags & NTLMSSP_NEGOTIATE_SIGN))
        return "integrity without SIGN";
    return NULL;
}

static const char *parse(sspi_context *ctx, sspi_ntlm_ctx *c, reader *r, sspi_error *err,
                         sspi_status *st)
{
    const unsigned char *h = take(r, 28);
    direction_in send, recv;
    const char *why;

    if (h == NULL)
        return "too short";
    if ((h[1] & ~(BIT_ANONYMOUS | BIT_MIC)) != 0 || h[2] != 0 || h[3] != 0)
        return "reserved bits set";
    c->anonymous = (h[1] & BIT_ANONYMOUS) != 0;
    c->mic_present = (h[1] & BIT_MIC) != 0;
    c->flags = sspi_get_be32(h + 4);
    c->requested = sspi_get_be32(h + 8);
    memcpy(c->session_key, h + 12, 16);
    if ((why = check_ret_flags(ctx, c->flags)) != NULL)
        return why;
    if ((why = read_direction(r, &send)) != NULL || (why = read_direction(r, &recv)) != NULL)
        return why;
    if ((why = read_name(ctx, r, &c->client_name, &c->client_name_size)) != NULL ||
        (why = read_name(ctx, r, &c->server_name, &c->server_name_size)) != NULL)
        return why;
    if (c->client_name == NULL)
        return "no client name";
    if (r->left != 0)
        return "bytes after the names";
    /* The keys and fresh RC4 states from the session key, as at the end of
     * the handshake; then the payload's positions. */
    *st = sspi_ntlm_session_start(c, ctx->initiator == 1, err);
    if (*st != SEC_E_OK)
        return "";
    if ((why = apply_direction(&c->send, &send, 1)) != NULL ||
        (why = apply_direction(&c->recv, &recv, !c->shared_handle)) != NULL)
        return why;
    return NULL;
}

sspi_status sspi_ntlm_import_context(sspi_context *ctx, const unsigned char *in, size_t len,
                                     sspi_error *err)
{
    sspi_status st = sspi_ntlm_crypto_ready(err);
    sspi_ntlm_ctx *c;
    const char *why;
    reader r;

    if (st != SEC_E_OK)
        return st;
    if (len < 1 || in[0] != EXPORT_VERSION)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "import: NTLM context version %u, this library reads version %u",
                              len ? (unsigned)in[0] : 0u, (unsigned)EXPORT_VERSION);
    st = sspi_ntlm_ctx_get(ctx, &c, err);
    if (st != SEC_E_OK)
        return st;
    r.p = in;
    r.left = len;
    why = parse(ctx, c, &r, err, &st);
    if (why != NULL) /* the core frees the context, which wipes what was read */
        return st != SEC_E_OK ? st : refuse(err, why);
    c->stage = NTLM_STAGE_DONE;
    return SEC_E_OK;
}
