/*
 * negotiate_export.c - a complete built-in Negotiate context that moves
 * between processes.  After the handshake Negotiate is only its chosen
 * mechanism's context, so the payload is that context's own export (a
 * whole envelope made by the core: built-in NTLM's serialisation, or MIT's
 * through the gssapi Kerberos provider) with the little Negotiate adds.
 *
 * Payload, version 1 (integers big-endian):
 *   version 1, bits 1 (1: raw, the peer sent bare mechanism tokens), 0 2,
 *   the inner context's flags 4, the chosen mechanism's OID (DER content)
 *   as length 1 + bytes, the inner blob as length 4 + bytes; nothing after.
 */
#include <string.h>

#include "negotiate.h"
#include "../../core/oids.h"

#define EXPORT_VERSION 1
#define BIT_RAW 1u
#define OID_MAX 32u

static const unsigned char spnego_oid[] = {SSPI_OID_SPNEGO};

sspi_status sspi_nego_export_context(sspi_context *ctx, sspi_bytes *out, sspi_error *err)
{
    sspi_nego_ctx *nc = ctx->impl;
    const sspi_provider *mech;
    unsigned char head[9], len4[4];
    sspi_buffer inner;
    sspi_status st;
    int ok;

    if (nc == NULL || nc->inner == NULL || !nc->inner_complete)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE, "export: the context is not complete");
    mech = nc->inner->provider;
    if (mech->mech_oid == NULL || mech->mech_oid_len > OID_MAX)
        return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                              "export: the mechanism inside Negotiate has no OID");
    memset(&inner, 0, sizeof inner);
    st = sspi_context_export(nc->inner, ctx->alloc, &inner, err);
    if (st != SEC_E_OK)
        return st;
    memset(head, 0, sizeof head);
    head[0] = EXPORT_VERSION;
    head[1] = (unsigned char)(nc->raw ? BIT_RAW : 0);
    sspi_put_be32(head + 4, nc->inner_flags);
    head[8] = (unsigned char)mech->mech_oid_len;
    sspi_put_be32(len4, (uint32_t)inner.length);
    ok = sspi_bytes_set(out, head, sizeof head) == 0 &&
         sspi_bytes_append(out, mech->mech_oid, mech->mech_oid_len) == 0 &&
         sspi_bytes_append(out, len4, 4) == 0 &&
         sspi_bytes_append(out, inner.data, inner.length) == 0;
    sspi_buffer_release(ctx->alloc, &inner); /* wiped: it holds the keys */
    if (!ok)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "export: out of memory");
    return SEC_E_OK;
}

static sspi_status refuse(sspi_error *err, const char *why)
{
    return sspi_error_set(err, SEC_E_INVALID_TOKEN, "import: not a valid Negotiate context (%s)",
                          why);
}

/* The inner blob must hold a context of a mechanism (not a negotiator:
 * no Negotiate inside Negotiate, which would also recurse) whose OID is
 * the one the payload names. */
static sspi_status check_inner(const unsigned char *blob, size_t len, const unsigned char *oid,
                               size_t oid_len, sspi_error *err)
{
    const sspi_provider *p;
    sspi_envelope e;
    sspi_status st = sspi_envelope_read(blob, len, &e, err);
    if (st != SEC_E_OK)
        return st;
    if (e.kind != SSPI_ENVELOPE_CONTEXT)
        return refuse(err, "the inner blob is not a context");
    st = sspi_provider_find(e.package, e.backend, &p, err);
    if (st != SEC_E_OK)
        return st;
    if (p->mech_oid == NULL ||
        (p->mech_oid_len == sizeof spnego_oid &&
         memcmp(p->mech_oid, spnego_oid, sizeof spnego_oid) == 0))
        return refuse(err, "the inner context is not of a mechanism Negotiate chooses");
    if (p->mech_oid_len != oid_len || memcmp(p->mech_oid, oid, oid_len) != 0)
        return refuse(err, "the inner context is not of the mechanism it names");
    return SEC_E_OK;
}

sspi_status sspi_nego_import_context(sspi_context *ctx, const unsigned char *in, size_t len,
                                     sspi_error *err)
{
    const unsigned char *oid, *blob;
    size_t oid_len, blob_len;
    sspi_nego_ctx *nc;
    sspi_status st;

    if (len < 1 || in[0] != EXPORT_VERSION)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "import: Negotiate context version %u, this library reads version %u",
                              len ? (unsigned)in[0] : 0u, (unsigned)EXPORT_VERSION);
    if (len < 9 || (in[1] & ~BIT_RAW) != 0 || in[2] != 0 || in[3] != 0)
        return refuse(err, "short or reserved bits set");
    oid_len = in[8];
    if (oid_len == 0 || oid_len > OID_MAX || len - 9 < oid_len + 4)
        return refuse(err, "bad mechanism OID length");
    oid = in + 9;
    blob_len = sspi_get_be32(oid + oid_len);
    blob = oid + oid_len + 4;
    if (blob_len != len - 9 - oid_len - 4)
        return refuse(err, "the inner length does not match");
    st = check_inner(blob, blob_len, oid, oid_len, err);
    if (st == SEC_E_OK)
        st = sspi_nego_ctx_get(ctx, &nc, err);
    if (st == SEC_E_OK)
        st = sspi_context_import(blob, blob_len, ctx->alloc, &nc->inner, err);
    if (st != SEC_E_OK)
        return st;
    if (nc->inner->initiator != ctx->initiator)
        return refuse(err, "the inner context is of the other side");
    nc->raw = (in[1] & BIT_RAW) != 0;
    nc->inner_flags = sspi_get_be32(in + 4);
    nc->inner_complete = 1;
    nc->nego_done = 1;
    nc->done = 1;
    return SEC_E_OK;
}
