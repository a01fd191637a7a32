/*
 * lsspi_context_message.c - the message functions of a complete context:
 * SSPI's on SecBuffer lists (encrypt_message, decrypt_message,
 * make_signature, verify_signature) and the plain-string hot path (wrap,
 * unwrap, sign, verify), whose output is pushed straight from the core's
 * pointer (valid until the context's next call) with no other copy.
 */

/***
 * The message functions of sspi.context, part of the module `sspi`.
 * @module sspi
 */

/***
 * (continued)
 * @type sspi.context
 */
#include <string.h>

#include "lsspi.h"

static uint32_t opt_u32(lua_State *L, int arg, const char *what)
{
    lua_Integer v = luaL_optinteger(L, arg, 0);
    if (v < 0 || v > (lua_Integer)UINT32_MAX)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s out of 32-bit range", what));
    return (uint32_t)v;
}

/* Pushes the buffer list (owners table) and the qop: 2 results. */
static int push_message_result(lua_State *L, lsspi_buflist *bl, uint32_t qop)
{
    lua_pushvalue(L, bl->owners);
    lua_pushinteger(L, (lua_Integer)qop);
    return 2;
}

/* A non-Ok outcome of a message function: nil, err, status, where err
 * carries what a stream package (Schannel) says beside the status:
 * `missing` (SEC_E_INCOMPLETE_MESSAGE: bytes still needed) and `extra`
 * (SEC_I_RENEGOTIATE: the post-handshake record(s) to step with). */
static int push_message_failure(lua_State *L, sspi_status st, const sspi_error *err,
                                const unsigned char *extra, size_t extra_len)
{
    lua_pushnil(L);
    lsspi_push_error(L, st, err);
    if (st == SEC_E_INCOMPLETE_MESSAGE) {
        lua_pushinteger(L, (lua_Integer)err->missing);
        lua_setfield(L, -2, "missing");
    }
    if (extra && extra_len > 0) {
        lua_pushlstring(L, (const char *)extra, extra_len);
        lua_setfield(L, -2, "extra");
    }
    lua_pushstring(L, sspi_status_name(st));
    return 3;
}

/* The four SecBuffer-list message functions differ only in the core call
 * and in whether they take a qop (the protecting ones) before seqno. */
typedef enum message_op {
    MESSAGE_ENCRYPT,
    MESSAGE_DECRYPT,
    MESSAGE_SIGN,
    MESSAGE_VERIFY
} message_op;

static int message_call(lua_State *L, message_op op)
{
    const int protect = op == MESSAGE_ENCRYPT || op == MESSAGE_SIGN;
    lsspi_context *h = lsspi_context_open_handle(L, 1);
    uint32_t qop = protect ? opt_u32(L, 3, "qop") : 0;
    uint32_t seqno = opt_u32(L, protect ? 4 : 3, "seqno");
    sspi_context *ctx;
    lsspi_buflist bl;
    sspi_error err;
    sspi_status st = SEC_E_INTERNAL_ERROR;
    lua_settop(L, protect ? 4 : 3);
    lsspi_buflist_message(L, 2, 2, &bl);
    ctx = lsspi_context_ready(L, h); /* the list allocated: see lsspi_context_ready */
    sspi_error_clear(&err);
    switch (op) {
    case MESSAGE_ENCRYPT: st = sspi_encrypt_message(ctx, qop, &bl.list, seqno, &err); break;
    case MESSAGE_DECRYPT: st = sspi_decrypt_message(ctx, &bl.list, seqno, &qop, &err); break;
    case MESSAGE_SIGN: st = sspi_make_signature(ctx, qop, &bl.list, seqno, &err); break;
    case MESSAGE_VERIFY: st = sspi_verify_signature(ctx, &bl.list, seqno, &qop, &err); break;
    }
    lsspi_buflist_sync(L, &bl);
    if (st != SEC_E_OK) {
        /* SEC_I_RENEGOTIATE: the record(s) came back in the EXTRA buffer. */
        const sspi_buffer *extra = st == SEC_I_RENEGOTIATE
                                       ? sspi_buffer_list_find(&bl.list, SECBUFFER_EXTRA)
                                       : NULL;
        return push_message_failure(L, st, &err, extra ? extra->data : NULL,
                                    extra ? extra->length : 0);
    }
    return push_message_result(L, &bl, qop);
}

/***
 * EncryptMessage, in place.  Items of the list: sspi.buffer objects
 * (modified in place), strings (copied into a new SECBUFFER_DATA buffer),
 * or {type, data_or_size [, flags]} tables (a new buffer, as sspi.buffer
 * would make).  A typical list: {{sspi.SECBUFFER_TOKEN, sizes.security_trailer},
 * "plaintext", {sspi.SECBUFFER_PADDING, sizes.block_size}}.
 * @function context:encrypt_message
 * @tparam {sspi.buffer|string|table,...} buffers
 * @tparam[opt=0] integer qop sspi.SECQOP_WRAP_NO_ENCRYPT signs only
 * @tparam[opt=0] integer seqno
 * @treturn {sspi.buffer,...}|nil the buffers, in order (new ones for strings and tables)
 * @treturn integer|sspi.error the qop, or the error
 * @treturn[opt] string status name, on failure
 */
static int context_encrypt_message(lua_State *L)
{
    return message_call(L, MESSAGE_ENCRYPT);
}

/***
 * DecryptMessage, in place (buffers as for encrypt_message).
 * @function context:decrypt_message
 * @tparam {sspi.buffer|string|table,...} buffers
 * @tparam[opt=0] integer seqno
 * @treturn {sspi.buffer,...}|nil the buffers
 * @treturn integer|sspi.error the qop the sender used, or the error
 * @treturn[opt] string status name, on failure
 */
static int context_decrypt_message(lua_State *L)
{
    return message_call(L, MESSAGE_DECRYPT);
}

/***
 * MakeSignature (buffers as for encrypt_message; the signature goes into
 * the SECBUFFER_TOKEN).
 * @function context:make_signature
 * @tparam {sspi.buffer|string|table,...} buffers
 * @tparam[opt=0] integer qop
 * @tparam[opt=0] integer seqno
 * @treturn {sspi.buffer,...}|nil the buffers
 * @treturn integer|sspi.error the qop, or the error
 * @treturn[opt] string status name, on failure
 */
static int context_make_signature(lua_State *L)
{
    return message_call(L, MESSAGE_SIGN);
}

/***
 * VerifySignature (buffers as for encrypt_message).
 * @function context:verify_signature
 * @tparam {sspi.buffer|string|table,...} buffers
 * @tparam[opt=0] integer seqno
 * @treturn {sspi.buffer,...}|nil the buffers
 * @treturn integer|sspi.error the qop, or the error
 * @treturn[opt] string status name, on failure
 */
static int context_verify_signature(lua_State *L)
{
    return message_call(L, MESSAGE_VERIFY);
}

/* From this size on, a stream package's first record becomes the Lua
 * string while OpenSSL writes it (wrap_stream): the copy saved is then worth
 * more than the protected call that makes the string. */
#define WRAP_STREAM_MIN 4096

/* The piece a sink is offered, for the protected call that makes it a string. */
typedef struct piece {
    const unsigned char *data;
    size_t len;
} piece;

static int push_piece(lua_State *L)
{
    const piece *p = lua_touserdata(L, 1);
    lua_pushlstring(L, (const char *)p->data, p->len);
    return 1;
}

/* The sink of wrap_stream: the record as a Lua string on top of the stack.
 * Making it may raise (no memory) or run Lua (a finalizer, a call hook), so
 * it runs protected: nothing may unwind through OpenSSL.  An error stays on
 * the stack, to be raised once the package has returned; the record is
 * then in no output, and the package fails the connection. */
static int take_piece(void *ud, const unsigned char *data, size_t len)
{
    lua_State *L = ud;
    piece p;
    p.data = data;
    p.len = len;
    /* No lua_checkstack: wrap's frame has LUA_MINSTACK (20) free slots
     * past its arguments, and wrap pushes nothing before these two. */
    lua_pushcfunction(L, push_piece);
    lua_pushlightuserdata(L, &p);
    return lua_pcall(L, 1, 1, 0) == LUA_OK ? 0 : -1;
}

/* wrap on a stream package, large data: the first record straight from
 * OpenSSL's buffer to a Lua string, then whatever followed it. */
static int wrap_stream(lua_State *L, lsspi_context *h, const char *data, size_t len)
{
    sspi_output_sink sink;
    sspi_wrap_result r;
    sspi_error err;
    sspi_status st;
    int top = lua_gettop(L);
    sink.take = take_piece;
    sink.ud = L;
    sspi_error_clear(&err);
    /* Lua code the sink runs (a finalizer, a hook) must not use this
     * context while OpenSSL is inside it. */
    h->busy = 1;
    st = sspi_wrap_stream(h->ctx, (const unsigned char *)data, len, &sink, &r, &err);
    h->busy = 0;
    if (lua_gettop(L) > top && !r.taken)
        return lua_error(L); /* the sink's, as lua_pushlstring or the hook would raise it */
    if (st != SEC_E_OK) {
        lua_settop(L, top);
        return lsspi_push_failure(L, st, &err);
    }
    if (!r.taken) {
        lua_pushlstring(L, (const char *)r.data, r.data ? r.len : 0);
    } else if (r.len > 0) {
        lua_pushlstring(L, (const char *)r.data, r.len);
        lua_concat(L, 2);
    }
    return 1;
}

/***
 * Wraps a message: the bytes of gss_wrap of the same mechanism.
 * @function context:wrap
 * @tparam string data
 * @tparam[opt] table opts {encrypt = boolean} (default true: sealed;
 *   false: integrity only)
 * @treturn string|nil the message
 * @treturn sspi.error
 * @treturn string status name
 */
static int context_wrap(lua_State *L)
{
    static const char *const known[] = {"encrypt", NULL};
    lsspi_context *h = lsspi_context_open_handle(L, 1);
    sspi_context *ctx;
    size_t len, out_len = 0;
    const char *data = luaL_checklstring(L, 2, &len);
    const unsigned char *out = NULL;
    const sspi_package_info *pkg;
    int encrypt = 1;
    sspi_error err;
    sspi_status st;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lsspi_check_option_keys(L, 3, 3, known);
        encrypt = lsspi_opt_boolean(L, 3, 3, "encrypt", 1);
    }
    ctx = lsspi_context_ready(L, h); /* after the conversions: see lsspi_context_ready */
    pkg = sspi_context_package(ctx);
    if (encrypt && len >= WRAP_STREAM_MIN && pkg && (pkg->capabilities & SECPKG_FLAG_STREAM))
        return wrap_stream(L, h, data, len);
    sspi_error_clear(&err);
    st = sspi_wrap(ctx, encrypt, (const unsigned char *)data, len, &out, &out_len, &err);
    if (st != SEC_E_OK)
        return lsspi_push_failure(L, st, &err);
    lua_pushlstring(L, (const char *)out, out ? out_len : 0);
    return 1;
}

/* unwrap on a stream package: the whole records at the start. */
static int unwrap_stream(lua_State *L, sspi_context *ctx, const char *msg, size_t len)
{
    sspi_unwrap_result r;
    sspi_error err;
    sspi_status st;
    sspi_error_clear(&err);
    st = sspi_unwrap_stream(ctx, (const unsigned char *)msg, len, &r, &err);
    if (st != SEC_E_OK)
        return push_message_failure(L, st, &err,
                                    st == SEC_I_RENEGOTIATE ? (const unsigned char *)msg + r.consumed
                                                            : NULL,
                                    len - r.consumed);
    lua_pushlstring(L, (const char *)r.data, r.data ? r.len : 0);
    if (r.consumed < len)
        lua_pushlstring(L, msg + r.consumed, len - r.consumed);
    else
        lua_pushnil(L);
    return 2;
}

/***
 * Unwraps a message made by wrap or gss_wrap.  On a stream package
 * (Schannel) the message is bytes received: the whole TLS records at its
 * start are decrypted, and the second result is what is left over (the
 * start of the next record), or nil; non-Ok outcomes are nil, err, status
 * with "SEC_E_INCOMPLETE_MESSAGE" (err.missing: bytes still needed),
 * "SEC_I_RENEGOTIATE" (err.extra: the post-handshake record(s); step with
 * them, then go on with the step's extra) and "SEC_I_CONTEXT_EXPIRED" (the
 * peer sent close_notify).
 * @function context:unwrap
 * @tparam string message
 * @treturn string|nil the data
 * @treturn boolean|string|sspi.error whether it was encrypted (Schannel:
 *   the bytes left over), or the error
 * @treturn[opt] string status name, on failure
 */
static int context_unwrap(lua_State *L)
{
    lsspi_context *h = lsspi_context_open_handle(L, 1);
    size_t len, out_len = 0;
    const char *msg = luaL_checklstring(L, 2, &len);
    sspi_context *ctx = lsspi_context_ready(L, h); /* after the conversion */
    const unsigned char *out = NULL;
    int encrypted = 0;
    sspi_error err;
    sspi_status st;
    const sspi_package_info *pkg = sspi_context_package(ctx);
    if (pkg && (pkg->capabilities & SECPKG_FLAG_STREAM))
        return unwrap_stream(L, ctx, msg, len);
    sspi_error_clear(&err);
    st = sspi_unwrap(ctx, (const unsigned char *)msg, len, &out, &out_len, &encrypted, &err);
    if (!SSPI_SUCCESS(st))
        return lsspi_push_failure(L, st, &err);
    lua_pushlstring(L, (const char *)out, out ? out_len : 0);
    lua_pushboolean(L, encrypted);
    return 2;
}

/***
 * A MIC over data: the bytes of gss_get_mic of the same mechanism.
 * @function context:sign
 * @tparam string data
 * @treturn string|nil the MIC
 * @treturn sspi.error
 * @treturn string status name
 */
static int context_sign(lua_State *L)
{
    lsspi_context *h = lsspi_context_open_handle(L, 1);
    size_t len, mic_len = 0;
    const char *data = luaL_checklstring(L, 2, &len);
    sspi_context *ctx = lsspi_context_ready(L, h); /* after the conversion */
    const unsigned char *mic = NULL;
    sspi_error err;
    sspi_status st;
    sspi_error_clear(&err);
    st = sspi_sign(ctx, (const unsigned char *)data, len, &mic, &mic_len, &err);
    if (!SSPI_SUCCESS(st))
        return lsspi_push_failure(L, st, &err);
    lua_pushlstring(L, (const char *)mic, mic ? mic_len : 0);
    return 1;
}

/***
 * Checks a MIC made by sign or gss_get_mic.
 * @function context:verify
 * @tparam string data
 * @tparam string mic
 * @treturn true|nil
 * @treturn sspi.error e.g. SEC_E_MESSAGE_ALTERED
 * @treturn string status name
 */
static int context_verify(lua_State *L)
{
    lsspi_context *h = lsspi_context_open_handle(L, 1);
    size_t len, mic_len;
    const char *data = luaL_checklstring(L, 2, &len);
    const char *mic = luaL_checklstring(L, 3, &mic_len);
    sspi_context *ctx = lsspi_context_ready(L, h); /* after the conversions */
    sspi_error err;
    sspi_status st;
    sspi_error_clear(&err);
    st = sspi_verify(ctx, (const unsigned char *)data, len, (const unsigned char *)mic, mic_len,
                     &err);
    if (!SSPI_SUCCESS(st))
        return lsspi_push_failure(L, st, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/***
 * ApplyControlToken.  Schannel: sspi.SCHANNEL_SHUTDOWN, after which the
 * next step (step_init / step_accept, without input) produces close_notify.
 * @function context:apply_control_token
 * @tparam integer|{sspi.buffer|string|table,...} token a token type, or
 *   the buffer list itself (a SECBUFFER_TOKEN holding the type as 4
 *   little-endian bytes)
 * @treturn true|nil
 * @treturn sspi.error
 * @treturn string status name
 */
static int context_apply_control_token(lua_State *L)
{
    lsspi_context *h = lsspi_context_open_handle(L, 1);
    sspi_context *ctx;
    sspi_buffer tok;
    sspi_buffer_list one = {1, &tok};
    const sspi_buffer_list *list = &one;
    unsigned char word[4];
    lsspi_buflist bl;
    sspi_error err;
    sspi_status st;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Integer t = luaL_checkinteger(L, 2);
        luaL_argcheck(L, t >= 0 && t <= (lua_Integer)UINT32_MAX, 2, "token type out of range");
        word[0] = (unsigned char)(t & 0xff);
        word[1] = (unsigned char)((t >> 8) & 0xff);
        word[2] = (unsigned char)((t >> 16) & 0xff);
        word[3] = (unsigned char)((t >> 24) & 0xff);
        memset(&tok, 0, sizeof tok);
        tok.type = SECBUFFER_TOKEN;
        tok.data = word;
        tok.length = tok.capacity = sizeof word;
    } else {
        lua_settop(L, 2);
        lsspi_buflist_message(L, 2, 2, &bl);
        list = &bl.list;
    }
    ctx = lsspi_context_ready(L, h); /* the list allocated: see lsspi_context_ready */
    sspi_error_clear(&err);
    st = sspi_apply_control_token(ctx, list, &err);
    if (st != SEC_E_OK)
        return lsspi_push_failure(L, st, &err);
    lua_pushboolean(L, 1);
    return 1;
}

const luaL_Reg lsspi_context_message_methods[] = {
    {"apply_control_token", context_apply_control_token},
    {"encrypt_message", context_encrypt_message},
    {"decrypt_message", context_decrypt_message},
    {"make_signature", context_make_signature},
    {"verify_signature", context_verify_signature},
    {"wrap", context_wrap},
    {"unwrap", context_unwrap},
    {"sign", context_sign},
    {"verify", context_verify},
    {NULL, NULL},
};
