/*
 * flags.c - the ISC_REQ / ISC_RET / ASC_REQ / ASC_RET tables and the
 * SECBUFFER_* names, with Windows' values (the ISC and ASC values differ:
 * each kind has its own table).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* A row named as its macro. */
#define F(name) {#name, name}

static const sspi_flag_info isc_req[] = {
    F(ISC_REQ_DELEGATE), F(ISC_REQ_MUTUAL_AUTH), F(ISC_REQ_REPLAY_DETECT),
    F(ISC_REQ_SEQUENCE_DETECT), F(ISC_REQ_CONFIDENTIALITY), F(ISC_REQ_USE_SESSION_KEY),
    F(ISC_REQ_PROMPT_FOR_CREDS), F(ISC_REQ_USE_SUPPLIED_CREDS), F(ISC_REQ_ALLOCATE_MEMORY),
    F(ISC_REQ_USE_DCE_STYLE), F(ISC_REQ_DATAGRAM), F(ISC_REQ_CONNECTION),
    F(ISC_REQ_CALL_LEVEL), F(ISC_REQ_FRAGMENT_SUPPLIED), F(ISC_REQ_EXTENDED_ERROR),
    F(ISC_REQ_STREAM), F(ISC_REQ_INTEGRITY), F(ISC_REQ_IDENTIFY), F(ISC_REQ_NULL_SESSION),
    F(ISC_REQ_MANUAL_CRED_VALIDATION), F(ISC_REQ_RESERVED1), F(ISC_REQ_FRAGMENT_TO_FIT),
    F(ISC_REQ_FORWARD_CREDENTIALS), F(ISC_REQ_NO_INTEGRITY), F(ISC_REQ_USE_HTTP_STYLE),
    F(ISC_REQ_UNVERIFIED_TARGET_NAME), F(ISC_REQ_CONFIDENTIALITY_ONLY),
    {NULL, 0},
};

static const sspi_flag_info isc_ret[] = {
    F(ISC_RET_DELEGATE), F(ISC_RET_MUTUAL_AUTH), F(ISC_RET_REPLAY_DETECT),
    F(ISC_RET_SEQUENCE_DETECT), F(ISC_RET_CONFIDENTIALITY), F(ISC_RET_USE_SESSION_KEY),
    F(ISC_RET_USED_COLLECTED_CREDS), F(ISC_RET_USED_SUPPLIED_CREDS), F(ISC_RET_ALLOCATED_MEMORY),
    F(ISC_RET_USED_DCE_STYLE), F(ISC_RET_DATAGRAM), F(ISC_RET_CONNECTION),
    F(ISC_RET_INTERMEDIATE_RETURN), F(ISC_RET_CALL_LEVEL), F(ISC_RET_EXTENDED_ERROR),
    F(ISC_RET_STREAM), F(ISC_RET_INTEGRITY), F(ISC_RET_IDENTIFY), F(ISC_RET_NULL_SESSION),
    F(ISC_RET_MANUAL_CRED_VALIDATION), F(ISC_RET_RESERVED1), F(ISC_RET_FRAGMENT_ONLY),
    F(ISC_RET_FORWARD_CREDENTIALS), F(ISC_RET_USED_HTTP_STYLE), F(ISC_RET_NO_ADDITIONAL_TOKEN),
    F(ISC_RET_REAUTHENTICATION), F(ISC_RET_CONFIDENTIALITY_ONLY),
    {NULL, 0},
};

static const sspi_flag_info asc_req[] = {
    F(ASC_REQ_DELEGATE), F(ASC_REQ_MUTUAL_AUTH), F(ASC_REQ_REPLAY_DETECT),
    F(ASC_REQ_SEQUENCE_DETECT), F(ASC_REQ_CONFIDENTIALITY), F(ASC_REQ_USE_SESSION_KEY),
    F(ASC_REQ_SESSION_TICKET), F(ASC_REQ_ALLOCATE_MEMORY), F(ASC_REQ_USE_DCE_STYLE),
    F(ASC_REQ_DATAGRAM), F(ASC_REQ_CONNECTION), F(ASC_REQ_CALL_LEVEL),
    F(ASC_REQ_FRAGMENT_SUPPLIED), F(ASC_REQ_EXTENDED_ERROR), F(ASC_REQ_STREAM),
    F(ASC_REQ_INTEGRITY), F(ASC_REQ_LICENSING), F(ASC_REQ_IDENTIFY),
    F(ASC_REQ_ALLOW_NULL_SESSION), F(ASC_REQ_ALLOW_NON_USER_LOGONS),
    F(ASC_REQ_ALLOW_CONTEXT_REPLAY), F(ASC_REQ_FRAGMENT_TO_FIT), F(ASC_REQ_NO_TOKEN),
    F(ASC_REQ_PROXY_BINDINGS), F(ASC_REQ_ALLOW_MISSING_BINDINGS),
    {NULL, 0},
};

static const sspi_flag_info asc_ret[] = {
    F(ASC_RET_DELEGATE), F(ASC_RET_MUTUAL_AUTH), F(ASC_RET_REPLAY_DETECT),
    F(ASC_RET_SEQUENCE_DETECT), F(ASC_RET_CONFIDENTIALITY), F(ASC_RET_USE_SESSION_KEY),
    F(ASC_RET_SESSION_TICKET), F(ASC_RET_ALLOCATED_MEMORY), F(ASC_RET_USED_DCE_STYLE),
    F(ASC_RET_DATAGRAM), F(ASC_RET_CONNECTION), F(ASC_RET_CALL_LEVEL),
    F(ASC_RET_THIRD_LEG_FAILED), F(ASC_RET_EXTENDED_ERROR), F(ASC_RET_STREAM),
    F(ASC_RET_INTEGRITY), F(ASC_RET_LICENSING), F(ASC_RET_IDENTIFY), F(ASC_RET_NULL_SESSION),
    F(ASC_RET_ALLOW_NON_USER_LOGONS), F(ASC_RET_ALLOW_CONTEXT_REPLAY),
    F(ASC_RET_FRAGMENT_ONLY), F(ASC_RET_NO_TOKEN), F(ASC_RET_NO_ADDITIONAL_TOKEN),
    {NULL, 0},
};

/* Written with or without SCH_CRED_ (the SCH_* ones in full). */
const sspi_flag_info sspi_sch_cred_flags[] = {
    F(SCH_CRED_NO_SYSTEM_MAPPER), F(SCH_CRED_NO_SERVERNAME_CHECK),
    F(SCH_CRED_MANUAL_CRED_VALIDATION), F(SCH_CRED_NO_DEFAULT_CREDS),
    F(SCH_CRED_AUTO_CRED_VALIDATION), F(SCH_CRED_USE_DEFAULT_CREDS),
    F(SCH_CRED_DISABLE_RECONNECTS), F(SCH_CRED_REVOCATION_CHECK_END_CERT),
    F(SCH_CRED_REVOCATION_CHECK_CHAIN), F(SCH_CRED_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT),
    F(SCH_CRED_IGNORE_NO_REVOCATION_CHECK), F(SCH_CRED_IGNORE_REVOCATION_OFFLINE),
    F(SCH_CRED_RESTRICTED_ROOTS), F(SCH_CRED_REVOCATION_CHECK_CACHE_ONLY),
    F(SCH_CRED_CACHE_ONLY_URL_RETRIEVAL), F(SCH_CRED_MEMORY_STORE_CERT),
    F(SCH_SEND_ROOT_CERT), F(SCH_CRED_SNI_CREDENTIAL), F(SCH_CRED_SNI_ENABLE_OCSP),
    F(SCH_SEND_AUX_RECORD), F(SCH_USE_STRONG_CRYPTO), F(SCH_USE_PRESHAREDKEY_ONLY),
    F(SCH_USE_DTLS_ONLY), F(SCH_ALLOW_NULL_ENCRYPTION), F(SCH_CRED_DEFERRED_CRED_VALIDATION),
    {NULL, 0},
};

const sspi_flag_info *sspi_flag_table(sspi_flag_kind kind)
{
    switch (kind) {
    case SSPI_FLAGS_ISC_REQ: return isc_req;
    case SSPI_FLAGS_ISC_RET: return isc_ret;
    case SSPI_FLAGS_ASC_REQ: return asc_req;
    case SSPI_FLAGS_ASC_RET: return asc_ret;
    case SSPI_FLAGS_SCH_CRED: return sspi_sch_cred_flags;
    }
    return NULL;
}

const char *sspi_flag_prefix(sspi_flag_kind kind)
{
    switch (kind) {
    case SSPI_FLAGS_ISC_REQ: return "ISC_REQ";
    case SSPI_FLAGS_ISC_RET: return "ISC_RET";
    case SSPI_FLAGS_ASC_REQ: return "ASC_REQ";
    case SSPI_FLAGS_ASC_RET: return "ASC_RET";
    case SSPI_FLAGS_SCH_CRED: return "SCH_CRED";
    }
    return NULL;
}

int sspi_flag_lookup(const sspi_flag_info *row, const char *prefix, const char *name,
                     uint32_t *value)
{
    size_t plen = prefix ? strlen(prefix) : 0;
    if (row == NULL || name == NULL)
        return -1;
    if (strcasecmp(name, "NONE") == 0) {
        *value = 0;
        return 0;
    }
    for (; row->name; row++) {
        /* Full name, or the name without "ISC_REQ_" when it has it. */
        if (strcasecmp(name, row->name) == 0 ||
            (plen > 0 && strncmp(row->name, prefix, plen) == 0 && row->name[plen] == '_' &&
             strcasecmp(name, row->name + plen + 1) == 0)) {
            *value = row->value;
            return 0;
        }
    }
    return -1;
}

int sspi_flag_parse(sspi_flag_kind kind, const char *name, uint32_t *value)
{
    return sspi_flag_lookup(sspi_flag_table(kind), sspi_flag_prefix(kind), name, value);
}

static const sspi_typename_info buffer_types[] = {
    F(SECBUFFER_EMPTY), F(SECBUFFER_DATA), F(SECBUFFER_TOKEN), F(SECBUFFER_PKG_PARAMS),
    F(SECBUFFER_MISSING), F(SECBUFFER_EXTRA), F(SECBUFFER_STREAM_TRAILER),
    F(SECBUFFER_STREAM_HEADER), F(SECBUFFER_NEGOTIATION_INFO), F(SECBUFFER_PADDING),
    F(SECBUFFER_STREAM), F(SECBUFFER_MECHLIST), F(SECBUFFER_MECHLIST_SIGNATURE),
    F(SECBUFFER_TARGET), F(SECBUFFER_CHANNEL_BINDINGS), F(SECBUFFER_CHANGE_PASS_RESPONSE),
    F(SECBUFFER_TARGET_HOST), F(SECBUFFER_ALERT), F(SECBUFFER_APPLICATION_PROTOCOLS),
    F(SECBUFFER_SRTP_PROTECTION_PROFILES), F(SECBUFFER_SRTP_MASTER_KEY_IDENTIFIER),
    F(SECBUFFER_TOKEN_BINDING), F(SECBUFFER_PRESHARED_KEY), F(SECBUFFER_PRESHARED_KEY_IDENTITY),
    F(SECBUFFER_DTLS_MTU), F(SECBUFFER_SEND_GENERIC_TLS_EXTENSION),
    F(SECBUFFER_SUBSCRIBE_GENERIC_TLS_EXTENSION), F(SECBUFFER_FLAGS),
    F(SECBUFFER_TRAFFIC_SECRETS), F(SECBUFFER_CERTIFICATE_REQUEST_CONTEXT),
    {NULL, 0},
};

static const sspi_typename_info buffer_flags[] = {
    F(SECBUFFER_READONLY), F(SECBUFFER_READONLY_WITH_CHECKSUM), F(SECBUFFER_RESERVED),
    F(SECBUFFER_UNMAPPED), F(SECBUFFER_KERNEL_MAP), F(SECBUFFER_ATTRMASK),
    {NULL, 0},
};

const sspi_typename_info *sspi_buffer_type_table(void)
{
    return buffer_types;
}

const sspi_typename_info *sspi_buffer_flag_table(void)
{
    return buffer_flags;
}

/* The constants with no table of their own: SecPkgInfo capability bits,
 * negotiation states, data representations, the integrity-only qop and
 * Schannel's protocol bits and control tokens (its SCH_CRED_* flags are in
 * its declaration of the flags option). */
static const sspi_flag_info other_constants[] = {
    F(SECPKG_FLAG_INTEGRITY), F(SECPKG_FLAG_PRIVACY), F(SECPKG_FLAG_TOKEN_ONLY),
    F(SECPKG_FLAG_DATAGRAM), F(SECPKG_FLAG_CONNECTION), F(SECPKG_FLAG_MULTI_REQUIRED),
    F(SECPKG_FLAG_CLIENT_ONLY), F(SECPKG_FLAG_EXTENDED_ERROR), F(SECPKG_FLAG_IMPERSONATION),
    F(SECPKG_FLAG_ACCEPT_WIN32_NAME), F(SECPKG_FLAG_STREAM), F(SECPKG_FLAG_NEGOTIABLE),
    F(SECPKG_FLAG_GSS_COMPATIBLE), F(SECPKG_FLAG_LOGON), F(SECPKG_FLAG_ASCII_BUFFERS),
    F(SECPKG_FLAG_FRAGMENT), F(SECPKG_FLAG_MUTUAL_AUTH), F(SECPKG_FLAG_DELEGATION),
    F(SECPKG_FLAG_READONLY_WITH_CHECKSUM), F(SECPKG_FLAG_RESTRICTED_TOKENS),
    F(SECPKG_FLAG_NEGO_EXTENDER), F(SECPKG_FLAG_NEGOTIABLE2),
    F(SECPKG_FLAG_APPCONTAINER_PASSTHROUGH), F(SECPKG_FLAG_APPCONTAINER_CHECKS),
    F(SECPKG_FLAG_CREDENTIAL_ISOLATION_ENABLED), F(SECPKG_FLAG_APPLY_LOOPBACK),
    F(SECPKG_NEGOTIATION_COMPLETE), F(SECPKG_NEGOTIATION_OPTIMISTIC),
    F(SECPKG_NEGOTIATION_IN_PROGRESS), F(SECPKG_NEGOTIATION_DIRECT),
    F(SECPKG_NEGOTIATION_TRY_MULTICRED),
    F(SECURITY_NATIVE_DREP), F(SECURITY_NETWORK_DREP), F(SECQOP_WRAP_NO_ENCRYPT),
    {"SECBUFFER_VERSION", SECBUFFER_VERSION},
    /* Schannel: SP_PROT_*, SCHANNEL_* (ApplyControlToken). */
    F(SP_PROT_SSL3_SERVER), F(SP_PROT_SSL3_CLIENT), F(SP_PROT_SSL3),
    F(SP_PROT_TLS1_0_SERVER), F(SP_PROT_TLS1_0_CLIENT), F(SP_PROT_TLS1_0),
    F(SP_PROT_TLS1_1_SERVER), F(SP_PROT_TLS1_1_CLIENT), F(SP_PROT_TLS1_1),
    F(SP_PROT_TLS1_2_SERVER), F(SP_PROT_TLS1_2_CLIENT), F(SP_PROT_TLS1_2),
    F(SP_PROT_TLS1_3_SERVER), F(SP_PROT_TLS1_3_CLIENT), F(SP_PROT_TLS1_3),
    F(SCHANNEL_RENEGOTIATE), F(SCHANNEL_SHUTDOWN), F(SCHANNEL_ALERT), F(SCHANNEL_SESSION),
    {NULL, 0},
};

const sspi_flag_info *sspi_constant_table(void)
{
    return other_constants;
}

/* Equal ignoring case and underscores ("StreamHeader" == "STREAM_HEADER"). */
static int loose_equal(const char *a, const char *b)
{
    for (;;) {
        while (*a == '_')
            a++;
        while (*b == '_')
            b++;
        if (*a == '\0' || *b == '\0')
            return *a == *b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
        a++;
        b++;
    }
}

int sspi_buffer_type_parse(const char *name, uint32_t *type)
{
    static const char prefix[] = "SECBUFFER_";
    const sspi_typename_info *row;
    if (name == NULL || name[0] == '\0')
        return -1;
    if (strncasecmp(name, prefix, sizeof prefix - 1) == 0)
        name += sizeof prefix - 1;
    for (row = buffer_types; row->name; row++) {
        if (loose_equal(name, row->name + sizeof prefix - 1)) {
            *type = row->value;
            return 0;
        }
    }
    return -1;
}
