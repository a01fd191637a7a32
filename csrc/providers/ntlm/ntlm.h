/*
 * ntlm.h - what the files of the built-in NTLM provider (MS-NLMP) share.
 *
 * The provider is split by concern: crypto (OpenSSL through a private
 * library context), text (UTF-8 <-> UTF-16LE), keys (the MS-NLMP 3.3 and 3.4
 * arithmetic), messages (wire format), credentials (identity and user
 * store), the initiator, the acceptor, session security, and the vtable.
 * None of it knows about Lua; all of it hangs off credentials and contexts.
 */
#ifndef SSPI_NTLM_H
#define SSPI_NTLM_H

#include <pthread.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "../../core/internal.h"

/* ------------------------------------------------- NEGOTIATE flags (2.2.2.5) */

#define NTLMSSP_NEGOTIATE_UNICODE              0x00000001u
#define NTLMSSP_NEGOTIATE_OEM                  0x00000002u
#define NTLMSSP_REQUEST_TARGET                 0x00000004u
#define NTLMSSP_NEGOTIATE_SIGN                 0x00000010u
#define NTLMSSP_NEGOTIATE_SEAL                 0x00000020u
#define NTLMSSP_NEGOTIATE_DATAGRAM             0x00000040u
#define NTLMSSP_NEGOTIATE_LM_KEY               0x00000080u
#define NTLMSSP_NEGOTIATE_NTLM                 0x00000200u
#define NTLMSSP_NEGOTIATE_ANONYMOUS            0x00000800u
#define NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED  0x00001000u
#define NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED 0x00002000u
#define NTLMSSP_NEGOTIATE_ALWAYS_SIGN          0x00008000u
#define NTLMSSP_TARGET_TYPE_DOMAIN             0x00010000u
#define NTLMSSP_TARGET_TYPE_SERVER             0x00020000u
#define NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY 0x00080000u
#define NTLMSSP_NEGOTIATE_IDENTIFY             0x00100000u
#define NTLMSSP_REQUEST_NON_NT_SESSION_KEY     0x00400000u
#define NTLMSSP_NEGOTIATE_TARGET_INFO          0x00800000u
#define NTLMSSP_NEGOTIATE_VERSION              0x02000000u
#define NTLMSSP_NEGOTIATE_128                  0x20000000u
#define NTLMSSP_NEGOTIATE_KEY_EXCH             0x40000000u
#define NTLMSSP_NEGOTIATE_56                   0x80000000u

#define NTLM_ESS NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY

/* ------------------------------------------------------ AV pairs (2.2.2.1) */

#define NTLM_AV_EOL               0
#define NTLM_AV_NB_COMPUTER_NAME  1
#define NTLM_AV_NB_DOMAIN_NAME    2
#define NTLM_AV_DNS_COMPUTER_NAME 3
#define NTLM_AV_DNS_DOMAIN_NAME   4
#define NTLM_AV_DNS_TREE_NAME     5
#define NTLM_AV_FLAGS             6
#define NTLM_AV_TIMESTAMP         7
#define NTLM_AV_SINGLE_HOST       8
#define NTLM_AV_TARGET_NAME       9
#define NTLM_AV_CHANNEL_BINDINGS  10

#define NTLM_AV_FLAG_MIC_PRESENT  0x00000002u

/* Windows' cbMaxToken for NTLM; also the largest token we read. */
#define NTLM_MAX_TOKEN 2888u
#define NTLM_SIGNATURE_SIZE 16u

/* ------------------------------------------------------------------- crypto */

/* One-time, thread-safe load of the private OSSL_LIB_CTX (legacy + default
 * providers); SEC_E_OK or why NTLM cannot work on this machine. */
SSPI_INTERNAL sspi_status sspi_ntlm_crypto_ready(sspi_error *err);

/* A list of byte ranges, hashed or MACed as one concatenation. */
typedef struct sspi_ntlm_chunk {
    const unsigned char *data;
    size_t len;
} sspi_ntlm_chunk;

SSPI_INTERNAL int sspi_ntlm_md4(const unsigned char *in, size_t len, unsigned char out[16]);
SSPI_INTERNAL int sspi_ntlm_md5(const sspi_ntlm_chunk *parts, size_t n, unsigned char out[16]);
SSPI_INTERNAL int sspi_ntlm_hmac_md5(const unsigned char *key, size_t keylen,
                                     const sspi_ntlm_chunk *parts, size_t n,
                                     unsigned char out[16]);
/* DES-ECB of one block under a 7-byte key (expanded with parity bits). */
SSPI_INTERNAL int sspi_ntlm_des7(const unsigned char key7[7], const unsigned char in[8],
                                 unsigned char out[8]);
/* RC4 with its state in the open (the S-box and both indices), not behind
 * an EVP handle: an exported context carries its stream position exactly
 * (ntlm_export.c).  The state is plain memory, wiped with its owner. */
typedef struct sspi_ntlm_rc4_state {
    unsigned char s[256];
    unsigned char i, j;
} sspi_ntlm_rc4_state;
/* Keys (or re-keys) h; 0 ok, -1 for a key length outside 1..256. */
SSPI_INTERNAL int sspi_ntlm_rc4_init(sspi_ntlm_rc4_state *h, const unsigned char *key, size_t keylen);
/* Encrypts (or decrypts) len bytes, in place when in == out; the stream
 * position moves on by len. */
SSPI_INTERNAL void sspi_ntlm_rc4(sspi_ntlm_rc4_state *h, const unsigned char *in, size_t len,
                                 unsigned char *out);
/* 1 when s is a permutation of 0..255, as every RC4 state is. */
SSPI_INTERNAL int sspi_ntlm_rc4_valid(const sspi_ntlm_rc4_state *h);
/* RC4K: a one-shot RC4 under key (MS-NLMP 6); 0 ok, -1 bad key length. */
SSPI_INTERNAL int sspi_ntlm_rc4k(const unsigned char *key, size_t keylen,
                                 const unsigned char *in, size_t len, unsigned char *out);
SSPI_INTERNAL int sspi_ntlm_random(unsigned char *out, size_t len);
/* An HMAC-MD5 context keyed once and re-initialised per message. */
SSPI_INTERNAL EVP_MAC_CTX *sspi_ntlm_hmac_new(const unsigned char key[16]);
/* CRC-32 (IEEE), for NTLMv1 signatures: a checksum, not a MAC. */
SSPI_INTERNAL uint32_t sspi_ntlm_crc32(uint32_t crc, const unsigned char *p, size_t n);

/* --------------------------------------------------------------------- text */

/* UTF-8 -> UTF-16LE into a fresh allocation (*out, *outlen bytes); upper
 * cases each BMP code unit when upper != 0 (RtlUpcaseUnicodeString-like).
 * 0 ok, -1 invalid UTF-8, -2 out of memory. */
SSPI_INTERNAL int sspi_ntlm_utf16(const sspi_allocator *a, const char *s, size_t len, int upper,
                                  unsigned char **out, size_t *outlen);
/* UTF-16LE (or OEM bytes taken as Latin-1 when oem != 0) -> NUL-terminated
 * UTF-8.  0 ok, -1 malformed (odd length, lone surrogate), -2 ENOMEM. */
SSPI_INTERNAL int sspi_ntlm_utf8(const sspi_allocator *a, const unsigned char *in, size_t len,
                                 int oem, char **out);
/* Case-insensitive equality of two UTF-8 strings (Unicode simple case). */
SSPI_INTERNAL int sspi_ntlm_name_equal(const char *a, const char *b);
/* Frees what sspi_ntlm_utf16 made. */
SSPI_INTERNAL void sspi_ntlm_free(const sspi_allocator *a, unsigned char **p, size_t len);

/* --------------------------------------------------------------------- keys */

/* NTOWFv1 = MD4(UTF-16LE(password)). */
SSPI_INTERNAL int sspi_ntlm_ntowfv1(const sspi_allocator *a, const char *password, size_t len,
                                    unsigned char out[16]);
/* LMOWFv1; returns 1 when made, 0 when the password has no LM hash (over
 * 14 characters or not ASCII), -1 on failure. */
SSPI_INTERNAL int sspi_ntlm_lmowfv1(const char *password, size_t len, unsigned char out[16]);
/* NTOWFv2 = HMAC_MD5(NTOWFv1, UTF-16LE(Upper(user) || domain)). */
SSPI_INTERNAL int sspi_ntlm_ntowfv2(const sspi_allocator *a, const unsigned char nt_hash[16],
                                    const char *user, const char *domain, unsigned char out[16]);
/* DESL: three DES blocks under the 16-byte key padded to 21 bytes. */
SSPI_INTERNAL int sspi_ntlm_desl(const unsigned char key[16], const unsigned char data[8],
                                 unsigned char out[24]);
/* KXKEY for NTLMv1 (3.4.5.1); NTLMv2 uses the session base key. */
SSPI_INTERNAL int sspi_ntlm_kxkey_v1(uint32_t flags, const unsigned char session_base_key[16],
                                     const unsigned char *lm_response, size_t lm_len,
                                     const unsigned char server_challenge[8],
                                     const unsigned char *lm_hash,
                                     unsigned char out[16]);
/* SIGNKEY / SEALKEY (3.4.5.2, 3.4.5.3); client: the client-to-server key. */
SSPI_INTERNAL int sspi_ntlm_signkey(const unsigned char session_key[16], int client,
                                    unsigned char out[16]);
SSPI_INTERNAL int sspi_ntlm_sealkey(uint32_t flags, const unsigned char session_key[16],
                                    int client, unsigned char out[16], size_t *outlen);

/* The responses (3.3.1, 3.3.2): one function each, called by the initiator
 * that makes them, the acceptor that checks them and the vector test. */
/* The challenge an NTLMv1 response with extended session security answers:
 * MD5(ServerChallenge || ClientChallenge)[0..7]. */
SSPI_INTERNAL int sspi_ntlm_ess_challenge(const unsigned char server_challenge[8],
                                          const unsigned char client_challenge[8],
                                          unsigned char out[8]);
/* NTProofStr = HMAC_MD5(NTOWFv2, ServerChallenge || temp), temp being the
 * client blob, and SessionBaseKey = HMAC_MD5(NTOWFv2, NTProofStr). */
SSPI_INTERNAL int sspi_ntlm_ntproof(const unsigned char ntowfv2[16],
                                    const unsigned char server_challenge[8],
                                    const unsigned char *temp, size_t len, unsigned char proof[16],
                                    unsigned char session_base_key[16]);
/* LMv2 = HMAC_MD5(NTOWFv2, ServerChallenge || ClientChallenge) || ClientChallenge. */
SSPI_INTERNAL int sspi_ntlm_lmv2(const unsigned char ntowfv2[16],
                                 const unsigned char server_challenge[8],
                                 const unsigned char client_challenge[8], unsigned char out[24]);

/* ----------------------------------------------------------------- messages */

/* A view of a byte range of a message. */
typedef struct sspi_ntlm_view {
    const unsigned char *data;
    size_t len;
} sspi_ntlm_view;

typedef struct sspi_ntlm_negotiate {
    uint32_t flags;
} sspi_ntlm_negotiate;

typedef struct sspi_ntlm_challenge {
    uint32_t flags;
    unsigned char server_challenge[8];
    sspi_ntlm_view target_name;
    sspi_ntlm_view target_info; /* AV pairs, EOL included; may be empty */
} sspi_ntlm_challenge;

typedef struct sspi_ntlm_authenticate {
    uint32_t flags;
    sspi_ntlm_view lm, nt, domain, user, workstation, session_key;
    int has_mic;                /* the header reaches past the MIC field */
    const unsigned char *mic;   /* 16 bytes at offset 72 when has_mic */
} sspi_ntlm_authenticate;

#define NTLM_AUTH_MIC_OFFSET 72u

SSPI_INTERNAL sspi_status sspi_ntlm_parse_negotiate(const unsigned char *t, size_t n,
                                                    sspi_ntlm_negotiate *m, sspi_error *err);
SSPI_INTERNAL sspi_status sspi_ntlm_parse_challenge(const unsigned char *t, size_t n,
                                                    sspi_ntlm_challenge *m, sspi_error *err);
SSPI_INTERNAL sspi_status sspi_ntlm_parse_authenticate(const unsigned char *t, size_t n,
                                                       sspi_ntlm_authenticate *m, sspi_error *err);

/* Finds an AV pair in a well-formed list (checked by sspi_ntlm_av_check). */
SSPI_INTERNAL int sspi_ntlm_av_find(sspi_ntlm_view list, uint16_t id, sspi_ntlm_view *value);
/* 0 when the list is a sequence of pairs inside its bytes ending in EOL. */
SSPI_INTERNAL int sspi_ntlm_av_check(sspi_ntlm_view list);
/* Appends one pair. */
SSPI_INTERNAL int sspi_ntlm_av_put(sspi_bytes *b, uint16_t id, const void *value, size_t len);

/* Message building: the fixed header, then payload fields appended in order. */
typedef struct sspi_ntlm_writer {
    sspi_bytes *out;
    size_t header;  /* bytes of fixed header; payload starts here */
} sspi_ntlm_writer;

SSPI_INTERNAL int sspi_ntlm_writer_start(sspi_ntlm_writer *w, sspi_bytes *out, uint32_t type,
                                         size_t header);
/* Appends data to the payload and writes its (len, maxlen, offset) at field_at. */
SSPI_INTERNAL int sspi_ntlm_writer_field(sspi_ntlm_writer *w, size_t field_at, const void *data,
                                         size_t len);
SSPI_INTERNAL void sspi_ntlm_put_le16(unsigned char *p, uint16_t v);
SSPI_INTERNAL void sspi_ntlm_put_le32(unsigned char *p, uint32_t v);
SSPI_INTERNAL void sspi_ntlm_put_le64(unsigned char *p, uint64_t v);
SSPI_INTERNAL uint16_t sspi_ntlm_get_le16(const unsigned char *p);
SSPI_INTERNAL uint32_t sspi_ntlm_get_le32(const unsigned char *p);
SSPI_INTERNAL uint64_t sspi_ntlm_get_le64(const unsigned char *p);
/* The VERSION field we send (8 bytes). */
SSPI_INTERNAL void sspi_ntlm_put_version(unsigned char out[8]);
/* Now as a FILETIME (100 ns since 1601). */
SSPI_INTERNAL uint64_t sspi_ntlm_filetime_now(void);

/* -------------------------------------------------------------- credentials */

/* smbpasswd account flags (the letters between brackets) the acceptor
 * honours, as Samba's auth_sam.c does. */
#define NTLM_ACCT_DISABLED 0x1u /* [D] */
#define NTLM_ACCT_LOCKED   0x2u /* [L] auto-locked */
#define NTLM_ACCT_TRUST    0x4u /* [W] [S] [I]: machine or domain trust, not a user */
#define NTLM_ACCT_NOPASS   0x8u /* [N] no password: its hash is NTOWFv1("") */

/* One user the acceptor knows (or the initiator's own identity). */
typedef struct sspi_ntlm_user {
    char *user;
    char *domain;               /* "" for a domain-less (smbpasswd) entry */
    unsigned char nt_hash[16];
    unsigned char lm_hash[16];
    int has_lm;
    unsigned acct;              /* NTLM_ACCT_* */
} sspi_ntlm_user;

struct sspi_ntlm_ctx;

typedef struct sspi_ntlm_cred {
    int has_identity;           /* initiator: user/domain/hashes below are set */
    int anonymous;              /* initiator: the empty user (3.1.5.1.2) */
    sspi_ntlm_user self;
    unsigned char ntowfv2[16];  /* of self, precomputed: it depends on nothing else */
    int lm_compat_level;
    long timestamp_window;
    char *workstation;          /* NetBIOS name sent by the initiator */
    char *computer;             /* acceptor: NetBIOS computer name */
    char *dns_computer;         /* acceptor: DNS host name */
    char *dns_domain;           /* acceptor: DNS domain ("" when none) */
    sspi_ntlm_user *users;      /* acceptor: the user file, loaded at acquisition */
    size_t user_count;
    int allow_blank_passwords;  /* acceptor: blank passwords may log on over the network */
    char **target_names;        /* acceptor: the service names it answers to (NULL: any) */
    size_t target_name_count;
    /* Acceptor contexts of this credential waiting for their AUTHENTICATE:
     * the initiator refuses to answer their server challenges (reflection,
     * docs/security.md).  Each entry is a live context; the lock guards it. */
    pthread_mutex_t lock;
    int lock_ready;
    struct sspi_ntlm_ctx *pending;
} sspi_ntlm_cred;

/* What the acceptor found for a user name: the hashes, the spelling to
 * report (the entry's own; the client's for a lookup function) and the
 * entry's smbpasswd flags. */
typedef struct sspi_ntlm_account {
    unsigned char nt_hash[16];
    unsigned char lm_hash[16];
    int has_lm;
    const char *user;
    const char *domain;
    unsigned acct;
} sspi_ntlm_account;

SSPI_INTERNAL sspi_status sspi_ntlm_acquire(sspi_credential *cred, const sspi_cred_options *opts,
                                            sspi_error *err);
SSPI_INTERNAL void sspi_ntlm_free_cred(sspi_credential *cred);
/* Acceptor: the account of user/domain, from the step's lookup function (in->lookup, per call) or the
 * user file.  A domain-less entry answers only a client naming no domain or
 * this server's own NetBIOS or DNS name.  1 found, 0 unknown, -1 a failure
 * (status in *st). */
SSPI_INTERNAL int sspi_ntlm_find_user(sspi_credential *cred, const sspi_step_in *in,
                                      const char *user, const char *domain,
                                      sspi_ntlm_account *acct, sspi_status *st, sspi_error *err);
/* The reflection guard: an acceptor context enters the credential's list
 * when it sends its CHALLENGE and leaves it when it reads the AUTHENTICATE
 * or is freed; issued() says whether a server challenge is one of theirs. */
SSPI_INTERNAL void sspi_ntlm_pending_add(sspi_credential *cred, struct sspi_ntlm_ctx *c);
SSPI_INTERNAL void sspi_ntlm_pending_remove(sspi_credential *cred, struct sspi_ntlm_ctx *c);
SSPI_INTERNAL int sspi_ntlm_pending_issued(sspi_credential *cred,
                                           const unsigned char server_challenge[8]);

/* ------------------------------------------------------------------ context */

/* One direction of session security (3.4). */
typedef struct sspi_ntlm_direction {
    unsigned char sign_key[16];
    unsigned char seal_key[16];
    size_t seal_key_len;
    sspi_ntlm_rc4_state rc4_state;   /* this direction's own RC4 state (with ESS) */
    sspi_ntlm_rc4_state *rc4;        /* the one in use: &rc4_state, or send's for both
                                   directions without ESS; NULL without SIGN/SEAL */
    EVP_MAC_CTX *hmac;          /* keyed with sign_key (ESS only) */
    uint32_t seq;
    int spent;                  /* the last sequence number was used: no more messages */
} sspi_ntlm_direction;

/* The last sequence number a direction may use.  Only a test build
 * (spec/c/ntlm_seqwrap.c) lowers it, to reach the end without 2^32
 * messages. */
#ifndef SSPI_NTLM_SEQ_LAST
#define SSPI_NTLM_SEQ_LAST 0xFFFFFFFFu
#endif

enum sspi_ntlm_stage {
    NTLM_STAGE_START = 0,
    NTLM_STAGE_NEGOTIATE_SENT,      /* initiator waits for the CHALLENGE */
    NTLM_STAGE_CHALLENGE_SENT,      /* acceptor waits for the AUTHENTICATE */
    NTLM_STAGE_DONE
};

typedef struct sspi_ntlm_ctx {
    enum sspi_ntlm_stage stage;
    struct sspi_ntlm_ctx *pending_next; /* in the credential's pending list */
    int pending;
    uint32_t requested;         /* flags we asked for (initiator) or offered (acceptor) */
    uint32_t flags;             /* the negotiated NEGOTIATE flags */
    int anonymous;
    int mic_present;            /* the AUTHENTICATE carried a MIC */
    sspi_bytes negotiate;       /* kept for the MIC */
    sspi_bytes challenge;
    unsigned char server_challenge[8];
    uint64_t challenge_time;    /* acceptor: FILETIME put in the CHALLENGE */
    unsigned char session_key[16]; /* ExportedSessionKey */
    char *client_name;          /* "DOMAIN\user" */
    size_t client_name_size;
    char *server_name;          /* the target (initiator) or our NetBIOS name */
    size_t server_name_size;
    sspi_ntlm_direction send, recv;
    int shared_handle;          /* no ESS: one RC4 handle for both directions */
} sspi_ntlm_ctx;

SSPI_INTERNAL sspi_status sspi_ntlm_ctx_get(sspi_context *ctx, sspi_ntlm_ctx **out,
                                            sspi_error *err);
/* Sets c->client_name to "DOMAIN\\user" ("user" when domain is empty), or
 * to the anonymous logon's name when c->anonymous. */
SSPI_INTERNAL sspi_status sspi_ntlm_set_client_name(sspi_context *ctx, sspi_ntlm_ctx *c,
                                                    const char *domain, const char *user,
                                                    sspi_error *err);
SSPI_INTERNAL sspi_status sspi_ntlm_query(sspi_context *ctx, sspi_attr attr, sspi_attr_value *v,
                                          sspi_error *err);
SSPI_INTERNAL sspi_status sspi_ntlm_control(sspi_context *ctx, int op, void *arg, sspi_error *err);
SSPI_INTERNAL void sspi_ntlm_free_context(sspi_context *ctx);
/* A complete context to and from its versioned payload (ntlm_export.c). */
SSPI_INTERNAL sspi_status sspi_ntlm_export_context(sspi_context *ctx, sspi_bytes *out,
                                                   sspi_error *err);
SSPI_INTERNAL sspi_status sspi_ntlm_import_context(sspi_context *ctx, const unsigned char *in,
                                                   size_t len, sspi_error *err);
/* The two legs of one side's handshake: the first at NTLM_STAGE_START, the
 * second once the context is at `waiting`; sspi_ntlm_step, the provider's
 * init_step and accept_step both, takes the legs of the context's side
 * (ntlm_init.c, ntlm_accept.c) and runs the one the context is at, after
 * the checks both sides share. */
typedef sspi_status (*sspi_ntlm_leg)(sspi_context *ctx, sspi_ntlm_ctx *c, const sspi_step_in *in,
                                     uint32_t *ret_flags, sspi_error *err);
typedef struct sspi_ntlm_legs {
    sspi_ntlm_leg first, second;
    enum sspi_ntlm_stage waiting;
    int first_takes_token;
    const char *first_name, *second_name; /* for "the ... needs an input token" */
} sspi_ntlm_legs;
SSPI_INTERNAL extern const sspi_ntlm_legs sspi_ntlm_initiator_legs, sspi_ntlm_acceptor_legs;
SSPI_INTERNAL sspi_status sspi_ntlm_step(sspi_context *ctx, const sspi_step_in *in,
                                         uint32_t *ret_flags, sspi_error *err);
/* The end of both sides' last leg: with st == SEC_E_OK the session keys,
 * the context complete with flags in *ret_flags; the transcript (kept only
 * for the MIC) freed either way.  Returns the final status. */
SSPI_INTERNAL sspi_status sspi_ntlm_finish(sspi_ntlm_ctx *c, sspi_status st, int initiator,
                                           uint32_t flags, uint32_t *ret_flags, sspi_error *err);
/* MD5 of the GSS form of SEC_CHANNEL_BINDINGS data (MsvAvChannelBindings). */
SSPI_INTERNAL sspi_status sspi_ntlm_bindings_hash(const unsigned char *data, size_t len,
                                                  unsigned char out[16], sspi_error *err);
/* MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE). */
SSPI_INTERNAL int sspi_ntlm_mic(const sspi_ntlm_ctx *c, const unsigned char *auth, size_t len,
                                unsigned char out[16]);

/* ----------------------------------------------------------- session security */

/* Derives the keys and handles once the session key is known. */
SSPI_INTERNAL sspi_status sspi_ntlm_session_start(sspi_ntlm_ctx *c, int initiator,
                                                  sspi_error *err);
SSPI_INTERNAL void sspi_ntlm_session_free(sspi_ntlm_ctx *c);
/* SSPI_CTL_RESET_CRYPTO: both directions, or only `outgoing`'s when >= 0. */
SSPI_INTERNAL sspi_status sspi_ntlm_session_reset(sspi_ntlm_ctx *c, int outgoing,
                                                  sspi_error *err);
/* The 16-byte signature of the concatenation of parts, with the direction's
 * state (sequence number advanced). */
SSPI_INTERNAL sspi_status sspi_ntlm_signature(sspi_ntlm_ctx *c, sspi_ntlm_direction *d,
                                              const sspi_ntlm_chunk *parts, size_t n,
                                              unsigned char sig[16], sspi_error *err);

/* The same in steps, for SecBuffer lists processed in place. */
typedef struct sspi_ntlm_mac {
    uint32_t crc;
} sspi_ntlm_mac;
SSPI_INTERNAL int sspi_ntlm_mac_begin(sspi_ntlm_ctx *c, sspi_ntlm_direction *d, sspi_ntlm_mac *m);
SSPI_INTERNAL int sspi_ntlm_mac_update(sspi_ntlm_ctx *c, sspi_ntlm_direction *d, sspi_ntlm_mac *m,
                                       const unsigned char *data, size_t len);
SSPI_INTERNAL int sspi_ntlm_mac_end(sspi_ntlm_ctx *c, sspi_ntlm_direction *d, sspi_ntlm_mac *m,
                                    unsigned char sig[16]);
/* SIGN or SEAL negotiated (else only the dummy signature exists). */
SSPI_INTERNAL int sspi_ntlm_signing(const sspi_ntlm_ctx *c);
/* SEC_E_CONTEXT_EXPIRED once a direction has used its last sequence
 * number: numbers are never reused. */
SSPI_INTERNAL sspi_status sspi_ntlm_seq_left(const sspi_ntlm_direction *d, sspi_error *err);
/* SEC_E_OUT_OF_SEQUENCE when an ESS signature's number is not the next. */
SSPI_INTERNAL sspi_status sspi_ntlm_check_seq(const sspi_ntlm_ctx *c, const unsigned char sig[16],
                                              const char *what, sspi_error *err);
SSPI_INTERNAL sspi_status sspi_ntlm_compare_signature(const sspi_ntlm_ctx *c,
                                                      const unsigned char want[16],
                                                      const unsigned char got[16],
                                                      const char *what, sspi_error *err);

SSPI_INTERNAL sspi_wrap_fn sspi_ntlm_wrap;
SSPI_INTERNAL sspi_unwrap_fn sspi_ntlm_unwrap;
SSPI_INTERNAL sspi_get_mic_fn sspi_ntlm_get_mic;
SSPI_INTERNAL sspi_verify_mic_fn sspi_ntlm_verify_mic;
SSPI_INTERNAL sspi_send_fn sspi_ntlm_encrypt, sspi_ntlm_sign;
SSPI_INTERNAL sspi_receive_fn sspi_ntlm_decrypt, sspi_ntlm_verify;

#endif /* SSPI_NTLM_H */
