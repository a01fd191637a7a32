/*
 * sch_options.c - Schannel's credential options (SCHANNEL_CRED /
 * SCH_CREDENTIALS as PSSPI's Get-SchannelCredential, New-CryptoSetting and
 * New-TlsParameter expose them), declared for the binding to parse, and
 * read back into the engine's configuration with sspi_option_get.
 */
#include <string.h>

#include "schannel.h"

static const sspi_flag_info protocol_names[] = {
    {"TLSv1.3", SP_PROT_TLS1_3}, {"TLSv1.2", SP_PROT_TLS1_2}, {"TLSv1.1", SP_PROT_TLS1_1},
    {"TLSv1", SP_PROT_TLS1_0},   {"TLSv1.0", SP_PROT_TLS1_0}, {"SSLv3", SP_PROT_SSL3},
    {NULL, 0},
};

static int check_name(const char *s, size_t len, const char **why)
{
    (void)s;
    if (len > 0)
        return 0;
    *why = "empty name";
    return -1;
}

#define PEM_OPT(n, d) {.name = n, .type = SSPI_OPTION_STRING, .doc = d " (PEM text or a path)"}
#define PROTOCOLS_OPT(n, d)                                                                      \
    {.name = n, .type = SSPI_OPTION_MASK, .names = protocol_names,                             \
     .doc = d ": an SP_PROT_* mask or names (TLSv1.3, TLSv1.2, TLSv1.1, TLSv1)"}
#define NAMES_OPT(n, m, d)                                                                     \
    {.name = n, .type = SSPI_OPTION_LIST, .max = m, .check = check_name, .doc = d}

const sspi_option_decl sch_options[] = {
    PEM_OPT("certificate", "server certificate (inbound) or client certificate"),
    PEM_OPT("private_key", "its private key, when not in the certificate's text or file"),
    PEM_OPT("ca", "trust anchors (or a directory); default: the system's"),
    {.name = "verify", .type = SSPI_OPTION_BOOLEAN,
     .doc = "check the peer's chain (default: outbound on; inbound on when ca is given)"},
    PROTOCOLS_OPT("protocols", "enabled protocols (default TLS 1.2 and 1.3)"),
    PROTOCOLS_OPT("disabled_protocols", "protocols taken away"),
    NAMES_OPT("cipher_suites", 128, "IANA cipher suite names (default: OpenSSL's)"),
    NAMES_OPT("alpn", 32, "ALPN protocol names, preferred first"),
    /* SCH_CRED_* (and SCH_*), the core's table of the kind SSPI_FLAGS_SCH_CRED */
    {.name = "flags", .type = SSPI_OPTION_MASK, .names = sspi_sch_cred_flags, .prefix = "SCH_CRED",
     .doc = "an SCH_CRED_* mask or names (with or without SCH_CRED_)"},
    {.name = NULL},
};

static const char *string_of(const sspi_cred_options *opts, const char *name)
{
    const sspi_option_value *v = sspi_option_get(opts, name);
    return v ? v->string : NULL;
}

static uint32_t mask_of(const sspi_cred_options *opts, const char *name)
{
    const sspi_option_value *v = sspi_option_get(opts, name);
    return v ? (uint32_t)v->integer : 0;
}

static const char *const *list_of(const sspi_cred_options *opts, const char *name, size_t *count)
{
    const sspi_option_value *v = sspi_option_get(opts, name);
    *count = v ? v->count : 0;
    return v && v->count ? v->list : NULL;
}

void sch_options_read(const sspi_cred_options *opts, sch_cred_config *cfg)
{
    const sspi_option_value *verify = sspi_option_get(opts, "verify");
    cfg->certificate = string_of(opts, "certificate");
    cfg->private_key = string_of(opts, "private_key");
    cfg->ca = string_of(opts, "ca");
    cfg->verify = verify ? verify->integer != 0 : -1;
    cfg->protocols = mask_of(opts, "protocols");
    cfg->disabled_protocols = mask_of(opts, "disabled_protocols");
    cfg->cipher_suites = list_of(opts, "cipher_suites", &cfg->cipher_suite_count);
    cfg->alpn = list_of(opts, "alpn", &cfg->alpn_count);
    cfg->flags = mask_of(opts, "flags");
}
