/*
 * lsspi_credential.c - the sspi.credential class (Get-SSPICredential /
 * AcquireCredentialsHandle) and the bridge that lets the core's NTLM user
 * lookup call a Lua function from inside a step.
 */

/***
 * sspi.credential, part of the module `sspi`.
 * @module sspi
 */
#include <string.h>

#include "lsspi.h"

static const char *const usage_names[] = {"inbound", "outbound", "both", NULL};
static const sspi_cred_usage usages[] = {SSPI_CRED_INBOUND, SSPI_CRED_OUTBOUND, SSPI_CRED_BOTH};

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

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

/* An NT hash given as 16 raw bytes or 32 hex digits; 0 ok, -1 neither. */
static int parse_nt_hash(const char *s, size_t len, unsigned char out[16])
{
    size_t i;
    if (len == 16) {
        memcpy(out, s, 16);
        return 0;
    }
    if (len != 32)
        return -1;
    for (i = 0; i < 16; i++) {
        int hi = hex_value((unsigned char)s[2 * i]), lo = hex_value((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            wipe(out, 16);
            return -1;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* ------------------------------------------------------------- lookup */

/* What the protected call gets and gives back. */
typedef struct lookup_run {
    const char *user;
    const char *domain;
    unsigned char *nt_hash;
    int found;
} lookup_run;

/* Runs under lua_pcall: (run, credential userdata). */
static int lookup_protected(lua_State *L)
{
    lookup_run *run = lua_touserdata(L, 1);
    size_t len;
    const char *s;
    lua_getiuservalue(L, 2, 1);
    lua_pushstring(L, run->user);
    if (run->domain)
        lua_pushstring(L, run->domain);
    else
        lua_pushnil(L);
    lua_call(L, 2, 1);
    if (!lua_toboolean(L, -1)) {
        run->found = 0;
        return 0;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "lookup returned a %s (NT hash string or nil expected)",
                          luaL_typename(L, -1));
    s = lua_tolstring(L, -1, &len);
    if (parse_nt_hash(s, len, run->nt_hash) != 0)
        return luaL_error(L, "lookup returned %I bytes (16-byte NT hash or 32 hex digits expected)",
                          (lua_Integer)len);
    run->found = 1;
    return 0;
}

/* The core's callback.  Never lets a Lua error unwind through the core:
 * everything that may raise runs inside lua_pcall, and the few calls before
 * it (checkstack, pushing a C function and a light userdata) do not raise. */
int lsspi_lookup_callback(void *ud, const char *user, const char *domain,
                          unsigned char nt_hash[16], sspi_error *err)
{
    lsspi_lookup_call *call = ud;
    lookup_run run;
    lua_State *L;
    int rc;
    if (call == NULL || call->L == NULL) {
        sspi_error_set(err, SEC_E_INTERNAL_ERROR,
                       "lookup function called outside a step of its Lua state");
        return -1;
    }
    L = call->L;
    if (!lua_checkstack(L, 8)) {
        sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "lookup function: Lua stack overflow");
        return -1;
    }
    run.user = user ? user : "";
    run.domain = domain;
    run.nt_hash = nt_hash;
    run.found = 0;
    lua_pushcfunction(L, lookup_protected);
    lua_pushlightuserdata(L, &run);
    lua_pushvalue(L, call->cred_idx);
    rc = lua_pcall(L, 2, 0, 0);
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        sspi_error_set(err, SEC_E_INTERNAL_ERROR, "Lua error: %s",
                       msg ? msg : lua_typename(L, lua_type(L, -1)));
        lua_pop(L, 1);
        return -1;
    }
    return run.found;
}

/* --------------------------------------------------------- credential */

static sspi_cred_usage check_usage(lua_State *L, const char *name)
{
    size_t i;
    for (i = 0; usage_names[i] != NULL; i++)
        if (strcmp(name, usage_names[i]) == 0)
            return usages[i];
    lsspi_opt_error(L, 1, "usage",
                    lua_pushfstring(L, "invalid value '%s' (outbound, inbound or both expected)",
                                    name));
    return SSPI_CRED_OUTBOUND;
}

/* A list option (mechs, reject) as an array of C strings in a scratch
 * userdata left on the stack; the strings stay alive in the list. */
static const char *const *string_list(lua_State *L, int opts, const char *key, size_t *count)
{
    const char **names;
    size_t i, n;
    int list;
    *count = 0;
    if (!lsspi_opt_get(L, opts, 1, key, LUA_TTABLE))
        return NULL;
    list = lua_gettop(L);
    n = (size_t)lua_rawlen(L, list);
    if (n > 64)
        lsspi_opt_error(L, 1, key, "more than 64 names");
    names = lua_newuserdatauv(L, (n ? n : 1) * sizeof *names, 0);
    for (i = 0; i < n; i++) {
        if (lua_rawgeti(L, list, (lua_Integer)i + 1) != LUA_TSTRING)
            lsspi_opt_error(L, 1, key,
                            lua_pushfstring(L, "string expected at index %I, got %s",
                                            (lua_Integer)i + 1, luaL_typename(L, -1)));
        names[i] = lua_tostring(L, -1);
        if (strlen(names[i]) != (size_t)lua_rawlen(L, -1))
            lsspi_opt_error(L, 1, key,
                            lua_pushfstring(L, "string at index %I contains a NUL byte",
                                            (lua_Integer)i + 1));
        lua_pop(L, 1);
    }
    *count = n;
    return names;
}

/* Unknown keys raise; the Schannel ones are known too. */
static void check_keys(lua_State *L, const char *const known[])
{
    const char *all[40];
    size_t n = 0, i;
    for (i = 0; known[i] && n < 39; i++)
        all[n++] = known[i];
    for (i = 0; lsspi_schannel_keys[i] && n < 39; i++)
        all[n++] = lsspi_schannel_keys[i];
    all[n] = NULL;
    lsspi_check_option_keys(L, 1, 1, all);
}

/***
 * Acquires a credential (Get-SSPICredential / AcquireCredentialsHandle).
 * Unknown keys raise ("unknown option 'pasword'"); a value of the wrong type
 * raises naming its key; a security failure (unknown package, no
 * credentials, bad keytab) returns nil, err, status.
 * @function credential
 * @tparam table opts
 *   package (required: "Kerberos" | "NTLM" | "Negotiate", any case),
 *   usage ("outbound" (default) | "inbound" | "both"),
 *   backend ("gssapi" | "builtin"; default: the package's first available),
 *   username ("user@REALM", "DOMAIN\\user"), password, nt_hash (16 bytes or
 *   32 hex digits), ccache, keytab, client_keytab, user_file (NTLM users,
 *   "DOMAIN:USER:PASSWORD" lines), mechs and reject (lists of package names,
 *   Negotiate), lm_compat_level (0..5), no_fallback (boolean),
 *   timestamp_window (seconds >= 0), workstation, lookup (function(user,
 *   domain) -> NT hash (16 bytes or 32 hex) or nil: the NTLM acceptor's user
 *   store, called from inside ctx:step_accept; an error it raises fails the
 *   step with SEC_E_INTERNAL_ERROR), allow_blank_passwords (boolean, NTLM
 *   acceptor), target_names (list of service names the NTLM acceptor answers
 *   to, checked against the client's MsvAvTargetName),
 *   impersonate ("alice@REALM": Kerberos
 *   S4U2Self from the service's keytab / ccache / password, username naming
 *   the service principal), delegation ("ok_as_delegate" (default): Kerberos
 *   ISC_REQ_DELEGATE only to targets the KDC marks ok-as-delegate, as on
 *   Windows; "always": to any target); Schannel (docs/schannel.md):
 *   certificate, private_key, ca (PEM text or paths), verify (boolean),
 *   protocols, disabled_protocols ("TLSv1.2", "TLSv1.3" ... or SP_PROT_*
 *   masks), cipher_suites (IANA names), alpn (protocol names), flags
 *   (SCH_CRED_* mask or names)
 * @treturn sspi.credential|nil
 * @treturn sspi.error
 * @treturn string status name
 * @usage local cred = assert(sspi.credential{ package = "NTLM",
 *   username = "DOMAIN\\bob", password = "secret" })
 */
static int l_credential(lua_State *L)
{
    static const char *const known[] = {
        "package", "usage", "backend", "username", "password", "nt_hash", "ccache", "keytab",
        "client_keytab", "user_file", "mechs", "reject", "lm_compat_level", "no_fallback",
        "timestamp_window", "workstation", "lookup", "impersonate", "delegation",
        /* NTLM acceptor hardening */
        "allow_blank_passwords", "target_names", NULL};
    sspi_schannel_cred tls;
    sspi_cred_options opts;
    sspi_allocator alloc;
    sspi_error err;
    sspi_status st;
    lsspi_credential *h;
    unsigned char nt_hash[16];
    const char *s;
    size_t len;
    lua_Integer v;
    int has_lookup;

    luaL_checktype(L, 1, LUA_TTABLE);
    check_keys(L, known);
    memset(&opts, 0, sizeof opts);
    memset(nt_hash, 0, sizeof nt_hash);
    opts.lm_compat_level = -1;
    opts.package = lsspi_opt_string(L, 1, 1, "package", NULL);
    if (opts.package == NULL)
        return lsspi_opt_error(L, 1, "package", "required");
    opts.usage = SSPI_CRED_OUTBOUND;
    if (lsspi_opt_get(L, 1, 1, "usage", LUA_TSTRING)) {
        opts.usage = check_usage(L, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    opts.backend = lsspi_opt_string(L, 1, 1, "backend", NULL);
    opts.username = lsspi_opt_string(L, 1, 1, "username", NULL);
    opts.password = lsspi_opt_string(L, 1, 1, "password", &opts.password_len);
    opts.ccache = lsspi_opt_string(L, 1, 1, "ccache", NULL);
    opts.keytab = lsspi_opt_string(L, 1, 1, "keytab", NULL);
    opts.client_keytab = lsspi_opt_string(L, 1, 1, "client_keytab", NULL);
    opts.user_file = lsspi_opt_string(L, 1, 1, "user_file", NULL);
    opts.impersonate = lsspi_opt_string(L, 1, 1, "impersonate", NULL);
    s = lsspi_opt_string(L, 1, 1, "delegation", NULL);
    if (s != NULL && strcmp(s, "always") == 0)
        opts.delegate_always = 1;
    else if (s != NULL && strcmp(s, "ok_as_delegate") != 0)
        return lsspi_opt_error(L, 1, "delegation", "\"ok_as_delegate\" or \"always\" expected");
    opts.workstation = lsspi_opt_string(L, 1, 1, "workstation", NULL);
    opts.mechs = string_list(L, 1, "mechs", &opts.mech_count);
    opts.reject = string_list(L, 1, "reject", &opts.reject_count);
    if (lsspi_opt_integer(L, 1, 1, "lm_compat_level", 0, 5, &v))
        opts.lm_compat_level = (int)v;
    if (lsspi_opt_integer(L, 1, 1, "timestamp_window", 0, 0x7fffffff, &v))
        opts.timestamp_window = (long)v;
    opts.no_fallback = lsspi_opt_boolean(L, 1, 1, "no_fallback", 0);
    opts.allow_blank_passwords = lsspi_opt_boolean(L, 1, 1, "allow_blank_passwords", 0);
    opts.target_names = string_list(L, 1, "target_names", &opts.target_name_count);
    if (lsspi_schannel_options(L, 1, &tls))
        opts.schannel = &tls;
    has_lookup = lsspi_opt_get(L, 1, 1, "lookup", LUA_TFUNCTION);
    if (has_lookup) {
        /* The ud is per step (sspi_step_args.lookup_ud); NULL here means
         * "outside a step", which the callback refuses. */
        opts.lookup = lsspi_lookup_callback;
        opts.lookup_ud = NULL;
    }
    /* The userdata exists (closed) before the credential: user value 1
     * keeps the lookup function (or nil). */
    h = lua_newuserdatauv(L, sizeof *h, 1);
    h->cred = NULL;
    h->has_lookup = has_lookup;
    luaL_setmetatable(L, LSSPI_CREDENTIAL);
    if (has_lookup) {
        lua_pushvalue(L, -2);
        lua_setiuservalue(L, -2, 1);
    }
    /* Last: the hash lives on the C stack only between here and acquire. */
    s = lsspi_opt_string(L, 1, 1, "nt_hash", &len);
    if (s != NULL) {
        if (parse_nt_hash(s, len, nt_hash) != 0)
            return lsspi_opt_error(L, 1, "nt_hash", "16 bytes or 32 hex digits expected");
        opts.nt_hash = nt_hash;
    }
    alloc.fn = lua_getallocf(L, &alloc.ud);
    sspi_error_clear(&err);
    st = sspi_credential_acquire(&opts, &alloc, &h->cred, &err);
    wipe(nt_hash, sizeof nt_hash);
    if (st != SEC_E_OK) {
        h->cred = NULL;
        return lsspi_push_failure(L, st, &err);
    }
    return 1;
}

lsspi_credential *lsspi_credential_check(lua_State *L, int idx)
{
    lsspi_credential *h = luaL_checkudata(L, idx, LSSPI_CREDENTIAL);
    if (h->cred == NULL)
        luaL_error(L, "attempt to use a closed " LSSPI_CREDENTIAL);
    return h;
}

static const char *usage_name(sspi_cred_usage u)
{
    switch (u) {
    case SSPI_CRED_INBOUND: return "inbound";
    case SSPI_CRED_OUTBOUND: return "outbound";
    case SSPI_CRED_BOTH: return "both";
    }
    return "unknown";
}

/***
 * An acquired credential (a CredHandle).  `tostring(cred)` reads
 * "sspi.credential (NTLM, outbound)", or "sspi.credential (closed)"; reading
 * a field of a closed credential raises "attempt to use a closed
 * sspi.credential".
 * @type sspi.credential
 */

/***
 * The package name as the registry spells it: "Kerberos", "NTLM" or
 * "Negotiate".
 * @field package
 */

/***
 * The implementation serving it: "gssapi" or "builtin".
 * @field backend
 */

/***
 * "outbound", "inbound" or "both".
 * @field usage
 */

/***
 * When the credential expires, a Unix time (PSSPI's Expiry; Kerberos: the
 * end time of its TGT), or nil when it never does or nobody can tell (NTLM,
 * a keytab acceptor).
 * @field expiry
 */

/***
 * Drops this handle's reference; contexts made from it keep theirs and go
 * on working.  Also `__close` and `__gc`; closing twice is harmless.
 * @function credential:close
 */
static int credential_close(lua_State *L)
{
    lsspi_credential *h = luaL_checkudata(L, 1, LSSPI_CREDENTIAL);
    sspi_credential_release(&h->cred);
    return 0;
}

/* "sspi.credential (NTLM, outbound)". */
static int credential_tostring(lua_State *L)
{
    lsspi_credential *h = luaL_checkudata(L, 1, LSSPI_CREDENTIAL);
    const sspi_package_info *info;
    if (h->cred == NULL) {
        lua_pushliteral(L, LSSPI_CREDENTIAL " (closed)");
        return 1;
    }
    info = sspi_credential_package(h->cred);
    lua_pushfstring(L, LSSPI_CREDENTIAL " (%s, %s)", info && info->name ? info->name : "?",
                    usage_name(sspi_credential_usage(h->cred)));
    return 1;
}

static int credential_get(lua_State *L)
{
    lsspi_credential *h = lsspi_credential_check(L, 1);
    const char *key = lua_tostring(L, 2);
    const sspi_package_info *info = sspi_credential_package(h->cred);
    if (key == NULL)
        return 0;
    if (strcmp(key, "package") == 0)
        lua_pushstring(L, info ? info->name : NULL);
    else if (strcmp(key, "backend") == 0)
        lua_pushstring(L, info ? info->backend : NULL);
    else if (strcmp(key, "usage") == 0)
        lua_pushstring(L, usage_name(sspi_credential_usage(h->cred)));
    else if (strcmp(key, "expiry") == 0 && sspi_credential_expiry(h->cred) != 0)
        lua_pushinteger(L, (lua_Integer)sspi_credential_expiry(h->cred));
    else
        return 0;
    return 1;
}

void lsspi_open_credential(lua_State *L)
{
    static const luaL_Reg meta[] = {
        {"__gc", credential_close},
        {"__close", credential_close},
        {"__tostring", credential_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"close", credential_close},
        {NULL, NULL},
    };
    static const luaL_Reg functions[] = {
        {"credential", l_credential},
        {NULL, NULL},
    };
    const luaL_Reg *const lists[] = {methods, lsspi_credential_transfer_methods, NULL};
    lsspi_new_class(L, LSSPI_CREDENTIAL, meta, lists, credential_get);
    luaL_setfuncs(L, functions, 0);
    luaL_setfuncs(L, lsspi_transfer_functions, 0);
}
