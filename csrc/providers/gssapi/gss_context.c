/*
 * gss_context.c - InitializeSecurityContext / AcceptSecurityContext as
 * gss_init_sec_context / gss_accept_sec_context steps.
 *
 * One SSPI step is one GSS call: the input token in, the output token into
 * ctx->out_token, GSS_S_CONTINUE_NEEDED as SEC_I_CONTINUE_NEEDED.  Channel
 * bindings arrive serialised (SEC_CHANNEL_BINDINGS) and are handed to GSS
 * as a gss_channel_bindings_struct pointing into the caller's buffer.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "gss_private.h"

sspi_gss_ctx *sspi_gss_ctx_of(sspi_context *ctx)
{
    return ctx->impl;
}

gss_const_OID sspi_gss_ctx_mech(const sspi_context *ctx)
{
    const sspi_gss_ctx *impl = ctx->impl;
    if (impl && impl->established && impl->actual != SSPI_GSS_MECH_OTHER)
        return sspi_gss_mech_oid(impl->actual);
    return sspi_gss_mech_oid(sspi_gss_mech_kind_of(&(gss_OID_desc){
        (OM_uint32)ctx->provider->mech_oid_len, (void *)ctx->provider->mech_oid}));
}

sspi_status sspi_gss_ready(const sspi_gss_ctx *impl, sspi_error *err)
{
    if (impl == NULL || !impl->established)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "the context is not complete");
    if (impl->no_integrity)
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "the context was made with ISC_REQ_NO_INTEGRITY: it has no "
                              "message protection (no wrap, sign, encrypt or verify)");
    return SEC_E_OK;
}

static void ctx_init(sspi_context *ctx, void *p)
{
    sspi_gss_ctx *impl = p;
    impl->ctx = GSS_C_NO_CONTEXT;
    impl->target = GSS_C_NO_NAME;
    impl->delegated = GSS_C_NO_CREDENTIAL;
    impl->own_cred = GSS_C_NO_CREDENTIAL;
    impl->source = GSS_C_NO_NAME;
    impl->actual = SSPI_GSS_MECH_OTHER;
    sspi_bytes_init(&impl->session_key, ctx->alloc);
}

sspi_status sspi_gss_new_impl(sspi_context *ctx, sspi_error *err)
{
    return sspi_context_impl(ctx, sizeof(sspi_gss_ctx), ctx_init, "context", err)
               ? SEC_E_OK
               : SEC_E_INSUFFICIENT_MEMORY;
}

/* SEC_CHANNEL_BINDINGS -> gss_channel_bindings_struct (pointing into data). */
static sspi_status parse_bindings(const sspi_step_in *in, struct gss_channel_bindings_struct *cb,
                                  gss_channel_bindings_t *out, sspi_error *err)
{
    sspi_channel_bindings parsed;
    sspi_status st;
    *out = GSS_C_NO_CHANNEL_BINDINGS;
    if (in->bindings == NULL)
        return SEC_E_OK;
    st = sspi_channel_bindings_parse(in->bindings, in->bindings_len, &parsed, err);
    if (st != SEC_E_OK)
        return st;
    cb->initiator_addrtype = parsed.initiator_addrtype;
    cb->initiator_address.length = parsed.initiator_length;
    cb->initiator_address.value = (void *)parsed.initiator_address;
    cb->acceptor_addrtype = parsed.acceptor_addrtype;
    cb->acceptor_address.length = parsed.acceptor_length;
    cb->acceptor_address.value = (void *)parsed.acceptor_address;
    cb->application_data.length = parsed.application_length;
    cb->application_data.value = (void *)parsed.application_data;
    *out = cb;
    return SEC_E_OK;
}

/* A DER-framed token (RFC 2743 3.1 InitialContextToken, SPNEGO's
 * NegTokenResp, a raw AP-REQ: a constructed tag) must be exactly as long
 * as its outer length says.  MIT reports a cut-off token as a bare
 * GSS_S_FAILURE; SSPI says SEC_E_INVALID_TOKEN.  NTLM's raw messages
 * ("NTLMSSP\0") are not DER and pass untouched. */
static sspi_status check_framing(const unsigned char *t, size_t len, sspi_error *err)
{
    size_t body, header = 2, i, n;
    if (t == NULL || len == 0 || !(t[0] & 0x20) || (t[0] & 0x1f) == 0x1f)
        return SEC_E_OK;
    if (len < 2)
        goto bad;
    if (t[1] < 0x80) {
        body = t[1];
    } else {
        n = t[1] & 0x7f;
        if (n == 0 || n > sizeof(size_t) || len < 2 + n)
            goto bad;
        for (body = 0, i = 0; i < n; i++)
            body = (body << 8) | t[2 + i];
        header += n;
    }
    if (body <= len - header && header + body == len)
        return SEC_E_OK;
bad:
    return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                          "the %zu-byte token is cut off or has bytes past its DER length", len);
}

static sspi_status take_output(sspi_context *ctx, gss_buffer_t output, sspi_error *err)
{
    OM_uint32 minor;
    int rc = 0;
    if (output->length > 0)
        rc = sspi_bytes_set(&ctx->out_token, output->value, output->length);
    gss_release_buffer(&minor, output);
    if (rc != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "output token: out of memory");
    return SEC_E_OK;
}

/* GSSAPI says how many seconds are left, counted from a "now" MIT took
 * inside the call.  When the clock did not tick during the call (t0 ==
 * t1), that now is t0 and the end time is exact; otherwise ask again. */
static void set_expiry(sspi_context *ctx, gss_ctx_id_t gctx, time_t t0, OM_uint32 time_rec,
                       gss_const_OID actual, int acceptor)
{
    const sspi_gss_cred *cred = ctx->cred->impl;
    int i;
    if (time_rec == 0 || time_rec == GSS_C_INDEFINITE)
        return;
    for (i = 0; i < 3 && time(NULL) != t0; i++) {
        OM_uint32 minor, lifetime = 0;
        t0 = time(NULL);
        if (GSS_ERROR(gss_inquire_context(&minor, gctx, NULL, NULL, &lifetime, NULL, NULL, NULL,
                                          NULL)) ||
            lifetime == 0 || lifetime == GSS_C_INDEFINITE)
            return;
        time_rec = lifetime;
    }
    ctx->expiry = (int64_t)t0 + (int64_t)time_rec;
    /* MIT's krb5 acceptor counts the clock skew in (the client's clock may
     * be behind): the ticket ends that much earlier. */
    if (acceptor && sspi_gss_mech_kind_of(actual) == SSPI_GSS_MECH_KRB5 &&
        ctx->expiry > cred->clockskew)
        ctx->expiry -= cred->clockskew;
}

static void mark_established(sspi_gss_ctx *impl, gss_const_OID actual_mech)
{
    impl->established = 1;
    impl->start = (int64_t)time(NULL);
    impl->actual = sspi_gss_mech_kind_of(actual_mech);
    /* Under SPNEGO, gss_init/accept report the inner mechanism already;
     * ask the context in case a mechanism reports SPNEGO itself. */
    if (impl->actual == SSPI_GSS_MECH_SPNEGO || impl->actual == SSPI_GSS_MECH_OTHER) {
        OM_uint32 minor;
        gss_OID mech = GSS_C_NO_OID;
        if (!GSS_ERROR(gss_inquire_context(&minor, impl->ctx, NULL, NULL, NULL, &mech, NULL, NULL,
                                           NULL)))
            impl->actual = sspi_gss_mech_kind_of(mech);
    }
}

/* What one gss_init_sec_context / gss_accept_sec_context call takes and
 * gives, the same for both sides. */
typedef struct gss_step {
    struct gss_channel_bindings_struct cb_struct;
    gss_channel_bindings_t cb;
    gss_buffer_desc input, output;
    gss_OID actual;
    OM_uint32 major, minor, flags, time_rec;
    time_t t0;
} gss_step;

/* The checks before the call: the bindings, the token (needed when
 * need_token names why), its DER framing; then the input buffer. */
static sspi_status step_begin(const sspi_step_in *in, gss_step *s, const char *need_token,
                              sspi_error *err)
{
    sspi_status st;
    memset(s, 0, sizeof *s);
    s->output = (gss_buffer_desc)GSS_C_EMPTY_BUFFER;
    s->actual = GSS_C_NO_OID;
    st = parse_bindings(in, &s->cb_struct, &s->cb, err);
    if (st != SEC_E_OK)
        return st;
    if (need_token != NULL && in->token == NULL)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN, "%s", need_token);
    st = check_framing(in->token, in->token_len, err);
    if (st != SEC_E_OK)
        return st;
    s->input.value = (void *)in->token;
    s->input.length = in->token ? in->token_len : 0;
    return SEC_E_OK;
}

/* After a call that did not fail: the output token, the flags, the
 * expiry; established unless GSS_S_CONTINUE_NEEDED. */
static sspi_status step_finish(sspi_context *ctx, sspi_gss_ctx *impl, gss_step *s,
                               const sspi_step_in *in, int acceptor, uint32_t *ret_flags,
                               sspi_error *err)
{
    sspi_status st = take_output(ctx, &s->output, err);
    if (st != SEC_E_OK)
        return st;
    impl->gss_flags = s->flags;
    *ret_flags = acceptor ? sspi_gss_asc_ret(s->flags, in->context_req,
                                             impl->delegated != GSS_C_NO_CREDENTIAL)
                          : sspi_gss_isc_ret(s->flags, in->context_req);
    set_expiry(ctx, impl->ctx, s->t0, s->time_rec, s->actual, acceptor);
    if (s->major & GSS_S_CONTINUE_NEEDED)
        return SEC_I_CONTINUE_NEEDED;
    mark_established(impl, s->actual);
    return SEC_E_OK;
}

/* The request flags GSSAPI has no mode for, and ISC_REQ_NO_INTEGRITY, are
 * decided at the first step.  NO_INTEGRITY: MIT's initiator puts the
 * conf/integ flags in the authenticator unless the credential handle has
 * GSS_KRB5_CRED_NO_CI_FLAGS_X; the option is per handle, so the context
 * sets it on a handle of its own and two contexts on one credential never
 * see each other's request.  MIT's gss_wrap would still wrap afterwards:
 * impl->no_integrity makes the message functions refuse. */
static sspi_status first_step_requests(sspi_context *ctx, sspi_gss_ctx *impl,
                                       const sspi_gss_cred *cred, uint32_t req, sspi_error *err)
{
    gss_buffer_desc empty = GSS_C_EMPTY_BUFFER;
    OM_uint32 major, minor;
    sspi_status st;

    if (req & ISC_REQ_USE_SESSION_KEY)
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "ISC_REQ_USE_SESSION_KEY (Kerberos user-to-user) has no mode in "
                              "MIT's GSSAPI: %s (gssapi) cannot honour it",
                              ctx->provider->info.name);
    if (!(req & ISC_REQ_NO_INTEGRITY))
        return SEC_E_OK;
    if (cred->kind == SSPI_GSS_MECH_NTLM)
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "ISC_REQ_NO_INTEGRITY: gss-ntlmssp always negotiates signing; "
                              "use the builtin NTLM backend");
    st = sspi_gss_cred_copy(cred, &impl->own_cred, err);
    if (st != SEC_E_OK)
        return st;
    major = gss_set_cred_option(&minor, &impl->own_cred, GSS_KRB5_CRED_NO_CI_FLAGS_X, &empty);
    if (GSS_ERROR(major))
        return sspi_gss_fail_as(err, SEC_E_UNSUPPORTED_FUNCTION,
                                "ISC_REQ_NO_INTEGRITY: gss_set_cred_option(NO_CI_FLAGS)", major,
                                minor, GSS_C_NO_OID);
    impl->no_integrity = 1;
    return SEC_E_OK;
}

sspi_status sspi_gss_init_step(sspi_context *ctx, const sspi_step_in *in, uint32_t *ret_flags,
                               sspi_error *err)
{
    const sspi_gss_cred *cred = ctx->cred->impl;
    gss_step s;
    gss_OID_desc mech;
    sspi_gss_ctx *impl;
    sspi_status st;

    st = sspi_gss_new_impl(ctx, err);
    if (st != SEC_E_OK)
        return st;
    impl = ctx->impl;
    if (impl->target == GSS_C_NO_NAME) {
        st = sspi_gss_import_target(in->target ? in->target : ctx->target, &impl->target, err);
        if (st != SEC_E_OK)
            return st;
        if (cred->kind == SSPI_GSS_MECH_KRB5) {
            /* A canonical (krb5 mech) name: otherwise every
             * gss_init_sec_context call imports and releases an internal
             * name, and each release is a krb5_init_context in MIT. */
            gss_OID_desc kmech;
            gss_name_t canon = GSS_C_NO_NAME;
            OM_uint32 cmin;
            sspi_gss_provider_oid(ctx->provider, &kmech);
            if (!GSS_ERROR(gss_canonicalize_name(&cmin, impl->target, &kmech, &canon))) {
                gss_release_name(&cmin, &impl->target);
                impl->target = canon;
            }
        }
    }
    st = step_begin(in, &s,
                    impl->ctx != GSS_C_NO_CONTEXT
                        ? "the handshake continues: step_init needs the peer's token"
                        : NULL,
                    err);
    if (st != SEC_E_OK)
        return st;
    if (impl->ctx == GSS_C_NO_CONTEXT && impl->own_cred == GSS_C_NO_CREDENTIAL) {
        st = first_step_requests(ctx, impl, cred, in->context_req, err);
        if (st != SEC_E_OK)
            return st;
    }

    sspi_gss_provider_oid(ctx->provider, &mech);
    s.t0 = time(NULL);
    s.major = gss_init_sec_context(&s.minor,
                                   impl->own_cred != GSS_C_NO_CREDENTIAL ? impl->own_cred
                                                                         : cred->cred,
                                   &impl->ctx, impl->target, &mech,
                                   sspi_gss_req_flags(in->context_req, cred->delegate_always),
                                   GSS_C_INDEFINITE, s.cb, in->token ? &s.input : GSS_C_NO_BUFFER,
                                   &s.actual, &s.output, &s.flags, &s.time_rec);
    if (GSS_ERROR(s.major)) {
        OM_uint32 ignored;
        gss_release_buffer(&ignored, &s.output);
        return sspi_gss_fail(err,
                             cred->impersonated
                                 ? "gss_init_sec_context (an impersonated user: S4U2Proxy to "
                                   "any target but the service itself)"
                                 : "gss_init_sec_context",
                             s.major, s.minor, sspi_gss_ctx_mech(ctx));
    }
    return step_finish(ctx, impl, &s, in, 0, ret_flags, err);
}

/* gss-ntlmssp reports a wrong password as GSS_S_FAILURE/EINVAL (the NTLMv2
 * response does not verify) and an unknown user as GSS_S_FAILURE/ENOENT
 * (not in the user file); Windows says SEC_E_LOGON_DENIED for both.  Under
 * SPNEGO only EINVAL is taken: ENOENT there may be a missing keytab. */
static sspi_status accept_failure(sspi_context *ctx, const sspi_step_in *in, OM_uint32 major,
                                  OM_uint32 minor, sspi_error *err)
{
    const sspi_gss_cred *cred = ctx->cred->impl;
    gss_const_OID mech = sspi_gss_ctx_mech(ctx);
    sspi_gss_mech_kind kind = sspi_gss_mech_kind_of(mech);
    int kerberos_only =
        cred->kind == SSPI_GSS_MECH_SPNEGO && cred->accept_cred != GSS_C_NO_CREDENTIAL;
    const char *what = kerberos_only
                           ? "gss_accept_sec_context (a usage = \"both\" credential accepts "
                             "Kerberos only: gss-ntlmssp cannot accept with a user's credential)"
                           : "gss_accept_sec_context";
    /* ... and bindings that differ as GSS_S_DEFECTIVE_TOKEN/EACCES. */
    if (GSS_ROUTINE_ERROR(major) == GSS_S_DEFECTIVE_TOKEN && in->bindings != NULL &&
        kind != SSPI_GSS_MECH_KRB5 && sspi_gss_minor_is_errno(minor, mech, EACCES))
        return sspi_gss_fail_as(err, SEC_E_BAD_BINDINGS, what, major, minor,
                                sspi_gss_ctx_mech(ctx));
    if (GSS_ROUTINE_ERROR(major) == GSS_S_FAILURE &&
        ((kind == SSPI_GSS_MECH_NTLM && (sspi_gss_minor_is_errno(minor, mech, EINVAL) ||
                                         sspi_gss_minor_is_errno(minor, mech, ENOENT))) ||
         (kind == SSPI_GSS_MECH_SPNEGO && sspi_gss_minor_is_errno(minor, mech, EINVAL))))
        return sspi_gss_fail_as(err, SEC_E_LOGON_DENIED, what, major, minor,
                                sspi_gss_ctx_mech(ctx));
    return sspi_gss_fail(err, what, major, minor, sspi_gss_ctx_mech(ctx));
}

sspi_status sspi_gss_accept_step(sspi_context *ctx, const sspi_step_in *in, uint32_t *ret_flags,
                                 sspi_error *err)
{
    const sspi_gss_cred *cred = ctx->cred->impl;
    gss_step s;
    gss_name_t source = GSS_C_NO_NAME;
    gss_cred_id_t delegated = GSS_C_NO_CREDENTIAL;
    OM_uint32 ignored;
    sspi_gss_ctx *impl;
    sspi_status st;

    if (in->token == NULL)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "step_accept needs the client's token as input");
    if (cred->accept_refused)
        return sspi_error_set(err, SEC_E_NO_CREDENTIALS, "%s", cred->accept_refused);
    st = sspi_gss_new_impl(ctx, err);
    if (st != SEC_E_OK)
        return st;
    impl = ctx->impl;
    st = step_begin(in, &s, NULL, err);
    if (st != SEC_E_OK)
        return st;
    s.t0 = time(NULL);
    /* Kerberos: no src_name here.  Releasing a krb5 mech name costs MIT a
     * whole krb5_init_context (profile read); query("names") asks
     * gss_inquire_context instead.  gss-ntlmssp cannot be asked later. */
    s.major = gss_accept_sec_context(&s.minor, &impl->ctx,
                                     cred->accept_cred != GSS_C_NO_CREDENTIAL ? cred->accept_cred
                                                                              : cred->cred,
                                     &s.input, s.cb,
                                     cred->kind == SSPI_GSS_MECH_KRB5 ? NULL : &source, &s.actual,
                                     &s.output, &s.flags, &s.time_rec, &delegated);
    if (source != GSS_C_NO_NAME) {
        sspi_gss_drop_name(&impl->source);
        impl->source = source;
    }
    if (delegated != GSS_C_NO_CREDENTIAL) {
        sspi_gss_drop_cred(&impl->delegated);
        impl->delegated = delegated;
    }
    if (GSS_ERROR(s.major)) {
        gss_release_buffer(&ignored, &s.output);
        return accept_failure(ctx, in, s.major, s.minor, err);
    }
    return step_finish(ctx, impl, &s, in, 1, ret_flags, err);
}

void sspi_gss_free_context(sspi_context *ctx)
{
    sspi_gss_ctx *impl = ctx->impl;
    OM_uint32 minor;
    if (impl == NULL)
        return;
    if (impl->ctx != GSS_C_NO_CONTEXT)
        gss_delete_sec_context(&minor, &impl->ctx, GSS_C_NO_BUFFER);
    sspi_gss_drop_name(&impl->target);
    sspi_gss_drop_name(&impl->source);
    sspi_gss_drop_cred(&impl->delegated);
    sspi_gss_drop_cred(&impl->own_cred);
    sspi_mem_strfree(ctx->alloc, &impl->client_name);
    sspi_mem_strfree(ctx->alloc, &impl->server_name);
    sspi_bytes_free(&impl->session_key);
    sspi_mem_free(ctx->alloc, impl, sizeof *impl);
    ctx->impl = NULL;
}
