/*
 * lsspi_credential_tls.c - the Schannel options of sspi.credential{...}
 * (SCHANNEL_CRED / SCH_CREDENTIALS): argument checking and conversion only;
 * what they mean is the Schannel provider's.
 */
#include <string.h>

#include "lsspi.h"

static const struct {
    const char *name;
    uint32_t bits;
} protocol_names[] = {
    {"TLSv1.3", SP_PROT_TLS1_3}, {"TLSv1.2", SP_PROT_TLS1_2}, {"TLSv1.1", SP_PROT_TLS1_1},
    {"TLSv1", SP_PROT_TLS1_0},   {"TLSv1.0", SP_PROT_TLS1_0}, {"SSLv3", SP_PROT_SSL3},
};

static const struct {
    const char *name;
    uint32_t bits;
} flag_names[] = {
    {"NO_SYSTEM_MAPPER", SCH_CRED_NO_SYSTEM_MAPPER},
    {"NO_SERVERNAME_CHECK", SCH_CRED_NO_SERVERNAME_CHECK},
    {"MANUAL_CRED_VALIDATION", SCH_CRED_MANUAL_CRED_VALIDATION},
    {"NO_DEFAULT_CREDS", SCH_CRED_NO_DEFAULT_CREDS},
    {"AUTO_CRED_VALIDATION", SCH_CRED_AUTO_CRED_VALIDATION},
    {"USE_DEFAULT_CREDS", SCH_CRED_USE_DEFAULT_CREDS},
    {"DISABLE_RECONNECTS", SCH_CRED_DISABLE_RECONNECTS},
    {"REVOCATION_CHECK_END_CERT", SCH_CRED_REVOCATION_CHECK_END_CERT},
    {"REVOCATION_CHECK_CHAIN", SCH_CRED_REVOCATION_CHECK_CHAIN},
    {"REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT", SCH_CRED_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT},
    {"IGNORE_NO_REVOCATION_CHECK", SCH_CRED_IGNORE_NO_REVOCATION_CHECK},
    {"IGNORE_REVOCATION_OFFLINE", SCH_CRED_IGNORE_REVOCATION_OFFLINE},
    {"RESTRICTED_ROOTS", SCH_CRED_RESTRICTED_ROOTS},
    {"REVOCATION_CHECK_CACHE_ONLY", SCH_CRED_REVOCATION_CHECK_CACHE_ONLY},
    {"CACHE_ONLY_URL_RETRIEVAL", SCH_CRED_CACHE_ONLY_URL_RETRIEVAL},
    {"MEMORY_STORE_CERT", SCH_CRED_MEMORY_STORE_CERT},
    {"SNI_CREDENTIAL", SCH_CRED_SNI_CREDENTIAL},
    {"SNI_ENABLE_OCSP", SCH_CRED_SNI_ENABLE_OCSP},
    {"DEFERRED_CRED_VALIDATION", SCH_CRED_DEFERRED_CRED_VALIDATION},
    {"SCH_SEND_ROOT_CERT", SCH_SEND_ROOT_CERT},
    {"SCH_SEND_AUX_RECORD", SCH_SEND_AUX_RECORD},
    {"SCH_USE_STRONG_CRYPTO", SCH_USE_STRONG_CRYPTO},
    {"SCH_USE_PRESHAREDKEY_ONLY", SCH_USE_PRESHAREDKEY_ONLY},
    {"SCH_USE_DTLS_ONLY", SCH_USE_DTLS_ONLY},
    {"SCH_ALLOW_NULL_ENCRYPTION", SCH_ALLOW_NULL_ENCRYPTION},
};

/* One name of a mask option: a protocol ("TLSv1.2") or a flag
 * ("SCH_CRED_MANUAL_CRED_VALIDATION", or without its SCH_CRED_ prefix). */
static uint32_t mask_name(lua_State *L, const char *key, const char *name, int flags)
{
    size_t i;
    if (flags) {
        const char *bare = strncmp(name, "SCH_CRED_", 9) == 0 ? name + 9 : name;
        for (i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
            if (strcmp(bare, flag_names[i].name) == 0)
                return flag_names[i].bits;
    } else {
        for (i = 0; i < sizeof protocol_names / sizeof protocol_names[0]; i++)
            if (strcmp(name, protocol_names[i].name) == 0)
                return protocol_names[i].bits;
    }
    lsspi_opt_error(L, 1, key,
                    lua_pushfstring(L, flags ? "unknown flag '%s' (SCH_CRED_* names expected)"
                                             : "unknown protocol '%s' (TLSv1.2, TLSv1.3, "
                                               "TLSv1.1, TLSv1 expected)",
                                    name));
    return 0;
}

/* A mask option: an integer, a name, or a list of names and integers. */
static uint32_t mask_option(lua_State *L, int opts, const char *key, int flags)
{
    uint32_t mask = 0;
    lua_Integer i, n;
    int t;
    lua_getfield(L, opts, key);
    t = lua_type(L, -1);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (t == LUA_TNUMBER || t == LUA_TSTRING) {
        lua_createtable(L, 1, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
    } else if (t != LUA_TTABLE) {
        lsspi_opt_error(L, 1, key, "integer, name or list of names expected");
    }
    n = (lua_Integer)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        if (lua_isinteger(L, -1)) {
            lua_Integer v = lua_tointeger(L, -1);
            if (v < 0 || v > (lua_Integer)UINT32_MAX)
                lsspi_opt_error(L, 1, key, "integer out of 32-bit range");
            mask |= (uint32_t)v;
        } else if (lua_type(L, -1) == LUA_TSTRING) {
            mask |= mask_name(L, key, lua_tostring(L, -1), flags);
        } else {
            lsspi_opt_error(L, 1, key, lua_pushfstring(L, "name expected at index %I", i));
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return mask;
}

/* A list of names: lsspi_opt_string_list, and no empty one. */
static const char *const *names_option(lua_State *L, int opts, const char *key, size_t max,
                                       size_t *count)
{
    const char *const *names = lsspi_opt_string_list(L, opts, key, max, count);
    size_t i;
    for (i = 0; i < *count; i++)
        if (names[i][0] == '\0')
            lsspi_opt_error(L, 1, key, lua_pushfstring(L, "empty name at index %d", (int)i + 1));
    return names;
}

const char *const lsspi_schannel_keys[] = {"certificate", "private_key", "ca", "verify",
                                           "protocols", "disabled_protocols", "cipher_suites",
                                           "alpn", "flags", NULL};

int lsspi_schannel_options(lua_State *L, int opts, sspi_schannel_cred *out)
{
    const char *const *k;
    int present = 0;
    for (k = lsspi_schannel_keys; *k; k++) {
        lua_getfield(L, opts, *k);
        present |= !lua_isnil(L, -1);
        lua_pop(L, 1);
    }
    memset(out, 0, sizeof *out);
    out->verify = -1;
    if (!present)
        return 0;
    out->certificate = lsspi_opt_string(L, opts, 1, "certificate", NULL);
    out->private_key = lsspi_opt_string(L, opts, 1, "private_key", NULL);
    out->ca = lsspi_opt_string(L, opts, 1, "ca", NULL);
    lua_getfield(L, opts, "verify");
    if (!lua_isnil(L, -1)) {
        if (!lua_isboolean(L, -1))
            lsspi_opt_error(L, 1, "verify", "boolean expected");
        out->verify = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    out->protocols = mask_option(L, opts, "protocols", 0);
    out->disabled_protocols = mask_option(L, opts, "disabled_protocols", 0);
    out->flags = mask_option(L, opts, "flags", 1);
    out->cipher_suites = names_option(L, opts, "cipher_suites", 128, &out->cipher_suite_count);
    out->alpn = names_option(L, opts, "alpn", 32, &out->alpn_count);
    return 1;
}
