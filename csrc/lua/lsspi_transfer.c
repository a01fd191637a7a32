/*
 * lsspi_transfer.c - contexts and credentials that move between processes:
 * ctx:export(), cred:export(), sspi.import_context(blob),
 * sspi.import_credential(blob).  The core checks the blob (its envelope's
 * lengths and digest) before any byte reaches the mechanism.
 */

/***
 * Export and import, part of the module `sspi`.
 * @module sspi
 */
#include <string.h>

#include "lsspi.h"

/* Exports a context (ctx) or a credential (cred) into a Lua string: 1 and
 * the string pushed, or the nil, err, status triple (*ok = 0).  The core's
 * copy of the blob is wiped and freed. */
static int push_export(lua_State *L, sspi_context *ctx, sspi_credential *cred, int *ok)
{
    sspi_allocator alloc;
    sspi_buffer blob;
    sspi_error err;
    sspi_status st;
    alloc.fn = lua_getallocf(L, &alloc.ud);
    sspi_error_clear(&err);
    memset(&blob, 0, sizeof blob);
    st = ctx ? sspi_context_export(ctx, &alloc, &blob, &err)
             : sspi_credential_export(cred, &alloc, &blob, &err);
    *ok = st == SEC_E_OK;
    if (!*ok)
        return lsspi_push_failure(L, st, &err);
    lua_pushlstring(L, (const char *)blob.data, blob.length);
    sspi_buffer_release(&alloc, &blob);
    return 1;
}

/***
 * ExportSecurityContext: the complete context as a string another process
 * turns back into a context with sspi.import_context.  The context is
 * moved: afterwards this one is closed.  The blob holds the session keys:
 * keep it as secret as they are (built-in NTLM: its RC4 states too).
 * Kerberos (gssapi), built-in NTLM and built-in Negotiate export; other
 * packages answer nil, err, "SEC_E_UNSUPPORTED_FUNCTION".
 * @function context:export
 * @treturn string|nil the blob
 * @treturn sspi.error
 * @treturn string status name
 */
static int context_export(lua_State *L)
{
    lsspi_context *h = lsspi_context_check(L, 1);
    int ok, n;
    n = push_export(L, lsspi_context_ready(L, h), NULL, &ok);
    if (ok) { /* moved: this one is closed */
        sspi_context_free(&h->ctx);
        h->cred = NULL;
    }
    return n;
}

/***
 * The credential as a string sspi.import_credential turns back into a
 * credential in another process (Kerberos: its tickets, so it is a secret).
 * The credential stays usable.
 * @function credential:export
 * @treturn string|nil the blob
 * @treturn sspi.error
 * @treturn string status name
 */
static int credential_export(lua_State *L)
{
    int ok;
    return push_export(L, NULL, lsspi_credential_check(L, 1)->cred, &ok);
}

/* A closed credential userdata (filled by the caller). */
static lsspi_credential *new_credential(lua_State *L)
{
    lsspi_credential *c = lua_newuserdatauv(L, sizeof *c, 1);
    memset(c, 0, sizeof *c);
    luaL_setmetatable(L, LSSPI_CREDENTIAL);
    return c;
}

/***
 * ImportSecurityContext: a context exported by ctx:export (in this process
 * or another), complete and ready for the message functions, its sequence
 * numbers where the exporter left them.  A truncated, extended or edited
 * blob, or one of another version, is nil, err, "SEC_E_INVALID_TOKEN".
 * @function import_context
 * @tparam string blob
 * @treturn sspi.context|nil
 * @treturn sspi.error
 * @treturn string status name
 */
static int l_import_context(lua_State *L)
{
    size_t len;
    const char *blob = luaL_checklstring(L, 1, &len);
    sspi_allocator alloc;
    lsspi_credential *c;
    lsspi_context *h;
    sspi_error err;
    sspi_status st;
    c = new_credential(L); /* the context's credential, kept by its user value */
    h = lua_newuserdatauv(L, sizeof *h, 1);
    memset(h, 0, sizeof *h);
    luaL_setmetatable(L, LSSPI_CONTEXT);
    lua_pushvalue(L, -2);
    lua_setiuservalue(L, -2, 1);
    alloc.fn = lua_getallocf(L, &alloc.ud);
    sspi_error_clear(&err);
    st = sspi_context_import((const unsigned char *)blob, len, &alloc, &h->ctx, &err);
    if (st != SEC_E_OK)
        return lsspi_push_failure(L, st, &err);
    c->cred = sspi_context_credential(h->ctx);
    sspi_credential_addref(c->cred);
    h->cred = c->cred;
    return 1;
}

/***
 * A credential exported by cred:export.  A damaged blob is nil, err,
 * "SEC_E_INVALID_TOKEN".
 * @function import_credential
 * @tparam string blob
 * @treturn sspi.credential|nil
 * @treturn sspi.error
 * @treturn string status name
 */
static int l_import_credential(lua_State *L)
{
    size_t len;
    const char *blob = luaL_checklstring(L, 1, &len);
    sspi_allocator alloc;
    lsspi_credential *c = new_credential(L);
    sspi_error err;
    sspi_status st;
    alloc.fn = lua_getallocf(L, &alloc.ud);
    sspi_error_clear(&err);
    st = sspi_credential_import((const unsigned char *)blob, len, &alloc, &c->cred, &err);
    if (st != SEC_E_OK)
        return lsspi_push_failure(L, st, &err);
    return 1;
}

const luaL_Reg lsspi_context_transfer_methods[] = {
    {"export", context_export},
    {NULL, NULL},
};

const luaL_Reg lsspi_credential_transfer_methods[] = {
    {"export", credential_export},
    {NULL, NULL},
};

const luaL_Reg lsspi_transfer_functions[] = {
    {"import_context", l_import_context},
    {"import_credential", l_import_credential},
    {NULL, NULL},
};
