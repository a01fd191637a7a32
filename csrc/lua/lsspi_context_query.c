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
#include <stddef.h>
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

/* A result table described as data: each field of sspi_attr_value that an
 * attribute answers, by key, offset and kind (the query functions are then
 * one loop instead of a run of near-identical push/setfield pairs). */
typedef enum field_kind {
    F_STRING,   /* const char *, left out when NULL */
    F_U32,      /* uint32_t */
    F_U16,      /* uint16_t */
    F_INT,      /* int */
    F_TIME,     /* int64_t Unix time, left out when 0 (unknown) */
    F_BOOLEAN   /* int */
} field_kind;

typedef struct field {
    const char *key;
    size_t offset;
    field_kind kind;
} field;

#define FIELD(k, member, kind) {k, offsetof(sspi_attr_value, member), kind}

static void set_fields(lua_State *L, const sspi_attr_value *v, const field *f, size_t n)
{
    const char *base = (const char *)v;
    size_t i;
    lua_createtable(L, 0, (int)n);
    for (i = 0; i < n; i++, f++) {
        const void *p = base + f->offset;
        switch (f->kind) {
        case F_STRING:
            if (*(const char *const *)p == NULL)
                continue;
            lua_pushstring(L, *(const char *const *)p);
            break;
        case F_U32:
            lua_pushinteger(L, (lua_Integer)*(const uint32_t *)p);
            break;
        case F_U16:
            lua_pushinteger(L, (lua_Integer)*(const uint16_t *)p);
            break;
        case F_INT:
            lua_pushinteger(L, (lua_Integer)*(const int *)p);
            break;
        case F_TIME:
            if (*(const int64_t *)p == 0)
                continue;
            lua_pushinteger(L, (lua_Integer)*(const int64_t *)p);
            break;
        case F_BOOLEAN:
            lua_pushboolean(L, *(const int *)p);
            break;
        }
        lua_setfield(L, -2, f->key);
    }
}

#define SET_FIELDS(L, v, table) set_fields(L, v, table, sizeof table / sizeof table[0])

static const field names_fields[] = {FIELD("user", user_name, F_STRING)};
static const field native_names_fields[] = {
    FIELD("client", client_name, F_STRING),
    FIELD("server", server_name, F_STRING),
};
static const field sizes_fields[] = {
    FIELD("max_token", max_token, F_U32),
    FIELD("max_signature", max_signature, F_U32),
    FIELD("block_size", block_size, F_U32),
    FIELD("security_trailer", security_trailer, F_U32),
};
static const field stream_sizes_fields[] = {
    FIELD("header", stream_header, F_U32),
    FIELD("trailer", stream_trailer, F_U32),
    FIELD("max_message", stream_max_message, F_U32),
    FIELD("buffers", stream_buffers, F_U32),
    FIELD("block_size", block_size, F_U32),
};
static const field lifespan_fields[] = {
    FIELD("start", start, F_TIME),
    FIELD("expiry", expiry, F_TIME),
};
/* Schannel's connection_info (SecPkgContext_ConnectionInfo). */
static const field connection_info_fields[] = {
    FIELD("protocol", tls.protocol, F_STRING),
    FIELD("protocol_version", tls.version, F_INT),
    FIELD("cipher", tls.cipher_suite, F_STRING),
    FIELD("cipher_strength", tls.cipher_strength, F_INT),
    FIELD("hash", tls.hash, F_STRING),
    FIELD("hash_strength", tls.hash_strength, F_INT),
    FIELD("exchange", tls.exchange, F_STRING),
    FIELD("exchange_strength", tls.exchange_strength, F_INT),
    FIELD("group", tls.group, F_STRING),
    FIELD("resumed", tls.resumed, F_BOOLEAN),
};
/* Schannel's cipher_info (SecPkgContext_CipherInfo, Get-SecContextCipherInfo). */
static const field cipher_info_fields[] = {
    FIELD("protocol", tls.protocol, F_STRING),
    FIELD("protocol_version", tls.version, F_INT),
    FIELD("cipher_suite", tls.cipher_suite, F_STRING),
    FIELD("cipher_suite_id", tls.cipher_suite_id, F_U16),
    FIELD("cipher", tls.cipher, F_STRING),
    FIELD("cipher_length", tls.cipher_strength, F_INT),
    FIELD("hash", tls.hash, F_STRING),
    FIELD("hash_length", tls.hash_strength, F_INT),
    FIELD("exchange", tls.exchange, F_STRING),
    FIELD("exchange_length", tls.exchange_strength, F_INT),
    FIELD("group", tls.group, F_STRING),
    FIELD("resumed", tls.resumed, F_BOOLEAN),
};
/* remote_cert (Get-SecContextRemoteCert), besides its DER bytes. */
static const field cert_fields[] = {
    FIELD("pem", cert.pem, F_STRING),
    FIELD("subject", cert.subject, F_STRING),
    FIELD("issuer", cert.issuer, F_STRING),
    FIELD("not_before", cert.not_before, F_TIME),
    FIELD("not_after", cert.not_after, F_TIME),
};

static const sspi_flag_info negotiation_states[] = {
    {"complete", SECPKG_NEGOTIATION_COMPLETE}, {"optimistic", SECPKG_NEGOTIATION_OPTIMISTIC},
    {"in_progress", SECPKG_NEGOTIATION_IN_PROGRESS}, {"direct", SECPKG_NEGOTIATION_DIRECT},
    {"try_multicred", SECPKG_NEGOTIATION_TRY_MULTICRED},
    {NULL, 0},
};

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
static int query_delegated_credential(lua_State *L, lsspi_context *ch)
{
    lsspi_credential *h = lua_newuserdatauv(L, sizeof *h, 1);
    sspi_context *ctx;
    sspi_error err;
    sspi_status st;
    memset(h, 0, sizeof *h);
    luaL_setmetatable(L, LSSPI_CREDENTIAL);
    ctx = lsspi_context_ready(L, ch); /* the userdata allocated: see lsspi_context_ready */
    sspi_error_clear(&err);
    st = sspi_context_delegated_credential(ctx, &h->cred, &err);
    if (!SSPI_SUCCESS(st))
        return lsspi_push_failure(L, st, &err);
    if (h->cred == NULL)
        lua_pushnil(L);
    return 1;
}

/* A query's answer, pushed from the strings and bytes it points to (in the
 * context until its next call). */
typedef struct query_answer {
    sspi_attr attr;
    const sspi_attr_value *v;
} query_answer;

static int push_query_answer(lua_State *L)
{
    const query_answer *q = lua_touserdata(L, 1);
    const sspi_attr_value *v = q->v;
    lua_settop(L, 0);
    switch (q->attr) {
    case SSPI_ATTR_NAMES:
        SET_FIELDS(L, v, names_fields);
        return 1;
    case SSPI_ATTR_NATIVE_NAMES:
        SET_FIELDS(L, v, native_names_fields);
        return 1;
    case SSPI_ATTR_SIZES:
        SET_FIELDS(L, v, sizes_fields);
        return 1;
    case SSPI_ATTR_STREAM_SIZES:
        SET_FIELDS(L, v, stream_sizes_fields);
        return 1;
    case SSPI_ATTR_SESSION_KEY:
        /* The one place a secret becomes a Lua string: the caller asked. */
        lua_pushlstring(L, (const char *)v->session_key, v->session_key ? v->session_key_len : 0);
        lua_pushinteger(L, (lua_Integer)v->session_key_type);
        return 2;
    case SSPI_ATTR_FLAGS:
        lua_pushinteger(L, (lua_Integer)v->flags);
        return 1;
    case SSPI_ATTR_LIFESPAN:
        SET_FIELDS(L, v, lifespan_fields);
        return 1;
    case SSPI_ATTR_PACKAGE_INFO:
        lsspi_push_package_info(L, &v->package);
        return 1;
    case SSPI_ATTR_NEGOTIATION_INFO:
        lua_createtable(L, 0, 3);
        lsspi_push_package_info(L, &v->package);
        lua_setfield(L, -2, "package");
        lua_pushstring(L, lsspi_name_of(negotiation_states, v->negotiation_state, "unknown"));
        lua_setfield(L, -2, "state");
        lua_pushinteger(L, (lua_Integer)v->negotiation_state);
        lua_setfield(L, -2, "state_code");
        return 1;
    case SSPI_ATTR_CONNECTION_INFO:
        SET_FIELDS(L, v, connection_info_fields);
        return 1;
    case SSPI_ATTR_CIPHER_INFO:
        SET_FIELDS(L, v, cipher_info_fields);
        return 1;
    case SSPI_ATTR_REMOTE_CERT:
        SET_FIELDS(L, v, cert_fields);
        lua_pushlstring(L, (const char *)v->cert.der, v->cert.der ? v->cert.der_len : 0);
        lua_setfield(L, -2, "der");
        return 1;
    case SSPI_ATTR_ENDPOINT_BINDINGS:
    case SSPI_ATTR_UNIQUE_BINDINGS:
        lua_pushlstring(L, (const char *)v->bytes, v->bytes ? v->bytes_len : 0);
        return 1;
    case SSPI_ATTR_APPLICATION_PROTOCOL:
        if (v->application_protocol)
            lua_pushstring(L, v->application_protocol);
        else
            lua_pushnil(L);
        return 1;
    }
    return 0;
}

static int context_query(lua_State *L)
{
    lsspi_context *h = lsspi_context_open_handle(L, 1);
    sspi_context *ctx;
    sspi_attr_value v;
    query_answer q;
    sspi_error err;
    sspi_status st;
    int top, rc;
    const char *name = luaL_checkstring(L, 2);
    if (strcmp(name, "delegated_credential") == 0)
        return query_delegated_credential(L, h);
    q.attr = attrs[luaL_checkoption(L, 2, NULL, attr_names)];
    q.v = &v;
    ctx = lsspi_context_ready(L, h); /* after the conversion */
    memset(&v, 0, sizeof v);
    sspi_error_clear(&err);
    st = sspi_query(ctx, q.attr, &v, &err);
    if (!SSPI_SUCCESS(st))
        return lsspi_push_failure(L, st, &err);
    /* The answer points into the context, and making its strings and
     * tables can run a finalizer: busy keeps that from closing the context
     * under the copy, and the protected call from leaving it busy. */
    top = lua_gettop(L);
    lua_pushcfunction(L, push_query_answer);
    lua_pushlightuserdata(L, &q);
    h->busy = 1;
    rc = lua_pcall(L, 1, LUA_MULTRET, 0);
    h->busy = 0;
    if (rc != LUA_OK)
        return lua_error(L);
    return lua_gettop(L) - top;
}

const luaL_Reg lsspi_context_query_methods[] = {
    {"query", context_query},
    {NULL, NULL},
};
