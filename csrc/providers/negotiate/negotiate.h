/*
 * negotiate.h - what the files of the built-in Negotiate provider share.
 *
 * Negotiate (RFC 4178 SPNEGO with Microsoft's MS-SPNG rules) owns no
 * cryptography: it holds one inner credential per mechanism and one inner
 * context of the chosen mechanism, all made and stepped through the core's
 * own API, and frames their tokens in SPNEGO messages.
 */
#ifndef SSPI_NEGOTIATE_H
#define SSPI_NEGOTIATE_H

#include "spnego_token.h"

/* More than the providers compiled in; a fixed array keeps the credential
 * one allocation. */
#define SSPI_NEGO_MAX_MECHS 8

/* The hint Windows and MIT put in a NegTokenInit2 (MS-SPNG 3.2.5.2). */
#define SSPI_NEGO_HINT_NAME "not_defined_in_RFC4178@please_ignore"

typedef struct sspi_nego_mech {
    const sspi_provider *provider;
    sspi_credential *cred; /* one reference */
} sspi_nego_mech;

typedef struct sspi_nego_cred {
    size_t count;                         /* usable mechanisms, in order of preference */
    sspi_nego_mech mechs[SSPI_NEGO_MAX_MECHS];
    int no_fallback;
    sspi_bytes dropped;                   /* "NTLM: reason; ..." of those not acquired */
} sspi_nego_cred;

typedef struct sspi_nego_ctx {
    sspi_context *inner;      /* the chosen (or optimistic) mechanism's context */
    size_t chosen;            /* index into the credential's mechs; valid when inner != NULL */
    int raw;                  /* acceptor: a bare mechanism token, no SPNEGO framing */
    int hints_sent;           /* acceptor: spoke first with a NegTokenInit2 */
    int inner_complete;
    uint32_t inner_flags;     /* ISC_RET / ASC_RET of the inner context's latest step */
    int nego_done;            /* initiator: the acceptor's first reply processed;
                                 acceptor: the mechanism is chosen */
    int mic_required, mic_sent, mic_received;
    int not_first;            /* the chosen mechanism is not the initiator's first choice:
                                 the mechListMIC must protect the choice (RFC 4178 section 5) */
    int done;                 /* the exchange finished */
    sspi_bytes mech_types;    /* the MechTypeList as sent: what mechListMIC covers */
    sspi_bytes supported_mech; /* acceptor: the chosen OID as the client spelled it */
    size_t offered[SSPI_NEGO_MAX_MECHS]; /* initiator: mechs in mech_types, as indices */
    size_t offered_count;
    sspi_bytes mech_out;      /* scratch: the inner step's output token */
    sspi_bytes mic_out;       /* scratch: our mechListMIC */
    sspi_bytes reasons;       /* initiator: why mechanisms were dropped while starting */
} sspi_nego_ctx;

/* Its byte buffers, a NULL-terminated initialiser for sspi_bytes_init_all /
 * sspi_bytes_free_all. */
#define SSPI_NEGO_BUFFERS(nc)                                                                   \
    {&(nc)->mech_types, &(nc)->supported_mech, &(nc)->mech_out, &(nc)->mic_out, &(nc)->reasons, \
     NULL}

/* negotiate_cred.c */
SSPI_INTERNAL sspi_status sspi_nego_acquire(sspi_credential *cred, const sspi_cred_options *opts,
                                            sspi_error *err);
SSPI_INTERNAL void sspi_nego_free_cred(sspi_credential *cred);

/* negotiate_inner.c: the inner context and the mechListMIC */
SSPI_INTERNAL sspi_status sspi_nego_ctx_get(sspi_context *ctx, sspi_nego_ctx **out,
                                            sspi_error *err);
SSPI_INTERNAL void sspi_nego_drop_inner(sspi_nego_ctx *nc);
/* Makes a fresh inner context for mechanism `index` of the credential. */
SSPI_INTERNAL sspi_status sspi_nego_new_inner(sspi_context *ctx, sspi_nego_ctx *nc, size_t index,
                                              sspi_error *err);
/* Steps the inner context with tok (may be NULL): output into nc->mech_out,
 * flags into nc->inner_flags, nc->inner_complete updated. */
SSPI_INTERNAL sspi_status sspi_nego_step_inner(sspi_context *ctx, sspi_nego_ctx *nc,
                                               const sspi_step_in *in, const unsigned char *tok,
                                               size_t tok_len, sspi_error *err);

/* negotiate_mic.c: the mechListMIC exchange and the NegTokenResp, one
 * function each for both sides */
/* Sets nc->mic_required when the inner NTLM put a MIC in its AUTHENTICATE. */
SSPI_INTERNAL void sspi_nego_check_ntlm_mic(sspi_nego_ctx *nc);
/* The mechListMIC part of a step whose inner mechanism is complete: checks
 * the peer's MIC (mic_in, NULL when none came), makes ours when the
 * exchange needs it (*send_mic: it goes in this step's reply).  SEC_E_OK
 * when the exchange is over, SEC_I_CONTINUE_NEEDED while the peer's MIC
 * is still to come, or the failure. */
SSPI_INTERNAL sspi_status sspi_nego_mic_exchange(sspi_context *ctx, sspi_nego_ctx *nc,
                                                 const sspi_spnego_opt *mic_in, int *send_mic,
                                                 sspi_error *err);
/* Decodes the peer's ("client" / "acceptor") NegTokenResp from in->token:
 * SEC_E_OK or SEC_E_INVALID_TOKEN (missing, malformed, another message). */
SSPI_INTERNAL sspi_status sspi_nego_read_resp(const sspi_step_in *in, const char *peer,
                                              sspi_spnego_msg *msg, sspi_error *err);
/* Writes a NegTokenResp into ctx->out_token: neg_state (SSPI_SPNEGO_NO_STATE
 * for the initiator), supportedMech when with_mech, nc->mech_out as the
 * response token when not empty, nc->mic_out when with_mic. */
SSPI_INTERNAL sspi_status sspi_nego_send_resp(sspi_context *ctx, const sspi_nego_ctx *nc,
                                              int neg_state, int with_mech, int with_mic,
                                              sspi_error *err);
/* Appends "name: message" to a "; "-separated list of reasons. */
SSPI_INTERNAL void sspi_nego_add_reason(sspi_bytes *reasons, const char *name, const char *why);
/* The credential index whose mechanism is oid, or SIZE_MAX. */
SSPI_INTERNAL size_t sspi_nego_find_mech(const sspi_nego_cred *nc, const sspi_der *oid);
SSPI_INTERNAL sspi_der sspi_nego_mech_oid(const sspi_nego_cred *nc, size_t index);

/* negotiate_export.c: the chosen mechanism's own export, wrapped */
SSPI_INTERNAL sspi_status sspi_nego_export_context(sspi_context *ctx, sspi_bytes *out,
                                                   sspi_error *err);
SSPI_INTERNAL sspi_status sspi_nego_import_context(sspi_context *ctx, const unsigned char *in,
                                                   size_t len, sspi_error *err);

/* negotiate_init.c / negotiate_accept.c */
SSPI_INTERNAL sspi_status sspi_nego_init_step(sspi_context *ctx, const sspi_step_in *in,
                                              uint32_t *ret_flags, sspi_error *err);
SSPI_INTERNAL sspi_status sspi_nego_accept_step(sspi_context *ctx, const sspi_step_in *in,
                                                uint32_t *ret_flags, sspi_error *err);

#endif /* SSPI_NEGOTIATE_H */
