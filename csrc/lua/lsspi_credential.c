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

static const sspi_flag_info usages[] = {
    {"inbound", SSPI_CRED_INBOUND}, {"outbound", SSPI_CRED_OUTBOUND}, {"both", SSPI_CRED_BOTH},
    {NULL, 0},
};

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
    if (sspi_nt_hash_parse(s, len, run->nt_hash) != 0)
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
    for (i = 0; usages[i].name != NULL; i++)
        if (strcmp(name, usages[i].name) == 0)
            return (sspi_cred_usage)usages[i].value;
    lsspi_opt_error(L, 1, "usage",
                    lua_pushfstring(L, "invalid value '%s' (outbound, inbound or both expected)",
                                    name));
    return SSPI_CRED_OUTBOUND;
}

/* The fields of sspi_cred_options itself, not declared options. */
static int own_field(const char *key)
{
    return strcmp(key, "package") == 0 || strcmp(key, "usage") == 0 ||
           strcmp(key, "backend") == 0;
}

/* Pass 1: every key of opts (stack index 1) is a field or an option the
 * package declares (else it raises naming it); their names go into v.
 * Returns how many, or -1 when the package itself is unknown (acquisition
 * then reports it as a security failure). */
static int option_names(lua_State *L, const sspi_cred_options *opts, sspi_option_value *v,
                        size_t max)
{
    size_t n = 0;
    if (sspi_package_find(opts->package, opts->backend, NULL, NULL) != SEC_E_OK)
        return -1;
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        const char *key;
        lua_pop(L, 1); /* the value */
        key = lua_tostring(L, -1); /* a string (checked first); stays alive: a key of opts */
        if (own_field(key))
            continue;
        if (sspi_package_option(opts->package, opts->backend, key) == NULL)
            luaL_argerror(L, 1, lua_pushfstring(L, "unknown option '%s' for %s", key,
                                                opts->package));
        if (n < max)
            v[n++].name = key;
    }
    return (int)n;
}

/* What an unknown name of a MASK option is reported for: "protocols
 * (TLSv1.3, TLSv1.2, ...)" for a few names, "flags (SCH_CRED_* names)" for
 * many; left on the stack. */
static const char *mask_label(lua_State *L, const char *key, const sspi_option_decl *d)
{
    const sspi_flag_info *r;
    int n = 0;
    for (r = d->names; r && r->name; r++)
        n++;
    if (n == 0 || n > 8)
        return d->prefix ? lua_pushfstring(L, "%s (%s_* names)", key, d->prefix)
                         : lua_pushstring(L, key);
    lua_pushfstring(L, "%s (", key);
    for (r = d->names; r->name; r++) {
        lua_pushstring(L, r->name);
        lua_pushstring(L, r[1].name ? ", " : ")");
    }
    lua_concat(L, 2 * n + 1);
    return lua_tostring(L, -1);
}

/* Pass 2: one option's value, converted as its declaration says; strings
 * stay alive in opts, lists in a userdata left on the stack. */
static void option_value(lua_State *L, const sspi_cred_options *opts, sspi_option_value *v)
{
    const sspi_option_decl *d = sspi_package_option(opts->package, opts->backend, v->name);
    const char *why = NULL;
    lua_Integer i = 0;
    v->type = d->type;
    switch (d->type) {
    case SSPI_OPTION_STRING:
        v->string = lsspi_opt_string(L, 1, 1, v->name, NULL);
        v->length = strlen(v->string);
        break;
    case SSPI_OPTION_SECRET:
        v->string = lsspi_opt_string(L, 1, 1, v->name, &v->length);
        break;
    case SSPI_OPTION_INTEGER:
        lsspi_opt_integer(L, 1, 1, v->name, (lua_Integer)d->min, (lua_Integer)d->max, &i);
        v->integer = (int64_t)i;
        break;
    case SSPI_OPTION_BOOLEAN:
        v->integer = lsspi_opt_boolean(L, 1, 1, v->name, 0);
        break;
    case SSPI_OPTION_LIST:
        v->list = lsspi_opt_string_list(L, 1, v->name, sspi_option_list_max(d), &v->count);
        for (i = 0; d->check && (size_t)i < v->count; i++)
            if (d->check(v->list[i], strlen(v->list[i]), &why) != 0)
                lsspi_opt_error(L, 1, v->name,
                                lua_pushfstring(L, "%s at index %I", why, i + 1));
        break;
    case SSPI_OPTION_MASK: {
        lsspi_mask_names names;
        names.table = d->names;
        names.prefix = d->prefix;
        names.label = mask_label(L, v->name, d);
        lua_pushstring(L, v->name);
        lua_rawget(L, 1);
        v->integer = (int64_t)lsspi_check_mask(L, -1, 1, v->name, &names);
        lua_pop(L, 2);
        break;
    }
    case SSPI_OPTION_FUNCTION:
        lsspi_opt_get(L, 1, 1, v->name, LUA_TFUNCTION);
        lua_pop(L, 1);
        /* The ud is per step (sspi_step_args.lookup_ud); NULL here means
         * "outside a step", which the callback refuses. */
        v->fn = lsspi_lookup_callback;
        v->ud = NULL;
        break;
    }
    if (d->check && v->string && d->check(v->string, v->length, &why) != 0)
        lsspi_opt_error(L, 1, v->name, why);
}

/***
 * Acquires a credential (Get-SSPICredential / AcquireCredentialsHandle).
 * Besides package, usage and backend, each package takes the options it
 * declares (sspi.package_options(name) lists them); a key it does not
 * declare raises ("unknown option 'pasword' for NTLM"); a value of the
 * wrong type raises naming its key; a security failure (unknown package,
 * no credentials, bad keytab) returns nil, err, status.
 * @function credential
 * @tparam table opts
 *   package (required: "Kerberos" | "NTLM" | "Negotiate", any case),
 *   usage ("outbound" (default) | "inbound" | "both"),
 *   backend ("gssapi" | "builtin"; default: the package's first available),
 *   and the package's own: username ("user@REALM", "DOMAIN\\user"),
 *   password, nt_hash (16 bytes or 32 hex digits), ccache, keytab,
 *   client_keytab, user_file (NTLM users, "DOMAIN:USER:PASSWORD" lines), mechs
 *   and reject (lists of package names, Negotiate), lm_compat_level (0..5),
 *   no_fallback (boolean), timestamp_window (seconds >= 0), workstation,
 *   lookup (function(user, domain) -> NT hash (16 bytes or 32 hex) or nil:
 *   the NTLM acceptor's user store, called from inside ctx:step_accept; an
 *   error it raises fails the step with SEC_E_INTERNAL_ERROR),
 *   allow_blank_passwords (boolean, built-in NTLM acceptor), target_names
 *   (list of service names the built-in NTLM acceptor answers to, checked
 *   against the client's MsvAvTargetName), impersonate ("alice@REALM":
 *   Kerberos S4U2Self from the service's keytab / ccache / password,
 *   username naming the service principal), delegation ("ok_as_delegate"
 *   (default): Kerberos ISC_REQ_DELEGATE only to targets the KDC marks
 *   ok-as-delegate, as on Windows; "always": to any target); Schannel (docs/schannel.md):
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
    sspi_cred_options opts;
    sspi_option_value *values;
    sspi_allocator alloc;
    sspi_error err;
    sspi_status st;
    lsspi_credential *h;
    size_t i, max = 0;
    int n, lookup = 0;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, 1, lua_pushfstring(L, "options take string keys, got a %s key",
                                                luaL_typename(L, -1)));
        max++;
    }
    memset(&opts, 0, sizeof opts);
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

    values = lua_newuserdatauv(L, (max ? max : 1) * sizeof *values, 0);
    memset(values, 0, (max ? max : 1) * sizeof *values);
    n = option_names(L, &opts, values, max);
    for (i = 0; n > 0 && i < (size_t)n; i++) {
        option_value(L, &opts, &values[i]);
        lookup |= values[i].type == SSPI_OPTION_FUNCTION;
    }
    opts.values = values;
    opts.value_count = n > 0 ? (size_t)n : 0;

    /* The userdata exists (closed) before the credential: user value 1
     * keeps the lookup function (or nil). */
    h = lua_newuserdatauv(L, sizeof *h, 1);
    h->cred = NULL;
    h->has_lookup = lookup;
    luaL_setmetatable(L, LSSPI_CREDENTIAL);
    for (i = 0; lookup && i < (size_t)n; i++) {
        if (values[i].type == SSPI_OPTION_FUNCTION) {
            lua_pushstring(L, values[i].name);
            lua_rawget(L, 1);
            lua_setiuservalue(L, -2, 1);
        }
    }
    alloc.fn = lua_getallocf(L, &alloc.ud);
    sspi_error_clear(&err);
    st = sspi_credential_acquire(&opts, &alloc, &h->cred, &err);
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
    return lsspi_name_of(usages, (uint32_t)u, "unknown");
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
    return lsspi_push_object_name(L, LSSPI_CREDENTIAL,
                                  h->cred ? sspi_credential_package(h->cred) : NULL,
                                  h->cred ? usage_name(sspi_credential_usage(h->cred)) : NULL);
}

static int credential_get(lua_State *L)
{
    lsspi_credential *h = lsspi_credential_check(L, 1);
    const char *key = lua_tostring(L, 2);
    if (key == NULL)
        return 0;
    if (strcmp(key, "usage") == 0)
        lua_pushstring(L, usage_name(sspi_credential_usage(h->cred)));
    else if (strcmp(key, "expiry") == 0 && sspi_credential_expiry(h->cred) != 0)
        lua_pushinteger(L, (lua_Integer)sspi_credential_expiry(h->cred));
    else
        return lsspi_push_package_field(L, sspi_credential_package(h->cred), key);
    return 1;
}

void lsspi_open_credential(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"credential", l_credential},
        {NULL, NULL},
    };
    static const luaL_Reg *const methods[] = {lsspi_credential_transfer_methods, NULL};
    static const lsspi_class class = {
        .name = LSSPI_CREDENTIAL, .close = credential_close, .tostring = credential_tostring,
        .methods = methods, .getter = credential_get, .functions = functions,
    };
    lsspi_new_class(L, &class);
    luaL_setfuncs(L, lsspi_transfer_functions, 0);
}
