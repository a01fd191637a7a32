/*
 * flags.c - the ISC_REQ / ISC_RET / ASC_REQ / ASC_RET tables and the
 * SECBUFFER_* names, with Windows' values (the ISC and ASC values differ:
 * each kind has its own table).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

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

#undef F

const sspi_flag_info *sspi_flag_table(sspi_flag_kind kind)
{
    switch (kind) {
    case SSPI_FLAGS_ISC_REQ: return isc_req;
    case SSPI_FLAGS_ISC_RET: return isc_ret;
    case SSPI_FLAGS_ASC_REQ: return asc_req;
    case SSPI_FLAGS_ASC_RET: return asc_ret;
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

#define T(name) {#name, name}

static const sspi_typename_info buffer_types[] = {
    T(SECBUFFER_EMPTY), T(SECBUFFER_DATA), T(SECBUFFER_TOKEN), T(SECBUFFER_PKG_PARAMS),
    T(SECBUFFER_MISSING), T(SECBUFFER_EXTRA), T(SECBUFFER_STREAM_TRAILER),
    T(SECBUFFER_STREAM_HEADER), T(SECBUFFER_NEGOTIATION_INFO), T(SECBUFFER_PADDING),
    T(SECBUFFER_STREAM), T(SECBUFFER_MECHLIST), T(SECBUFFER_MECHLIST_SIGNATURE),
    T(SECBUFFER_TARGET), T(SECBUFFER_CHANNEL_BINDINGS), T(SECBUFFER_CHANGE_PASS_RESPONSE),
    T(SECBUFFER_TARGET_HOST), T(SECBUFFER_ALERT), T(SECBUFFER_APPLICATION_PROTOCOLS),
    T(SECBUFFER_SRTP_PROTECTION_PROFILES), T(SECBUFFER_SRTP_MASTER_KEY_IDENTIFIER),
    T(SECBUFFER_TOKEN_BINDING), T(SECBUFFER_PRESHARED_KEY), T(SECBUFFER_PRESHARED_KEY_IDENTITY),
    T(SECBUFFER_DTLS_MTU), T(SECBUFFER_SEND_GENERIC_TLS_EXTENSION),
    T(SECBUFFER_SUBSCRIBE_GENERIC_TLS_EXTENSION), T(SECBUFFER_FLAGS),
    T(SECBUFFER_TRAFFIC_SECRETS), T(SECBUFFER_CERTIFICATE_REQUEST_CONTEXT),
    {NULL, 0},
};

static const sspi_typename_info buffer_flags[] = {
    T(SECBUFFER_READONLY), T(SECBUFFER_READONLY_WITH_CHECKSUM), T(SECBUFFER_RESERVED),
    T(SECBUFFER_UNMAPPED), T(SECBUFFER_KERNEL_MAP), T(SECBUFFER_ATTRMASK),
    {NULL, 0},
};

#undef T

const sspi_typename_info *sspi_buffer_type_table(void)
{
    return buffer_types;
}

const sspi_typename_info *sspi_buffer_flag_table(void)
{
    return buffer_flags;
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
