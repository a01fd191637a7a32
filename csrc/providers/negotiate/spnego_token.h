/*
 * spnego_token.h - the SPNEGO messages (RFC 4178, MS-SPNG): NegTokenInit,
 * NegTokenInit2 (negHints), NegTokenResp and the GSS InitialContextToken
 * framing, decoded into views of the input (no allocation: a fuzzer or the
 * token inspector can call the decoder on raw bytes) and encoded into an
 * sspi_bytes.
 *
 *   InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {
 *       thisMech MechType (1.3.6.1.5.5.2), innerContextToken NegotiationToken }
 *   NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit,
 *                                 negTokenResp [1] NegTokenResp }
 *   NegTokenInit  ::= SEQUENCE { mechTypes [0] MechTypeList, reqFlags [1] ContextFlags OPTIONAL,
 *                                mechToken [2] OCTET STRING OPTIONAL,
 *                                mechListMIC [3] OCTET STRING OPTIONAL }
 *   NegTokenInit2 ::= SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2],
 *                                negHints [3] NegHints OPTIONAL, mechListMIC [4] OPTIONAL }
 *   NegHints      ::= SEQUENCE { hintName [0] GeneralString OPTIONAL,
 *                                hintAddress [1] OCTET STRING OPTIONAL }
 *   NegTokenResp  ::= SEQUENCE { negState [0] ENUMERATED OPTIONAL,
 *                                supportedMech [1] MechType OPTIONAL,
 *                                responseToken [2] OCTET STRING OPTIONAL,
 *                                mechListMIC [3] OCTET STRING OPTIONAL }
 *
 * Tags are explicit.  NegTokenInit and NegTokenInit2 differ only at [3]: an
 * OCTET STRING there is a mechListMIC, a SEQUENCE is negHints.
 */
#ifndef SSPI_NEGOTIATE_SPNEGO_TOKEN_H
#define SSPI_NEGOTIATE_SPNEGO_TOKEN_H

#include "spnego_der.h"

/* negState values (RFC 4178 4.2.2). */
#define SSPI_SPNEGO_ACCEPT_COMPLETED  0
#define SSPI_SPNEGO_ACCEPT_INCOMPLETE 1
#define SSPI_SPNEGO_REJECT            2
#define SSPI_SPNEGO_REQUEST_MIC       3
#define SSPI_SPNEGO_NO_STATE          (-1) /* negState absent */

/* OID contents. */
SSPI_INTERNAL extern const sspi_der sspi_spnego_oid;       /* 1.3.6.1.5.5.2 */
SSPI_INTERNAL extern const sspi_der sspi_spnego_krb5_oid;  /* 1.2.840.113554.1.2.2 */
SSPI_INTERNAL extern const sspi_der sspi_spnego_mskrb_oid; /* 1.2.840.48018.1.2.2 (Windows' variant) */
SSPI_INTERNAL extern const sspi_der sspi_spnego_ntlm_oid;  /* 1.3.6.1.4.1.311.2.2.10 */

/* An optional field: present, and if so where its content is. */
typedef struct sspi_spnego_opt {
    int present;
    const unsigned char *p;
    size_t len;
} sspi_spnego_opt;

typedef struct sspi_spnego_init {
    sspi_der mech_types;    /* the MechTypeList element (30 ...) exactly as sent */
    size_t mech_count;
    int init2;              /* negHints present: a NegTokenInit2 */
    sspi_spnego_opt req_flags;     /* BIT STRING content */
    sspi_spnego_opt mech_token;
    sspi_spnego_opt hint_name;     /* GeneralString content */
    sspi_spnego_opt hint_address;
    sspi_spnego_opt mech_list_mic;
} sspi_spnego_init;

typedef struct sspi_spnego_resp {
    int neg_state;                 /* SSPI_SPNEGO_* or SSPI_SPNEGO_NO_STATE */
    sspi_spnego_opt supported_mech; /* OID content */
    sspi_spnego_opt response_token;
    sspi_spnego_opt mech_list_mic;
} sspi_spnego_resp;

typedef enum sspi_spnego_kind {
    SSPI_SPNEGO_MSG_INIT = 1,
    SSPI_SPNEGO_MSG_RESP = 2
} sspi_spnego_kind;

typedef struct sspi_spnego_msg {
    sspi_spnego_kind kind;
    sspi_spnego_init init; /* kind INIT */
    sspi_spnego_resp resp; /* kind RESP */
} sspi_spnego_msg;

/* What a first token is, for an acceptor that also takes bare tokens. */
typedef enum sspi_token_class {
    SSPI_TOKEN_UNKNOWN = 0,
    SSPI_TOKEN_SPNEGO_INIT,  /* [APPLICATION 0] with the SPNEGO OID */
    SSPI_TOKEN_SPNEGO_RESP,  /* [1] NegTokenResp */
    SSPI_TOKEN_NTLMSSP,      /* "NTLMSSP\0" */
    SSPI_TOKEN_GSS_MECH      /* [APPLICATION 0] with another mechanism OID (*mech) */
} sspi_token_class;

/* Decodes a whole token: an InitialContextToken carrying a NegTokenInit(2),
 * or a bare NegTokenResp.  Everything must be consumed.  Views point into
 * data.  SEC_E_OK or SEC_E_INVALID_TOKEN with *why set. */
SSPI_INTERNAL sspi_status sspi_spnego_decode(const unsigned char *data, size_t len,
                                             sspi_spnego_msg *msg, const char **why);

/* Classifies a token by its framing; for SSPI_TOKEN_GSS_MECH *mech is the
 * OID content (mech may be NULL). */
SSPI_INTERNAL sspi_token_class sspi_spnego_classify(const unsigned char *data, size_t len,
                                                    sspi_der *mech);

/* Walks a decoded MechTypeList: *it starts as {0}, each call gives the
 * next OID content; returns 0 at the end.  The list was validated by the
 * decoder (or built by us), so the walk cannot fail. */
SSPI_INTERNAL int sspi_spnego_next_mech(const sspi_der *mech_types, sspi_der *it, sspi_der *oid);

/* 1 when two mechanism OIDs name the same mechanism (the two Kerberos
 * OIDs are one mechanism, as Windows and MIT treat them). */
SSPI_INTERNAL int sspi_spnego_same_mech(const sspi_der *a, const sspi_der *b);

/* Encoders: append to out; 0 ok, -1 out of memory or a field too large. */
SSPI_INTERNAL int sspi_spnego_encode_mech_list(sspi_bytes *out, const sspi_der *oids, size_t n);
/* An InitialContextToken: init->mech_types is the encoded list; req_flags, mech_token,
 * mech_list_mic are used when present; init2 writes negHints (with hint_name /
 * hint_address when present) and puts the MIC at [4]. */
SSPI_INTERNAL int sspi_spnego_encode_init(sspi_bytes *out, const sspi_spnego_init *init);
SSPI_INTERNAL int sspi_spnego_encode_resp(sspi_bytes *out, const sspi_spnego_resp *resp);

#endif /* SSPI_NEGOTIATE_SPNEGO_TOKEN_H */
