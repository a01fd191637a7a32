/*
 * options.c - credential options declared by the packages: the option sets
 * of the built-in packages, lookup of a declaration, and the check of
 * options given by name (sspi_cred_options.values) against it.
 *
 * Each provider lists its tables in its vtable (.options); the Lua binding
 * parses sspi.credential{...} from them, so a new package's options are a
 * declaration in its own folder, read back with sspi_option_get.  The
 * built-in packages' options also have fields in sspi_cred_options (the C
 * API had them first): sspi_options_resolve copies named values onto them.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sspi_nt_hash_parse(const char *s, size_t len, unsigned char *out)
{
    size_t i;
    if (len == 16) {
        if (out)
            memcpy(out, s, 16);
        return 0;
    }
    if (len != 32)
        return -1;
    for (i = 0; i < 16; i++) {
        int hi = hex_value((unsigned char)s[2 * i]), lo = hex_value((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            if (out)
                sspi_wipe(out, 16);
            return -1;
        }
        if (out)
            out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static int check_nt_hash(const char *s, size_t len, const char **why)
{
    if (sspi_nt_hash_parse(s, len, NULL) == 0)
        return 0;
    *why = "16 bytes or 32 hex digits expected";
    return -1;
}

#define STRING_OPT(n, d) {.name = n, .type = SSPI_OPTION_STRING, .doc = d}

const sspi_option_decl sspi_options_identity[] = {
    STRING_OPT("username", "\"user@REALM\", \"DOMAIN\\\\user\" or \"user\""),
    {.name = "password", .type = SSPI_OPTION_SECRET, .doc = "the password (UTF-8)"},
    {.name = "nt_hash", .type = SSPI_OPTION_SECRET, .check = check_nt_hash,
     .doc = "NTLM: the NT hash instead of a password, 16 bytes or 32 hex digits"},
    {.name = NULL},
};

static int check_delegation(const char *s, size_t len, const char **why)
{
    if ((len == 14 && memcmp(s, "ok_as_delegate", 14) == 0) ||
        (len == 6 && memcmp(s, "always", 6) == 0))
        return 0;
    *why = "\"ok_as_delegate\" or \"always\" expected";
    return -1;
}

/* impersonate and delegation have no sspi_cred_options field: the GSSAPI
 * provider reads them with sspi_option_get (docs/kerberos.md). */
const sspi_option_decl sspi_options_kerberos[] = {
    STRING_OPT("ccache", "credential cache (\"FILE:/tmp/x\", \"MEMORY:y\")"),
    STRING_OPT("keytab", "acceptor keytab"),
    STRING_OPT("client_keytab", "initiator keytab"),
    STRING_OPT("impersonate", "S4U2Self: a credential for this user (\"alice@REALM\") from "
                              "the service's own keytab / ccache / password"),
    {.name = "delegation", .type = SSPI_OPTION_STRING, .check = check_delegation,
     .doc = "ISC_REQ_DELEGATE to targets the KDC marks ok-as-delegate (\"ok_as_delegate\", "
            "the default) or to any target (\"always\")"},
    {.name = NULL},
};

const sspi_option_decl sspi_options_ntlm[] = {
    STRING_OPT("user_file", "NTLM acceptor user database (DOMAIN:USER:PASSWORD lines)"),
    {.name = "lookup", .type = SSPI_OPTION_FUNCTION,
     .doc = "NTLM acceptor user store: function(user, domain) -> NT hash or nil"},
    {.name = "lm_compat_level", .type = SSPI_OPTION_INTEGER, .min = 0, .max = 5,
     .doc = "LmCompatibilityLevel 0..5 (default: env LM_COMPAT_LEVEL, else 3)"},
    {.name = "timestamp_window", .type = SSPI_OPTION_INTEGER, .min = 0, .max = 0x7fffffff,
     .doc = "NTLM acceptor: seconds of allowed clock skew (0: 300)"},
    STRING_OPT("workstation", "NTLM: the workstation name sent (default: the host name)"),
    {.name = NULL},
};

/* The built-in NTLM acceptor's hardening (docs/security.md); gss-ntlmssp has
 * no such settings, so only the built-in packages declare these. */
const sspi_option_decl sspi_options_ntlm_builtin[] = {
    {.name = "allow_blank_passwords", .type = SSPI_OPTION_BOOLEAN,
     .doc = "NTLM acceptor: blank passwords may log on over the network"},
    {.name = "target_names", .type = SSPI_OPTION_LIST,
     .doc = "NTLM acceptor: the service names answered to (the client's MsvAvTargetName)"},
    {.name = NULL},
};

const sspi_option_decl sspi_options_negotiate[] = {
    {.name = "mechs", .type = SSPI_OPTION_LIST, .doc = "Negotiate: allowed packages, in order"},
    {.name = "reject", .type = SSPI_OPTION_LIST, .doc = "Negotiate: refused packages"},
    {.name = "no_fallback", .type = SSPI_OPTION_BOOLEAN,
     .doc = "Negotiate: do not drop to the next mechanism when one cannot start"},
    {.name = NULL},
};

const sspi_option_decl *sspi_provider_option(const sspi_provider *p, const char *name)
{
    size_t t;
    const sspi_option_decl *d;
    if (p == NULL || name == NULL)
        return NULL;
    for (t = 0; t < sizeof p->options / sizeof p->options[0] && p->options[t]; t++)
        for (d = p->options[t]; d->name; d++)
            if (strcmp(d->name, name) == 0)
                return d;
    return NULL;
}

const sspi_option_decl *sspi_package_option(const char *package, const char *backend,
                                            const char *name)
{
    const sspi_provider *p;
    if (sspi_provider_find(package, backend, &p, NULL) != SEC_E_OK)
        return NULL;
    return sspi_provider_option(p, name);
}

sspi_status sspi_package_options(const char *package, const char *backend, sspi_option_fn fn,
                                 void *ud, sspi_error *err)
{
    const sspi_provider *p;
    const sspi_option_decl *d;
    size_t t;
    sspi_status st = sspi_provider_find(package, backend, &p, err);
    if (st != SEC_E_OK)
        return st;
    for (t = 0; t < sizeof p->options / sizeof p->options[0] && p->options[t]; t++)
        for (d = p->options[t]; d->name; d++)
            if (fn(ud, d) != 0)
                return SEC_E_OK;
    return SEC_E_OK;
}

const sspi_option_value *sspi_option_get(const sspi_cred_options *opts, const char *name)
{
    size_t i;
    for (i = 0; opts->values && i < opts->value_count; i++)
        if (opts->values[i].name && strcmp(opts->values[i].name, name) == 0)
            return &opts->values[i];
    return NULL;
}

size_t sspi_option_list_max(const sspi_option_decl *d)
{
    return d->max > 0 ? (size_t)d->max : SSPI_OPTION_LIST_MAX;
}

/* A value of the declared type: a string without NUL bytes, bytes, an
 * integer in range, at most the declared number of names, a function, 32
 * bits. */
static int fits_type(const sspi_option_value *v, const sspi_option_decl *d)
{
    size_t i;
    switch (d->type) {
    case SSPI_OPTION_STRING: return v->string != NULL && strlen(v->string) == v->length;
    case SSPI_OPTION_SECRET: return v->string != NULL;
    case SSPI_OPTION_INTEGER: return v->integer >= d->min && v->integer <= d->max;
    case SSPI_OPTION_LIST:
        if (v->count > sspi_option_list_max(d) || (v->count > 0 && v->list == NULL))
            return 0;
        for (i = 0; i < v->count; i++)
            if (v->list[i] == NULL)
                return 0;
        return 1;
    case SSPI_OPTION_FUNCTION: return v->fn != NULL;
    case SSPI_OPTION_MASK: return v->integer >= 0 && v->integer <= (int64_t)UINT32_MAX;
    default: return 1; /* BOOLEAN: any value is one */
    }
}

/* The declaration's format check on a string, or on each name of a list. */
static const char *format_why(const sspi_option_value *v, const sspi_option_decl *d)
{
    const char *why = NULL;
    size_t i;
    if (d->check == NULL)
        return NULL;
    if (d->type == SSPI_OPTION_LIST) {
        for (i = 0; i < v->count && why == NULL; i++)
            d->check(v->list[i], strlen(v->list[i]), &why);
    } else if (v->string) {
        d->check(v->string, v->length, &why); /* sets why when it refuses */
    }
    return why;
}

/* One value against its declaration. */
static sspi_status check_value(const sspi_provider *p, const sspi_option_value *v,
                               const sspi_option_decl *d, sspi_error *err)
{
    static const char *const expected[] = {
        [SSPI_OPTION_STRING] = "a string without NUL bytes expected",
        [SSPI_OPTION_SECRET] = "bytes expected",
        [SSPI_OPTION_INTEGER] = "out of range",
        [SSPI_OPTION_LIST] = "too many names, or a NULL one",
        [SSPI_OPTION_FUNCTION] = "no function",
        [SSPI_OPTION_MASK] = "a 32-bit mask expected",
    };
    const char *why = NULL;
    if (d == NULL)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "unknown option '%s' for %s (%s)",
                              v->name ? v->name : "(null)", p->info.name, p->info.backend);
    if (v->type != d->type)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "option '%s': wrong type", v->name);
    if (!fits_type(v, d))
        why = expected[d->type];
    if (why == NULL)
        why = format_why(v, d);
    if (why)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "option '%s': %s", v->name, why);
    return SEC_E_OK;
}

/* The built-in options onto their fields. */
static void apply(const sspi_option_value *v, sspi_cred_options *o, unsigned char nt_hash[16])
{
    const char *n = v->name;
    if (strcmp(n, "username") == 0)
        o->username = v->string;
    else if (strcmp(n, "password") == 0) {
        o->password = v->string;
        o->password_len = v->length;
    } else if (strcmp(n, "nt_hash") == 0) {
        if (sspi_nt_hash_parse(v->string, v->length, nt_hash) == 0)
            o->nt_hash = nt_hash;
    } else if (strcmp(n, "ccache") == 0)
        o->ccache = v->string;
    else if (strcmp(n, "keytab") == 0)
        o->keytab = v->string;
    else if (strcmp(n, "client_keytab") == 0)
        o->client_keytab = v->string;
    else if (strcmp(n, "user_file") == 0)
        o->user_file = v->string;
    else if (strcmp(n, "workstation") == 0)
        o->workstation = v->string;
    else if (strcmp(n, "lookup") == 0) {
        o->lookup = v->fn;
        o->lookup_ud = v->ud;
    } else if (strcmp(n, "lm_compat_level") == 0)
        o->lm_compat_level = (int)v->integer;
    else if (strcmp(n, "timestamp_window") == 0)
        o->timestamp_window = (long)v->integer;
    else if (strcmp(n, "mechs") == 0) {
        o->mechs = v->list;
        o->mech_count = v->count;
    } else if (strcmp(n, "reject") == 0) {
        o->reject = v->list;
        o->reject_count = v->count;
    } else if (strcmp(n, "no_fallback") == 0)
        o->no_fallback = v->integer != 0;
    else if (strcmp(n, "allow_blank_passwords") == 0)
        o->allow_blank_passwords = v->integer != 0;
    else if (strcmp(n, "target_names") == 0) {
        o->target_names = v->list;
        o->target_name_count = v->count;
    }
    /* any other name: the provider reads it with sspi_option_get */
}

sspi_status sspi_options_resolve(const sspi_provider *p, const sspi_cred_options *opts,
                                 sspi_cred_options *out, unsigned char nt_hash[16],
                                 sspi_error *err)
{
    size_t i;
    *out = *opts;
    if (opts->value_count && opts->values == NULL)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "options: value_count without values");
    for (i = 0; i < opts->value_count; i++) {
        const sspi_option_value *v = &opts->values[i];
        sspi_status st = check_value(p, v, v->name ? sspi_provider_option(p, v->name) : NULL, err);
        if (st != SEC_E_OK)
            return st;
        apply(v, out, nt_hash);
    }
    return SEC_E_OK;
}
