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
                                         "negotiation_info", "connection_info", "cipher_info",
                                         "remote_cert", "endpoint_bindings", "unique_bindings",
                                         "application_protocol", NULL};
static const sspi_attr attrs[] = {SSPI_ATTR_NAMES, SSPI_ATTR_NATIVE_NAMES, SSPI_ATTR_SIZES,
                                  SSPI_ATTR_STREAM_SIZES, SSPI_ATTR_SESSION_KEY, SSPI_ATTR_FLAGS,
                                  SSPI_ATTR_LIFESPAN, SSPI_ATTR_PACKAGE_INFO,
                                  SSPI_ATTR_NEGOTIATION_INFO, SSPI_ATTR_CONNECTION_INFO,
                                  SSPI_ATTR_CIPHER_INFO, SSPI_ATTR_REMOTE_CERT,
                                  SSPI_ATTR_ENDPOINT_BINDINGS, SSPI_ATTR_UNIQUE_BINDINGS,
                                  SSPI_ATTR_APPLICATION_PROTOCOL};

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

/* Schannel's connection_info (SecPkgContext_ConnectionInfo) and
 * cipher_info (SecPkgContext_CipherInfo, Get-SecContextCipherInfo). */
static void push_tls_info(lua_State *L, const sspi_attr_value *v, int cipher_info)
{
    lua_createtable(L, 0, 12);
    set_string(L, "protocol", v->tls.protocol);
    set_integer(L, "protocol_version", v->tls.version);
    if (cipher_info) {
        set_string(L, "cipher_suite", v->tls.cipher_suite);
        set_integer(L, "cipher_suite_id", v->tls.cipher_suite_id);
        set_string(L, "cipher", v->tls.cipher);
        set_integer(L, "cipher_length", v->tls.cipher_strength);
        set_string(L, "hash", v->tls.hash);
        set_integer(L, "hash_length", v->tls.hash_strength);
        set_string(L, "exchange", v->tls.exchange);
        set_integer(L, "exchange_length", v->tls.exchange_strength);
    } else {
        set_string(L, "cipher", v->tls.cipher_suite);
        set_integer(L, "cipher_strength", v->tls.cipher_strength);
        set_string(L, "hash", v->tls.hash);
        set_integer(L, "hash_strength", v->tls.hash_strength);
        set_string(L, "exchange", v->tls.exchange);
        set_integer(L, "exchange_strength", v->tls.exchange_strength);
    }
    set_string(L, "group", v->tls.group);
    lua_pushboolean(L, v->tls.resumed);
    lua_setfield(L, -2, "resumed");
}

static void push_cert(lua_State *L, const sspi_attr_value *v)
{
    lua_createtable(L, 0, 6);
    lua_pushlstring(L, (const char *)v->cert.der, v->cert.der ? v->cert.der_len : 0);
    lua_setfield(L, -2, "der");
    set_string(L, "pem", v->cert.pem);
    set_string(L, "subject", v->cert.subject);
    set_string(L, "issuer", v->cert.issuer);
    set_time(L, "not_before", v->cert.not_before);
    set_time(L, "not_after", v->cert.not_after);
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
 * Schannel (docs/schannel.md):
 *
 * - "connection_info": {protocol = "TLSv1.2" | "TLSv1.3", protocol_version,
 *   cipher = the IANA suite name, cipher_strength, hash, hash_strength,
 *   exchange = "ECDHE" | "DHE" | "RSA", exchange_strength, group, resumed};
 * - "cipher_info" (Get-SecContextCipherInfo): {protocol, protocol_version,
 *   cipher_suite = "TLS_AES_128_GCM_SHA256", cipher_suite_id = 0x1301,
 *   cipher = "AES-128-GCM", cipher_length, hash, hash_length, exchange,
 *   exchange_length, group, resumed};
 * - "remote_cert" (Get-SecContextRemoteCert): {der, pem, subject, issuer
 *   (RFC 4514), not_before, not_after (Unix times)};
 * - "endpoint_bindings": "tls-server-end-point:" .. the server certificate's
 *   hash (RFC 5929), for sspi.channel_bindings{application_data = ...};
 * - "unique_bindings": "tls-unique:" .. the first Finished (TLS 1.2 only);
 * - "application_protocol": the ALPN protocol, or nil when none;
 * - "names" is the peer certificate's subject, "lifespan" the server
 *   certificate's validity.
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
    case SSPI_ATTR_CONNECTION_INFO:
    case SSPI_ATTR_CIPHER_INFO:
        push_tls_info(L, &v, attr == SSPI_ATTR_CIPHER_INFO);
        return 1;
    case SSPI_ATTR_REMOTE_CERT:
        push_cert(L, &v);
        return 1;
    case SSPI_ATTR_ENDPOINT_BINDINGS:
    case SSPI_ATTR_UNIQUE_BINDINGS:
        lua_pushlstring(L, (const char *)v.bytes, v.bytes ? v.bytes_len : 0);
        return 1;
    case SSPI_ATTR_APPLICATION_PROTOCOL:
        if (v.application_protocol)
            lua_pushstring(L, v.application_protocol);
        else
            lua_pushnil(L);
        return 1;
    }
    return 0;
}

const luaL_Reg lsspi_context_query_methods[] = {
    {"query", context_query},
    {NULL, NULL},
};
