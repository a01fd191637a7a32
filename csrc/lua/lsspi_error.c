/*
 * lsspi_error.c - the sspi.error object: what a security failure returns
 * (nil, err, status).  A plain table with the "sspi.error" metatable, so its
 * fields read like any record and it prints as "SEC_E_LOGON_DENIED: text".
 */

/***
 * The sspi.error object of the C part of `sspi`.
 * @module sspi
 */
#include <string.h>

#include "lsspi.h"

/***
 * A security failure.
 * Returned as the second value of `nil, err, status` by every function that
 * can fail for a reason other than a programming error (those raise).  A
 * plain table with the "sspi.error" metatable: its fields can be read,
 * copied and compared like any record.
 * @type sspi.error
 */

/***
 * Stable name of the SSPI status, e.g. "SEC_E_LOGON_DENIED" (the third
 * value of `nil, err, status` is the same string).
 * @field status
 */

/***
 * The SSPI status value, an integer such as 0x8009030C
 * (`sspi.SEC_E_LOGON_DENIED`).
 * @field code
 */

/***
 * Human text, never empty: what failed and why, including the GSSAPI
 * major/minor display text when GSSAPI produced the failure.
 * @field message
 */

/***
 * GSSAPI major status (integer), present only when GSSAPI produced the
 * failure.
 * @field major
 */

/***
 * GSSAPI minor status (integer), present only when GSSAPI produced the
 * failure.
 * @field minor
 */

/***
 * For SEC_E_BUFFER_TOO_SMALL: the bytes the output buffer needs; absent
 * otherwise.
 * @field needed
 */

/***
 * For a failed step_init / step_accept: the bytes the package wrote for the
 * peer, the data of the first output SECBUFFER_TOKEN (Schannel: the TLS
 * alert record, e.g. unknown_ca or protocol_version; send it, then close);
 * absent when there is none.
 * @field token
 */

/***
 * `tostring(err)`: "STATUS: message", e.g. "SEC_E_LOGON_DENIED: ...".  A
 * table whose status or message is no longer a string prints "sspi.error".
 * @function error:__tostring
 * @treturn string
 */

void lsspi_push_error(lua_State *L, sspi_status status, const sspi_error *err)
{
    const char *message = NULL;
    lua_createtable(L, 0, 6);
    lua_pushstring(L, sspi_status_name(status));
    lua_setfield(L, -2, "status");
    lua_pushinteger(L, (lua_Integer)status);
    lua_setfield(L, -2, "code");
    if (err && err->message[0] != '\0') {
        /* The core NUL-terminates; bound the read anyway. */
        lua_pushlstring(L, err->message, strnlen(err->message, sizeof err->message));
    } else {
        const sspi_status_info *row = sspi_status_lookup(status);
        message = row ? row->message : "unknown status";
        lua_pushstring(L, message);
    }
    lua_setfield(L, -2, "message");
    if (err && err->has_gss) {
        lua_pushinteger(L, (lua_Integer)err->major);
        lua_setfield(L, -2, "major");
        lua_pushinteger(L, (lua_Integer)err->minor);
        lua_setfield(L, -2, "minor");
    }
    if (err && err->needed > 0) {
        lua_pushinteger(L, (lua_Integer)err->needed);
        lua_setfield(L, -2, "needed");
    }
    luaL_setmetatable(L, LSSPI_ERROR);
}

int lsspi_push_failure(lua_State *L, sspi_status status, const sspi_error *err)
{
    lua_pushnil(L);
    lsspi_push_error(L, status, err);
    lua_pushstring(L, sspi_status_name(status));
    return 3;
}

/* "SEC_E_LOGON_DENIED: message"; tolerant of fields the user changed. */
static int error_tostring(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "status");
    lua_getfield(L, 1, "message");
    if (lua_type(L, 2) != LUA_TSTRING || lua_type(L, 3) != LUA_TSTRING) {
        lua_pushliteral(L, "sspi.error");
        return 1;
    }
    lua_pushfstring(L, "%s: %s", lua_tostring(L, 2), lua_tostring(L, 3));
    return 1;
}

void lsspi_open_error(lua_State *L)
{
    luaL_newmetatable(L, LSSPI_ERROR);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
}
