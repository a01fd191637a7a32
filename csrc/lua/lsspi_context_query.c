/*
 * lsspi_context_query.c - ctx:query(name) (QueryContextAttributes): one
 * attribute per call, as a Lua value shaped for that attribute.
 */

/***
 * ctx:query, part of the module `sspi`.
 * @module sspi
 */

/***
 * (continued)
 * @type sspi.context
 */
#include <string.h>

#include "lsspi.h"

static const char *const attr_names[] = {"names", "native_names", "sizes", "stream_sizes",
                                         "session_key", "flags", "lifespan", "package_info",
                                         "negotiation_info", NULL};
static const sspi_attr attrs[] = {SSPI_ATTR_NAMES, SSPI_ATTR_NATIVE_NAMES, SSPI_ATTR_SIZES,
                                  SSPI_ATTR_STREAM_SIZES, SSPI_ATTR_SESSION_KEY, SSPI_ATTR_FLAGS,
                                  SSPI_ATTR_LIFESPAN, SSPI_ATTR_PACKAGE_INFO,
                                  SSPI_ATTR_NEGOTIATION_INFO};

static void set_string(lua_State *L, const char *key, const char *value)
{
    if (value == NULL)
        return;
    lua_pushstring(L, value);
    lua_setfield(L, -2, key);
}

static void set_integer(lua_State *L, const char *key, lua_Integer value)
{
    lua_pushinteger(L, value);
    lua_setfield(L, -2, key);
}

/* Unix times: 0 means unknown and is left out. */
static void set_time(lua_State *L, const char *key, int64_t value)
{
    if (value != 0)
        set_integer(L, key, (lua_Integer)value);
}

static const char *negotiation_state_name(uint32_t s)
{
    switch (s) {
    case SECPKG_NEGOTIATION_COMPLETE: return "complete";
    case SECPKG_NEGOTIATION_OPTIMISTIC: return "optimistic";
    case SECPKG_NEGOTIATION_IN_PROGRESS: return "in_progress";
    case SECPKG_NEGOTIATION_DIRECT: return "direct";
    case SECPKG_NEGOTIATION_TRY_MULTICRED: return "try_multicred";
    }
    return "unknown";
}

/***
 * QueryContextAttributes: one attribute per call, on a context that has
 * been stepped at least once (before: nil, err, "SEC_E_INVALID_HANDLE");
 * what a package answers in the middle of a handshake is its own (flags,
 * package_info and negotiation_info always).  An unknown name raises.
 * Results by name:
 *
 * - "names": {user = the client's name} (on both sides, as Windows'
 *   SecPkgContext_Names);
 * - "native_names": {client =, server =};
 * - "sizes": {max_token =, max_signature =, block_size =, security_trailer =};
 * - "stream_sizes": {header =, trailer =, max_message =, buffers =, block_size =};
 * - "session_key": two values, the key (a string: the one place a secret
 *   becomes a Lua string) and its type (Kerberos enctype, 0 otherwise);
 * - "flags": the ISC_RET (initiator) or ASC_RET (acceptor) mask, an integer;
 * - "lifespan": {start =, expiry =}, Unix times, each absent when unknown;
 * - "package_info": {name =, comment =, backend =, capabilities =, version =,
 *   rpcid =, max_token =};
 * - "negotiation_info": {package = (as package_info), state = "complete" |
 *   "optimistic" | "in_progress" | "direct" | "try_multicred", state_code =
 *   the SECPKG_NEGOTIATION value};
 * - "delegated_credential": on a complete acceptor, the credential the
 *   client delegated (ISC_REQ_DELEGATE, Kerberos: its forwarded TGT) as a
 *   new outbound sspi.credential (package "Kerberos"), usable at once by
 *   sspi.context; nil when nothing was delegated.
 *
 * An attribute the package cannot give is nil, err, "SEC_E_UNSUPPORTED_FUNCTION"
 * (e.g. "stream_sizes" on NTLM).
 * @function context:query
 * @tparam string name one of the names above
 * @return the value (two for "session_key")
 * @treturn[2] nil
 * @treturn[2] sspi.error
 * @treturn[2] string status name
 * @usage local sizes = assert(ctx:query("sizes"))
 * local key, enctype = ctx:query("session_key")
 */
/* "delegated_credential": a new sspi.credential userdata (made closed
 * first, then the core's credential goes into it), or nil. */
static int query_delegated_credential(lua_State *L, sspi_context *ctx)
{
    lsspi_credential *h = lua_newuserdatauv(L, sizeof *h, 1);
    sspi_error err;
    sspi_status st;
    memset(h, 0, sizeof *h);
    luaL_setmetatable(L, LSSPI_CREDENTIAL);
    sspi_error_clear(&err);
    st = sspi_context_delegated_credential(ctx, &h->cred, &err);
    if (!SSPI_SUCCESS(st))
        return lsspi_push_failure(L, st, &err);
    if (h->cred == NULL)
        lua_pushnil(L);
    return 1;
}

static int context_query(lua_State *L)
{
    sspi_context *ctx = lsspi_context_open(L, 1);
    sspi_attr attr;
    sspi_attr_value v;
    sspi_error err;
    sspi_status st;
    if (strcmp(luaL_checkstring(L, 2), "delegated_credential") == 0)
        return query_delegated_credential(L, ctx);
    attr = attrs[luaL_checkoption(L, 2, NULL, attr_names)];
    memset(&v, 0, sizeof v);
    sspi_error_clear(&err);
    st = sspi_query(ctx, attr, &v, &err);
    if (!SSPI_SUCCESS(st))
        return lsspi_push_failure(L, st, &err);
    switch (attr) {
    case SSPI_ATTR_NAMES:
        lua_createtable(L, 0, 1);
        set_string(L, "user", v.user_name);
        return 1;
    case SSPI_ATTR_NATIVE_NAMES:
        lua_createtable(L, 0, 2);
        set_string(L, "client", v.client_name);
        set_string(L, "server", v.server_name);
        return 1;
    case SSPI_ATTR_SIZES:
        lua_createtable(L, 0, 4);
        set_integer(L, "max_token", v.max_token);
        set_integer(L, "max_signature", v.max_signature);
        set_integer(L, "block_size", v.block_size);
        set_integer(L, "security_trailer", v.security_trailer);
        return 1;
    case SSPI_ATTR_STREAM_SIZES:
        lua_createtable(L, 0, 5);
        set_integer(L, "header", v.stream_header);
        set_integer(L, "trailer", v.stream_trailer);
        set_integer(L, "max_message", v.stream_max_message);
        set_integer(L, "buffers", v.stream_buffers);
        set_integer(L, "block_size", v.block_size);
        return 1;
    case SSPI_ATTR_SESSION_KEY:
        /* The one place a secret becomes a Lua string: the caller asked. */
        lua_pushlstring(L, (const char *)v.session_key, v.session_key ? v.session_key_len : 0);
        lua_pushinteger(L, (lua_Integer)v.session_key_type);
        return 2;
    case SSPI_ATTR_FLAGS:
        lua_pushinteger(L, (lua_Integer)v.flags);
        return 1;
    case SSPI_ATTR_LIFESPAN:
        lua_createtable(L, 0, 2);
        set_time(L, "start", v.start);
        set_time(L, "expiry", v.expiry);
        return 1;
    case SSPI_ATTR_PACKAGE_INFO:
        lsspi_push_package_info(L, &v.package);
        return 1;
    case SSPI_ATTR_NEGOTIATION_INFO:
        lua_createtable(L, 0, 3);
        lsspi_push_package_info(L, &v.package);
        lua_setfield(L, -2, "package");
        lua_pushstring(L, negotiation_state_name(v.negotiation_state));
        lua_setfield(L, -2, "state");
        set_integer(L, "state_code", (lua_Integer)v.negotiation_state);
        return 1;
    }
    return 0;
}

const luaL_Reg lsspi_context_query_methods[] = {
    {"query", context_query},
    {NULL, NULL},
};
