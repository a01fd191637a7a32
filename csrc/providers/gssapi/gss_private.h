/*
 * gss_private.h - what the files of the GSSAPI provider share: the
 * credential and context state kept in cred->impl / ctx->impl, and the
 * helpers each file offers the others.  Nothing here is seen outside
 * csrc/providers/gssapi/.
 */
#ifndef SSPI_GSS_PRIVATE_H
#define SSPI_GSS_PRIVATE_H

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include "../../core/internal.h"

/* Which GSS mechanism a provider drives. */
typedef enum sspi_gss_mech_kind {
    SSPI_GSS_MECH_KRB5,
    SSPI_GSS_MECH_SPNEGO,
    SSPI_GSS_MECH_NTLM,
    SSPI_GSS_MECH_OTHER
} sspi_gss_mech_kind;

/* cred->impl */
typedef struct sspi_gss_cred {
    gss_cred_id_t cred;         /* never GSS_C_NO_CREDENTIAL once acquired */
    sspi_gss_mech_kind kind;
    /* SPNEGO: the mechanisms set with gss_set_neg_mechs (a copy of the
     * handle made by sspi_gss_cred_copy gets them again). */
    gss_OID_desc neg[2];
    size_t neg_count;
    /* ISC_REQ_DELEGATE forwards the TGT to any target (GSS_C_DELEG_FLAG),
     * not only to those the KDC marks ok-as-delegate (the default, as on
     * Windows: GSS_C_DELEG_POLICY_FLAG). */
    int delegate_always;
    /* krb5.conf's clockskew (seconds): MIT reports a context's lifetime
     * as the ticket's end time plus it; SSPI reports the end time. */
    int clockskew;
    /* Made by impersonate (S4U2Self): a context to another target than
     * the service is constrained delegation (S4U2Proxy). */
    int impersonated;
    /* usage "both" (gss_both.c): what step_accept hands
     * gss_accept_sec_context when `cred` cannot be (GSS_C_NO_CREDENTIAL:
     * `cred` itself), or why it refuses to accept (NULL: it does not). */
    gss_cred_id_t accept_cred;
    const char *accept_refused;
} sspi_gss_cred;

/* ctx->impl */
typedef struct sspi_gss_ctx {
    gss_ctx_id_t ctx;
    gss_name_t target;          /* initiator: imported once, at the first step */
    gss_cred_id_t delegated;    /* acceptor: the client's forwarded TGT, if any */
    /* Initiator with ISC_REQ_NO_INTEGRITY: a copy of the credential handle
     * of its own, with MIT's GSS_KRB5_CRED_NO_CI_FLAGS_X set on it (the
     * option is per handle: the shared credential is never changed). */
    gss_cred_id_t own_cred;
    int no_integrity;           /* initiator: no message protection at all */
    gss_name_t source;          /* acceptor: the client, from accept_sec_context */
    OM_uint32 gss_flags;        /* GSS ret flags of the latest step */
    int established;
    /* The mechanism really in use (the inner one under SPNEGO), known once
     * established: it decides whether the IOV message functions exist. */
    sspi_gss_mech_kind actual;
    int64_t start;              /* when the context was established (Unix time) */
    /* Answers of queries, kept until the next query of the same kind. */
    char *client_name;
    char *server_name;
    sspi_bytes session_key;
} sspi_gss_ctx;

/* --- gss_provider.c */
extern const sspi_provider sspi_gssapi_kerberos_provider;
/* The provider's mechanism, as a gss_OID_desc pointing at const bytes. */
SSPI_INTERNAL void sspi_gss_provider_oid(const sspi_provider *p, gss_OID_desc *oid);
SSPI_INTERNAL sspi_gss_mech_kind sspi_gss_mech_kind_of(gss_const_OID oid);
SSPI_INTERNAL gss_OID sspi_gss_mech_oid(sspi_gss_mech_kind kind);
/* The package info of a mechanism kind (for SPNEGO's negotiated mech). */
SSPI_INTERNAL const sspi_package_info *sspi_gss_package_of(sspi_gss_mech_kind kind);

/* --- gss_status.c */
/* The SSPI status of a GSS major (and minor, for GSS_S_FAILURE and
 * credential errors). */
SSPI_INTERNAL sspi_status sspi_gss_map_status(OM_uint32 major, OM_uint32 minor);
/* Fills err with the mapped status and the display text of major and minor
 * (minor displayed for mech), returns the status. */
SSPI_INTERNAL sspi_status sspi_gss_fail(sspi_error *err, const char *what, OM_uint32 major,
                                        OM_uint32 minor, gss_const_OID mech);
/* Whether a minor code is the errno errnum: the mechglue renumbers minor
 * codes that collide (per process), so the display text decides too. */
SSPI_INTERNAL int sspi_gss_minor_is_errno(OM_uint32 minor, gss_const_OID mech, int errnum);
/* The same with a status chosen by the caller. */
SSPI_INTERNAL sspi_status sspi_gss_fail_as(sspi_error *err, sspi_status status, const char *what,
                                           OM_uint32 major, OM_uint32 minor, gss_const_OID mech);

/* --- gss_names.c */
/* Imports an SSPI target ("HTTP/web.example.test", "HTTP/web@REALM",
 * "HTTP@web") as a GSS name. */
SSPI_INTERNAL sspi_status sspi_gss_import_target(const char *target, gss_name_t *out,
                                                 sspi_error *err);
/* Imports a user name ("alice@REALM", "DOMAIN\\alice") as GSS_C_NT_USER_NAME. */
SSPI_INTERNAL sspi_status sspi_gss_import_user(const char *user, gss_name_t *out, sspi_error *err);
/* gss_display_name into a string from alloc (replacing *dst). */
SSPI_INTERNAL sspi_status sspi_gss_display_name(const sspi_allocator *alloc, gss_name_t name,
                                                char **dst, sspi_error *err);

/* --- gss_flags.c */
SSPI_INTERNAL OM_uint32 sspi_gss_req_flags(uint32_t isc_req, int delegate_always);
SSPI_INTERNAL uint32_t sspi_gss_isc_ret(OM_uint32 gss_flags, uint32_t isc_req);
SSPI_INTERNAL uint32_t sspi_gss_asc_ret(OM_uint32 gss_flags, uint32_t asc_req, int delegated);

/* --- gss_cred.c */
/* cred->impl, empty (no handle yet, the provider's mechanism kind), made
 * when there is none. */
SSPI_INTERNAL sspi_status sspi_gss_cred_shell(sspi_credential *cred, sspi_error *err);
/* AcquireCredentialsHandle from the options, impersonate aside. */
SSPI_INTERNAL sspi_status sspi_gss_acquire_plain(sspi_credential *cred,
                                                 const sspi_cred_options *opts, sspi_error *err);
/* --- gss_s4u.c: impersonate (S4U2Self) */
/* user_name: the user to act for; the service's own credential comes from
 * opts (its "impersonate" value is not looked at again). */
SSPI_INTERNAL sspi_status sspi_gss_acquire_s4u(sspi_credential *cred,
                                               const sspi_cred_options *opts,
                                               const char *user_name, sspi_error *err);
/* The Unix time a credential handle expires (0: never / unknown). */
SSPI_INTERNAL int64_t sspi_gss_cred_expiry(gss_cred_id_t handle);
/* A new handle on the same credential (gss_export_cred + gss_import_cred),
 * with the SPNEGO mechanism list of the original. */
SSPI_INTERNAL sspi_status sspi_gss_cred_copy(const sspi_gss_cred *cred, gss_cred_id_t *out,
                                             sspi_error *err);

/* --- gss_both.c */
/* usage "both" with gss-ntlmssp in it: sets accept_cred / accept_refused
 * (opts: the acquisition's, NULL for an imported credential). */
SSPI_INTERNAL sspi_status sspi_gss_accept_side(sspi_credential *cred,
                                               const sspi_cred_options *opts, sspi_error *err);

/* --- gss_context.c */
/* Makes ctx->impl (empty) unless it exists. */
SSPI_INTERNAL sspi_status sspi_gss_new_impl(sspi_context *ctx, sspi_error *err);
/* Whether the message functions may run: the context is complete and was
 * not established with ISC_REQ_NO_INTEGRITY. */
SSPI_INTERNAL sspi_status sspi_gss_ready(const sspi_gss_ctx *impl, sspi_error *err);
/* The context's impl, or a failure when the handshake has not made one. */
SSPI_INTERNAL sspi_gss_ctx *sspi_gss_ctx_of(sspi_context *ctx);
/* The mechanism to display minor codes with. */
SSPI_INTERNAL gss_const_OID sspi_gss_ctx_mech(const sspi_context *ctx);

/* --- the vtable entries, by file */
SSPI_INTERNAL sspi_status sspi_gss_acquire(sspi_credential *cred, const sspi_cred_options *opts,
                                           sspi_error *err);
SSPI_INTERNAL void sspi_gss_free_cred(sspi_credential *cred);
/* Release a name / credential handle if it holds one, and leave it empty. */
SSPI_INTERNAL void sspi_gss_drop_name(gss_name_t *name);
SSPI_INTERNAL void sspi_gss_drop_cred(gss_cred_id_t *cred);
SSPI_INTERNAL sspi_status sspi_gss_init_step(sspi_context *ctx, const sspi_step_in *in,
                                             uint32_t *ret_flags, sspi_error *err);
SSPI_INTERNAL sspi_status sspi_gss_accept_step(sspi_context *ctx, const sspi_step_in *in,
                                               uint32_t *ret_flags, sspi_error *err);
SSPI_INTERNAL void sspi_gss_free_context(sspi_context *ctx);
/* gss_export.c */
SSPI_INTERNAL sspi_status sspi_gss_export_context(sspi_context *ctx, sspi_bytes *out,
                                                  sspi_error *err);
SSPI_INTERNAL sspi_status sspi_gss_import_context(sspi_context *ctx, const unsigned char *in,
                                                  size_t len, sspi_error *err);
SSPI_INTERNAL sspi_status sspi_gss_export_cred(sspi_credential *cred, sspi_bytes *out,
                                               sspi_error *err);
SSPI_INTERNAL sspi_status sspi_gss_import_cred(sspi_credential *cred, const unsigned char *in,
                                               size_t len, sspi_error *err);
/* gss_deleg.c */
SSPI_INTERNAL sspi_status sspi_gss_control(sspi_context *ctx, int op, void *arg, sspi_error *err);
SSPI_INTERNAL sspi_status sspi_gss_query(sspi_context *ctx, sspi_attr attr, sspi_attr_value *v,
                                         sspi_error *err);
SSPI_INTERNAL sspi_send_fn sspi_gss_encrypt, sspi_gss_sign;
SSPI_INTERNAL sspi_receive_fn sspi_gss_decrypt, sspi_gss_verify;
SSPI_INTERNAL sspi_wrap_fn sspi_gss_wrap;
SSPI_INTERNAL sspi_unwrap_fn sspi_gss_unwrap;
SSPI_INTERNAL sspi_get_mic_fn sspi_gss_get_mic;
SSPI_INTERNAL sspi_verify_mic_fn sspi_gss_verify_mic;

/* Supplementary bits that mean a message came out of order or twice. */
#define SSPI_GSS_SEQUENCE_BITS \
    (GSS_S_DUPLICATE_TOKEN | GSS_S_OLD_TOKEN | GSS_S_UNSEQ_TOKEN | GSS_S_GAP_TOKEN)

/* This folder's Kerberos vtable (gss_provider.c): a delegated credential is
 * one of its credentials. */
extern const sspi_provider sspi_gssapi_kerberos_provider;

#endif /* SSPI_GSS_PRIVATE_H */
