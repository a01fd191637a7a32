/*
 * lsspi_context.c - the sspi.context class (New-SecContext): its life
 * cycle and the handshake steps (Step-InitSecContext,
 * Step-AcceptSecContext, CompleteAuthToken).  Queries and the message
 * functions are in lsspi_context_query.c and lsspi_context_message.c.
 */

/***
 * sspi.context, part of the module `sspi`.
 * @module sspi
 */
#include <string.h>

#include "lsspi.h"

lsspi_context *lsspi_context_check(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, LSSPI_CONTEXT);
}

/* Open, possibly busy: for what only reads the state (state, is_initiator,
 * package), which a lookup function may ask about its own context. */
static sspi_context *context_peek(lua_State *L, int idx)
{
    lsspi_context *h = luaL_checkudata(L, idx, LSSPI_CONTEXT);
    if (h->ctx == NULL)
        luaL_error(L, "attempt to use a closed " LSSPI_CONTEXT);
    return h->ctx;
}

sspi_context *lsspi_context_ready(lua_State *L, lsspi_context *h)
{
    if (h->ctx == NULL)
        luaL_error(L, "attempt to use a closed " LSSPI_CONTEXT);
    if (h->busy)
        luaL_error(L, "attempt to use a " LSSPI_CONTEXT " inside its own step");
    return h->ctx;
}

lsspi_context *lsspi_context_open_handle(lua_State *L, int idx)
{
    /* one type check, not a second one in context_peek: this is on every message call */
    lsspi_context *h = luaL_checkudata(L, idx, LSSPI_CONTEXT);
    lsspi_context_ready(L, h);
    return h;
}

void lsspi_push_package_info(lua_State *L, const sspi_package_info *info)
{
    lua_createtable(L, 0, 7);
    if (info == NULL)
        return;
    lua_pushstring(L, info->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, info->comment);
    lua_setfield(L, -2, "comment");
    lua_pushstring(L, info->backend);
    lua_setfield(L, -2, "backend");
    lua_pushinteger(L, (lua_Integer)info->capabilities);
    lua_setfield(L, -2, "capabilities");
    lua_pushinteger(L, (lua_Integer)info->version);
    lua_setfield(L, -2, "version");
    lua_pushinteger(L, (lua_Integer)info->rpcid);
    lua_setfield(L, -2, "rpcid");
    lua_pushinteger(L, (lua_Integer)info->max_token);
    lua_setfield(L, -2, "max_token");
}

/***
 * A new security context on a credential (New-SecContext).  The context
 * keeps its credential alive (closing the credential does not affect it).
 * @function context
 * @tparam sspi.credential cred
 * @treturn sspi.context|nil
 * @treturn sspi.error
 * @treturn string status name
 */
static int l_context(lua_State *L)
{
    lsspi_credential *c = lsspi_credential_check(L, 1);
    lsspi_context *h;
    sspi_error err;
    sspi_status st;
    h = lua_newuserdatauv(L, sizeof *h, 1);
    h->ctx = NULL;
    h->cred = NULL;
    h->busy = 0;
    luaL_setmetatable(L, LSSPI_CONTEXT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    sspi_error_clear(&err);
    st = sspi_context_new(c->cred, &h->ctx, &err);
    if (st != SEC_E_OK) {
        h->ctx = NULL;
        return lsspi_push_failure(L, st, &err);
    }
    h->cred = c->cred;
    return 1;
}

/* res.result: the outcomes a caller acts on, else the status's name. */
static const sspi_flag_info results[] = {
    {"Ok", SEC_E_OK}, {"ContinueNeeded", SEC_I_CONTINUE_NEEDED},
    {"CompleteNeeded", SEC_I_COMPLETE_NEEDED}, {"CompleteAndContinue", SEC_I_COMPLETE_AND_CONTINUE},
    {"IncompleteMessage", SEC_E_INCOMPLETE_MESSAGE},
    {"IncompleteCredentials", SEC_I_INCOMPLETE_CREDENTIALS},
    {"IncompleteCredentials", SEC_E_INCOMPLETE_CREDENTIALS},
    {NULL, 0},
};

/* Sets field "token" of the table on top to the data of the first output
 * SECBUFFER_TOKEN (buffers: the owners table's index), when not empty. */
static void set_token_field(lua_State *L, int buffers)
{
    lua_Integer i, n = (lua_Integer)lua_rawlen(L, buffers);
    for (i = 1; i <= n; i++) {
        lsspi_buffer *b;
        lua_rawgeti(L, buffers, i);
        b = lua_touserdata(L, -1);
        if (SSPI_BUFFER_BASE_TYPE(b->buf.type) == SECBUFFER_TOKEN) {
            if (b->buf.length > 0) {
                lua_pushlstring(L, (const char *)b->buf.data, b->buf.length);
                lua_setfield(L, -3, "token");
            }
            lua_pop(L, 1);
            return;
        }
        lua_pop(L, 1);
    }
}

/* Pushes the step's result table; buffers is the owners table's index. */
static int push_step_result(lua_State *L, sspi_status st, const sspi_step_result *res, int buffers)
{
    lua_createtable(L, 0, 6);
    lua_pushstring(L, lsspi_name_of(results, st, sspi_status_name(st)));
    lua_setfield(L, -2, "result");
    lua_pushstring(L, sspi_status_name(st));
    lua_setfield(L, -2, "status");
    lua_pushvalue(L, buffers);
    lua_setfield(L, -2, "buffers");
    set_token_field(L, buffers);
    lua_pushinteger(L, (lua_Integer)res->flags);
    lua_setfield(L, -2, "flags");
    if (st == SEC_E_INCOMPLETE_MESSAGE) {
        lua_pushinteger(L, (lua_Integer)res->missing);
        lua_setfield(L, -2, "missing");
    }
    if (res->extra_len > 0) {
        lua_pushlstring(L, (const char *)res->extra, res->extra_len);
        lua_setfield(L, -2, "extra");
    }
    if (res->expiry != 0) {
        lua_pushinteger(L, (lua_Integer)res->expiry);
        lua_setfield(L, -2, "expiry");
    }
    return 1;
}

/* Pushes opts[key] (raw, like the option key check) and returns its type. */
static int opt_raw(lua_State *L, const char *key)
{
    lua_pushstring(L, key);
    return lua_rawget(L, 2);
}

/* target_data_rep: an integer, or the constant's name (PSSPI accepts
 * "SECURITY_NATIVE_DREP" / "SECURITY_NETWORK_DREP"); default native. */
static uint32_t check_data_rep(lua_State *L)
{
    lua_Integer rep = SECURITY_NATIVE_DREP;
    if (opt_raw(L, "target_data_rep") == LUA_TSTRING) {
        const char *name = lua_tostring(L, -1);
        if (strcmp(name, "SECURITY_NATIVE_DREP") == 0)
            rep = SECURITY_NATIVE_DREP;
        else if (strcmp(name, "SECURITY_NETWORK_DREP") == 0)
            rep = SECURITY_NETWORK_DREP;
        else
            lsspi_opt_error(L, 2, "target_data_rep",
                            lua_pushfstring(L, "unknown name '%s' (SECURITY_NATIVE_DREP or "
                                               "SECURITY_NETWORK_DREP expected)", name));
        lua_pop(L, 1);
        return (uint32_t)rep;
    }
    lua_pop(L, 1);
    if (lsspi_opt_integer(L, 2, 2, "target_data_rep", 0, UINT32_MAX, &rep) &&
        rep != SECURITY_NATIVE_DREP && rep != SECURITY_NETWORK_DREP)
        lsspi_opt_error(L, 2, "target_data_rep",
                        lua_pushfstring(L, "%I is neither SECURITY_NATIVE_DREP (16) nor "
                                           "SECURITY_NETWORK_DREP (0)", rep));
    return (uint32_t)rep;
}

/* The common body of step_init (initiator = 1) and step_accept (0). */
static int step(lua_State *L, int initiator)
{
    static const char *const init_keys[] = {"target", "context_req", "input", "output",
                                            "target_data_rep", "credential", NULL};
    static const char *const accept_keys[] = {"context_req", "input", "output",
                                              "target_data_rep", "credential", NULL};
    lsspi_context *h = lsspi_context_check(L, 1);
    sspi_step_args args;
    sspi_step_result res;
    sspi_error err;
    sspi_status st;
    lsspi_buflist in, out;
    lsspi_lookup_call call;
    lsspi_credential *c;
    int only_types, side, cred_idx;

    lsspi_context_ready(L, h);
    if (lua_isnoneornil(L, 2)) {
        lua_settop(L, 1);
        lua_newtable(L);
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lsspi_check_option_keys(L, 2, 2, initiator ? init_keys : accept_keys);
    lsspi_context_ready(L, h); /* lua_newtable may have run a finalizer that closed it */

    /* Impossible transitions are programming errors; a failed context is
     * the core's to refuse (SEC_E_INVALID_HANDLE, returned). */
    if (sspi_context_get_state(h->ctx) == SSPI_CTX_COMPLETE &&
        !sspi_context_steps_after_complete(h->ctx))
        return luaL_error(L, "%s on a complete " LSSPI_CONTEXT,
                          initiator ? "step_init" : "step_accept");
    if (sspi_context_get_state(h->ctx) == SSPI_CTX_COMPLETE_NEEDED)
        return luaL_error(L, "%s on a " LSSPI_CONTEXT " waiting for complete_auth_token",
                          initiator ? "step_init" : "step_accept");
    side = sspi_context_is_initiator(h->ctx);
    if (side != -1 && side != initiator)
        return luaL_error(L, "%s on an %s " LSSPI_CONTEXT, initiator ? "step_init" : "step_accept",
                          side ? "initiator" : "acceptor");

    memset(&args, 0, sizeof args);
    if (initiator)
        args.target = lsspi_opt_string(L, 2, 2, "target", NULL);
    if (opt_raw(L, "context_req") != LUA_TNIL)
        args.context_req = lsspi_check_flags(L, -1, 2, "context_req",
                                             initiator ? SSPI_FLAGS_ISC_REQ : SSPI_FLAGS_ASC_REQ);
    lua_pop(L, 1);
    args.target_data_rep = check_data_rep(L);
    if (opt_raw(L, "credential") != LUA_TNIL) {
        /* Another credential for this step (kept alive by the options table). */
        lsspi_credential *nc = luaL_testudata(L, -1, LSSPI_CREDENTIAL);
        if (nc == NULL)
            lsspi_opt_error(L, 2, "credential",
                            lua_pushfstring(L, LSSPI_CREDENTIAL " expected, got %s",
                                            luaL_typename(L, -1)));
        if (nc->cred == NULL)
            lsspi_opt_error(L, 2, "credential", "the " LSSPI_CREDENTIAL " is closed");
        args.credential = nc->cred;
    }
    lua_pop(L, 1);

    /* Input strings stay alive in the options table (slot 2). */
    opt_raw(L, "input");
    lsspi_buflist_input(L, -1, 2, "input", &in);
    opt_raw(L, "output");
    lsspi_buflist_output(L, -1, 2, "output", &out, &only_types);
    if (only_types) {
        /* ISC_REQ_ALLOCATE_MEMORY and ASC_REQ_ALLOCATE_MEMORY share a value. */
        args.context_req |= initiator ? ISC_REQ_ALLOCATE_MEMORY : ASC_REQ_ALLOCATE_MEMORY;
    }
    args.input = in.list.count ? &in.list : NULL;
    args.output = &out.list;

    lua_getiuservalue(L, 1, 1);
    cred_idx = lua_gettop(L);
    c = lua_touserdata(L, cred_idx);
    if (c->has_lookup) {
        /* Per call: the credential itself is never written. */
        call.L = L;
        call.cred_idx = cred_idx;
        args.lookup = lsspi_lookup_callback;
        args.lookup_ud = &call;
    }
    /* The buffer lists allocated: a finalizer may have closed the context. */
    lsspi_context_ready(L, h);
    memset(&res, 0, sizeof res);
    sspi_error_clear(&err);
    /* From here to the sync nothing may raise: the core may hand back
     * memory that only the output userdata will own. */
    h->busy = 1;
    st = initiator ? sspi_init_step(h->ctx, &args, &res, &err)
                   : sspi_accept_step(h->ctx, &args, &res, &err);
    h->busy = 0;
    lsspi_buflist_sync(L, &out);

    /* Retryable statuses are results: the context is as it was. */
    if (!SSPI_SUCCESS(st) && !sspi_status_retryable(st)) {
        /* nil, err, status; err.token: the alert to send to the peer */
        int nret = lsspi_push_failure(L, st, &err);
        lua_pushvalue(L, -2);
        set_token_field(L, out.owners);
        lua_pop(L, 1);
        return nret;
    }
    return push_step_result(L, st, &res, out.owners);
}

/***
 * A security context (a CtxtHandle).  `tostring(ctx)` reads
 * "sspi.context (Kerberos, complete)" (states: new, in_progress, complete,
 * failed) or "sspi.context (closed)"; any use of a closed context but close
 * and tostring raises "attempt to use a closed sspi.context".  The message
 * functions (below) need a complete context and queries a stepped one:
 * before that they return nil, err, "SEC_E_INVALID_HANDLE".
 * @type sspi.context
 */

/***
 * The package of the credential ("Kerberos", "NTLM", "Negotiate"); for
 * query("package_info") the package actually in use (Negotiate's inner one).
 * @field package
 */

/***
 * The implementation: "gssapi" or "builtin".
 * @field backend
 */

/***
 * One step of the initiator (Step-InitSecContext / InitializeSecurityContext).
 * Call it first without input, then with each token the acceptor sends,
 * until the result is "Ok".
 *
 * Options (unknown keys raise):
 *
 * - target: string, the SPN ("HTTP/web.example.test", "host/localhost") or a
 *   principal name;
 * - context_req: an integer mask of ISC_REQ flags, a flag name
 *   ("ISC_REQ_MUTUAL_AUTH", or "MUTUAL_AUTH" without the prefix, "NONE"),
 *   or a list of names and integers;
 * - input: a string (one SECBUFFER_TOKEN, read in place), an sspi.buffer, a
 *   SECBUFFER type integer (an empty buffer of that type), or a list of
 *   these (e.g. {token, channel_bindings_buffer});
 * - output: default {sspi.SECBUFFER_TOKEN}.  Type integers ask the package
 *   to allocate (ISC_REQ_ALLOCATE_MEMORY is added when the list holds only
 *   types); preallocated sspi.buffer objects are written in place;
 * - target_data_rep: default sspi.SECURITY_NATIVE_DREP; the constant or its
 *   name "SECURITY_NATIVE_DREP" / "SECURITY_NETWORK_DREP";
 * - credential: another sspi.credential of the same package for this step
 *   (InitializeSecurityContext's credential handle): after
 *   "IncompleteCredentials", a Schannel client steps again with a
 *   credential that holds its client certificate.  The context keeps its
 *   own credential.
 *
 * Raises for programming errors (unknown option or flag name, wrong types,
 * a step on a complete context, step_init on an acceptor context).  Returns
 * nil, err, status for a security failure, including SEC_E_BUFFER_TOO_SMALL
 * when a preallocated output buffer is too small (err.needed: the bytes
 * needed; call the same step again with a larger buffer) and
 * SEC_E_INVALID_HANDLE for a step on a failed context.  A failed Schannel
 * step leaves err.token: the TLS alert record for the peer (send it before
 * closing, as Windows' callers send the alert a failed step writes).
 * @function context:step_init
 * @tparam[opt] table opts target, context_req, input, output, target_data_rep,
 *   credential
 * Retryable results are not failures and leave the context exactly as it
 * was: "IncompleteMessage" (res.missing: the bytes still needed; call
 * again with the same input plus more) and "IncompleteCredentials".
 * After "CompleteNeeded" / "CompleteAndContinue" a step raises until
 * context:complete_auth_token.
 * @treturn table {result = "Ok" | "ContinueNeeded" | "CompleteNeeded" |
 *   "CompleteAndContinue" | "IncompleteMessage" | "IncompleteCredentials",
 *   status = the status name ("SEC_E_OK", "SEC_I_CONTINUE_NEEDED" ...),
 *   buffers = {sspi.buffer, ...} (the output buffers), token = the data of
 *   the first output SECBUFFER_TOKEN (nil when empty), extra = the input
 *   bytes not consumed (nil when none), missing = bytes still needed (with
 *   "IncompleteMessage"), flags = the ISC_RET mask, expiry = Unix time or nil}
 * @treturn[2] nil
 * @treturn[2] sspi.error
 * @treturn[2] string status name
 * @usage local res = assert(ctx:step_init{ target = "host/localhost",
 *   context_req = { "MUTUAL_AUTH", "CONFIDENTIALITY" } })
 * send(res.token)
 */
static int context_step_init(lua_State *L)
{
    return step(L, 1);
}

/***
 * One step of the acceptor (Step-AcceptSecContext / AcceptSecurityContext).
 * As step_init, with ASC_REQ flags in context_req and no target (a target
 * key raises); flags in the result are ASC_RET flags.  A built-in Negotiate
 * acceptor may be stepped first without input: it then speaks first
 * (NegTokenInit2).
 * @function context:step_accept
 * @tparam[opt] table opts context_req, input, output, target_data_rep
 * @treturn table as for step_init
 * @treturn[2] nil
 * @treturn[2] sspi.error
 * @treturn[2] string status name
 * @usage local res, err, status = ctx:step_accept{ input = token }
 */
static int context_step_accept(lua_State *L)
{
    return step(L, 0);
}

/***
 * CompleteAuthToken, after a step returned "CompleteNeeded" or
 * "CompleteAndContinue" (the context is then "complete_needed"; after it
 * "complete" or "in_progress").  On a context with no completion pending
 * it returns nil, err, "SEC_E_INVALID_HANDLE" and changes nothing.
 * @function context:complete_auth_token
 * @tparam {sspi.buffer|string|table,...} buffers as for context:encrypt_message
 * @treturn true|nil
 * @treturn sspi.error
 * @treturn string status name
 */
static int context_complete_auth_token(lua_State *L)
{
    lsspi_context *h = lsspi_context_open_handle(L, 1);
    sspi_context *ctx;
    lsspi_buflist bl;
    sspi_error err;
    sspi_status st;
    lua_settop(L, 2);
    lsspi_buflist_message(L, 2, 2, &bl);
    ctx = lsspi_context_ready(L, h); /* the list allocated: see lsspi_context_ready */
    sspi_error_clear(&err);
    st = sspi_complete_auth_token(ctx, &bl.list, &err);
    lsspi_buflist_sync(L, &bl);
    if (!SSPI_SUCCESS(st))
        return lsspi_push_failure(L, st, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static const sspi_flag_info states[] = {
    {"new", SSPI_CTX_NEW}, {"in_progress", SSPI_CTX_IN_PROGRESS}, {"complete", SSPI_CTX_COMPLETE},
    {"failed", SSPI_CTX_FAILED}, {"complete_needed", SSPI_CTX_COMPLETE_NEEDED},
    {NULL, 0},
};

static const char *state_name(sspi_context_state s)
{
    return lsspi_name_of(states, (uint32_t)s, "unknown");
}

/***
 * Where the handshake is.
 * @function context:state
 * @treturn string "new" | "in_progress" | "complete_needed" | "complete" | "failed"
 */
static int context_state(lua_State *L)
{
    lua_pushstring(L, state_name(sspi_context_get_state(context_peek(L, 1))));
    return 1;
}

/***
 * Whether this side initiated.
 * @function context:is_initiator
 * @treturn boolean|nil nil before the first step
 */
static int context_is_initiator(lua_State *L)
{
    int side = sspi_context_is_initiator(context_peek(L, 1));
    if (side < 0)
        lua_pushnil(L);
    else
        lua_pushboolean(L, side);
    return 1;
}

/***
 * Deletes the context (DeleteSecurityContext): keys are wiped.  Also
 * `__close` and `__gc`; closing twice is harmless.
 * @function context:close
 */
static int context_close(lua_State *L)
{
    lsspi_context *h = lsspi_context_check(L, 1);
    /* Only Lua run while a call is inside the context can get here while
     * busy: a lookup function mid-step, a finalizer or hook while wrap makes
     * a record's string or query copies its answer (the context's own
     * finalizer cannot run then: the call holds the context); freeing now
     * would pull the context from under the core. */
    if (h->busy)
        return luaL_error(L, "attempt to close a " LSSPI_CONTEXT " inside its own step");
    sspi_context_free(&h->ctx);
    h->cred = NULL;
    return 0;
}

/* "sspi.context (Kerberos, complete)". */
static int context_tostring(lua_State *L)
{
    lsspi_context *h = lsspi_context_check(L, 1);
    return lsspi_push_object_name(L, LSSPI_CONTEXT,
                                  h->ctx ? sspi_context_package(h->ctx) : NULL,
                                  h->ctx ? state_name(sspi_context_get_state(h->ctx)) : NULL);
}

static int context_get(lua_State *L)
{
    return lsspi_push_package_field(L, sspi_context_package(context_peek(L, 1)), lua_tostring(L, 2));
}

void lsspi_open_context(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"step_init", context_step_init},
        {"step_accept", context_step_accept},
        {"complete_auth_token", context_complete_auth_token},
        {"state", context_state},
        {"is_initiator", context_is_initiator},
        {NULL, NULL},
    };
    static const luaL_Reg functions[] = {
        {"context", l_context},
        {NULL, NULL},
    };
    static const luaL_Reg *const lists[] = {methods, lsspi_context_query_methods,
                                            lsspi_context_message_methods,
                                            lsspi_context_transfer_methods, NULL};
    static const lsspi_class class = {
        .name = LSSPI_CONTEXT, .close = context_close, .tostring = context_tostring,
        .methods = lists, .getter = context_get, .functions = functions,
    };
    lsspi_new_class(L, &class);
}
