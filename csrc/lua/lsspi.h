/*
 * lsspi.h - what the files of the Lua binding share (private: nothing here
 * is exported; every external name carries the lsspi_ prefix and hidden
 * visibility).
 *
 * The binding sees only the public C API (sspi.h) and Lua's headers.
 */
#ifndef LSSPI_H
#define LSSPI_H

#include <lauxlib.h>
#include <lua.h>

#include "sspi.h"

#define LSSPI_INTERNAL __attribute__((visibility("hidden")))

/* Lua 5.3 (HAProxy 2.6, Apache mod_lua embed it): one user value per
 * userdata, which is all the binding uses (index 1).  `__close` exists from
 * 5.4 on: LSSPI_CLOSE_META adds the metatable entry only there. */
#if LUA_VERSION_NUM < 504
#define lua_newuserdatauv(L, size, nuv) lua_newuserdata((L), (size))
#define lua_setiuservalue(L, idx, n) lua_setuservalue((L), (idx))
#define lua_getiuservalue(L, idx, n) lua_getuservalue((L), (idx))
#define LSSPI_CLOSE_META(fn)
#else
#define LSSPI_CLOSE_META(fn) {"__close", (fn)},
#endif

/* Metatable names; luaL_newmetatable also makes them the __name. */
#define LSSPI_CREDENTIAL "sspi.credential"
#define LSSPI_CONTEXT "sspi.context"
#define LSSPI_BUFFER "sspi.buffer"
#define LSSPI_ERROR "sspi.error"

/* Largest buffer sspi.buffer makes: SecBuffer lengths are 32-bit ULONGs on
 * Windows; beyond 2 GiB a request is almost surely a mistake. */
#define LSSPI_MAX_BUFFER 0x7fffffff

/* ------------------------------------------------------------- handles */

/* A credential userdata: NULL when closed.  User value 1: the `lookup`
 * function (or nil), kept even after close because contexts keep the
 * core credential alive and may still call it. */
typedef struct lsspi_credential {
    sspi_credential *cred;
    int has_lookup; /* a `lookup` function was given */
} lsspi_credential;

/* A context userdata: ctx NULL when closed.  User value 1: its credential
 * userdata (keeps the lookup function reachable).  cred is borrowed: the
 * core context holds a reference on it as long as ctx lives, even when the
 * credential userdata was closed. */
typedef struct lsspi_context {
    sspi_context *ctx;
    sspi_credential *cred;
    /* Set while the core runs one of its steps, while a wrap hands a
     * record to Lua as OpenSSL writes it, and while query copies its answer
     * out of the context: the lookup function, a finalizer or a hook may
     * run Lua then, and must not step, query, use or close this context
     * under the core's feet (that was a use after free). */
    int busy;
} lsspi_context;

/* A buffer userdata.  buf.data is capacity bytes from `alloc` (the Lua
 * state's allocator), wiped on free; package-allocated memory (from an
 * ALLOCATE_MEMORY step) came from the same allocator through the core and is
 * released with sspi_buffer_release.  closed: data freed, object unusable. */
typedef struct lsspi_buffer {
    sspi_buffer buf;
    sspi_allocator alloc;
    int closed;
} lsspi_buffer;

/* --------------------------------------------------------- lsspi_error.c */

/* Pushes nil, an sspi.error object and its status name: returns 3.
 * status is what the core returned; err its details (may be NULL). */
LSSPI_INTERNAL int lsspi_push_failure(lua_State *L, sspi_status status, const sspi_error *err);
/* Pushes just the error object. */
LSSPI_INTERNAL void lsspi_push_error(lua_State *L, sspi_status status, const sspi_error *err);
LSSPI_INTERNAL void lsspi_open_error(lua_State *L);

/* ------------------------------------------------------ lsspi_options.c */

/* Raises naming the offending key when the table at idx has a key not in
 * `known` (NULL-terminated). */
LSSPI_INTERNAL void lsspi_check_option_keys(lua_State *L, int idx, int arg,
                                            const char *const known[]);
/* Pushes t[key] and checks its type; returns 0 when nil (nothing pushed
 * is left: the nil is popped), 1 when present (value left on the stack). */
LSSPI_INTERNAL int lsspi_opt_get(lua_State *L, int idx, int arg, const char *key, int type);
/* Shorthands over lsspi_opt_get that leave nothing on the stack except
 * string values (which must stay alive: they are popped by the caller or
 * left until the function returns).  lsspi_opt_string with len NULL
 * refuses a string with an embedded NUL (it is used as a C string). */
LSSPI_INTERNAL const char *lsspi_opt_string(lua_State *L, int idx, int arg, const char *key,
                                            size_t *len);
LSSPI_INTERNAL int lsspi_opt_integer(lua_State *L, int idx, int arg, const char *key,
                                     lua_Integer min, lua_Integer max, lua_Integer *out);
LSSPI_INTERNAL int lsspi_opt_boolean(lua_State *L, int idx, int arg, const char *key, int def);
/* Raises "bad argument #arg to 'f' (bad option 'key' (...))". */
LSSPI_INTERNAL int lsspi_opt_error(lua_State *L, int arg, const char *key, const char *what);
/* A list option (a table of strings without NUL bytes, at most max) as an
 * array of C strings in a scratch userdata left on the stack; NULL and
 * *count 0 when absent. */
LSSPI_INTERNAL const char *const *lsspi_opt_string_list(lua_State *L, int opts, const char *key,
                                                        size_t max, size_t *count);

/* ---------------------------------------------------- lsspi_constants.c */

/* What a mask is read against: the names (sspi_flag_lookup's table and
 * prefix) and the label an unknown name is reported for ("ISC_REQ"). */
typedef struct lsspi_mask_names {
    const sspi_flag_info *table;
    const char *prefix;
    const char *label;
} lsspi_mask_names;
/* A 32-bit mask from the value at idx: an integer, a name (or names
 * separated by commas), or a list of names/integers.  Raises naming `what`
 * and the unknown name. */
LSSPI_INTERNAL uint32_t lsspi_check_mask(lua_State *L, int idx, int arg, const char *what,
                                         const lsspi_mask_names *names);
/* lsspi_check_mask over a kind's table (names with or without its prefix). */
LSSPI_INTERNAL uint32_t lsspi_check_flags(lua_State *L, int idx, int arg, const char *what,
                                          sspi_flag_kind kind);
LSSPI_INTERNAL void lsspi_open_constants(lua_State *L);

/* ------------------------------------------------------- lsspi_buffer.c */

/* A new buffer userdata on the stack (type includes attribute flags),
 * holding a copy of data (or size zeroed bytes when data is NULL), in use
 * length `len`.  Raises on out of memory (the userdata is consistent). */
LSSPI_INTERNAL lsspi_buffer *lsspi_buffer_new(lua_State *L, uint32_t type, const void *data,
                                              size_t len, size_t capacity);
LSSPI_INTERNAL lsspi_buffer *lsspi_buffer_check(lua_State *L, int idx);
/* A SECBUFFER_* type at idx: an integer in range or a name
 * (sspi_buffer_type_parse).  Returns NULL and sets *type, or pushes and
 * returns what is wrong (the caller raises it its own way). */
LSSPI_INTERNAL const char *lsspi_to_buffer_type(lua_State *L, int idx, uint32_t *type);
LSSPI_INTERNAL lsspi_buffer *lsspi_buffer_test(lua_State *L, int idx);
/* Takes back what the core did to a copy of the buffer's descriptor: new
 * length and type; new data (package-allocated) replaces and frees the old. */
LSSPI_INTERNAL void lsspi_buffer_adopt(lsspi_buffer *b, const sspi_buffer *after);
LSSPI_INTERNAL void lsspi_open_buffer(lua_State *L);

/* ------------------------------------------------------ lsspi_buflist.c */

/* A SecBufferDesc built from Lua values.  Items live in `fixed` when few,
 * else in a scratch userdata left on the stack.  `owners` is the stack
 * index of a table listing, per item, the sspi.buffer userdata that owns it
 * (or false for borrowed strings); 0 when not kept. */
#define LSSPI_BUFLIST_FIXED 8
#define LSSPI_BUFLIST_MAX 1024
typedef struct lsspi_buflist {
    sspi_buffer_list list;
    sspi_buffer fixed[LSSPI_BUFLIST_FIXED];
    int owners;
} lsspi_buflist;

/* Step input: string | sspi.buffer | SECBUFFER_* integer | list of these.
 * Strings are read in place (the value must stay on the stack: it does,
 * being an argument). */
LSSPI_INTERNAL void lsspi_buflist_input(lua_State *L, int idx, int arg, const char *what,
                                        lsspi_buflist *bl);
/* Step output: nil (one TOKEN), SECBUFFER_* integer or name, sspi.buffer, or a list
 * of these.  Every item becomes an sspi.buffer listed in a new table pushed
 * on the stack (bl->owners); *only_types is set when no item was a
 * preallocated buffer (the step then asks for ALLOCATE_MEMORY). */
LSSPI_INTERNAL void lsspi_buflist_output(lua_State *L, int idx, int arg, const char *what,
                                         lsspi_buflist *bl, int *only_types);
/* Message lists: items are sspi.buffer (used in place), strings (copied into
 * a new SECBUFFER_DATA buffer) or {type, data_or_size [, flags]} tables (a
 * new buffer as sspi.buffer(...) would make).  Pushes the owners table. */
LSSPI_INTERNAL void lsspi_buflist_message(lua_State *L, int idx, int arg, lsspi_buflist *bl);
/* After the core call: each owning userdata adopts its descriptor.  Never
 * raises. */
LSSPI_INTERNAL void lsspi_buflist_sync(lua_State *L, lsspi_buflist *bl);

/* --------------------------------------------------- lsspi_credential.c */

LSSPI_INTERNAL lsspi_credential *lsspi_credential_check(lua_State *L, int idx);
LSSPI_INTERNAL void lsspi_open_credential(lua_State *L);

/* The per-step link from the core's lookup callback back to Lua: a
 * step with a lookup function passes lsspi_lookup_callback and a pointer to
 * one of these (on the C stack) in its sspi_step_args.  Nothing is written
 * to the credential, which other steps (nested in a lookup, or in other
 * threads) use at the same time. */
typedef struct lsspi_lookup_call {
    lua_State *L;
    int cred_idx; /* the credential userdata (its user value 1: the function) */
} lsspi_lookup_call;
LSSPI_INTERNAL int lsspi_lookup_callback(void *ud, const char *user, const char *domain,
                                         unsigned char nt_hash[16], sspi_error *err);

/* ------------------------------------------------------ lsspi_context.c */

LSSPI_INTERNAL lsspi_context *lsspi_context_check(lua_State *L, int idx);
/* Checks the context is open and not inside its own step (raises "attempt
 * to use a closed sspi.context" / "... inside its own step"); returns the
 * core handle.  A method calls it again on its handle once its other
 * arguments are converted, just before the core call: a conversion can
 * allocate, so run a collection step, and a finalizer can close the
 * context meanwhile. */
LSSPI_INTERNAL sspi_context *lsspi_context_ready(lua_State *L, lsspi_context *h);
/* lsspi_context_check, then lsspi_context_ready (an early "closed" error). */
LSSPI_INTERNAL lsspi_context *lsspi_context_open_handle(lua_State *L, int idx);
LSSPI_INTERNAL void lsspi_open_context(lua_State *L);
/* Pushes a package-info table {name, comment, backend, capabilities,
 * version, rpcid, max_token}. */
LSSPI_INTERNAL void lsspi_push_package_info(lua_State *L, const sspi_package_info *info);

/* Method tables filled by lsspi_context_query.c and lsspi_context_message.c. */
LSSPI_INTERNAL extern const luaL_Reg lsspi_context_query_methods[];
LSSPI_INTERNAL extern const luaL_Reg lsspi_context_message_methods[];
/* lsspi_transfer.c: export / import */
LSSPI_INTERNAL extern const luaL_Reg lsspi_context_transfer_methods[];
LSSPI_INTERNAL extern const luaL_Reg lsspi_credential_transfer_methods[];
LSSPI_INTERNAL extern const luaL_Reg lsspi_transfer_functions[];

/* The name of `value` in a {name, value} table (NULL-terminated), or
 * `unknown`. */
LSSPI_INTERNAL const char *lsspi_name_of(const sspi_flag_info *rows, uint32_t value,
                                         const char *unknown);
/* A userdata class of the module. */
typedef struct lsspi_class {
    const char *name;               /* its metatable's name (LSSPI_CONTEXT ...) */
    lua_CFunction close;            /* the close method, __gc and __close */
    lua_CFunction tostring;         /* __tostring */
    const luaL_Reg *meta;           /* other metamethods, or NULL */
    const luaL_Reg *const *methods; /* NULL-terminated lists */
    lua_CFunction getter;           /* properties the methods do not cover, or NULL */
    const luaL_Reg *functions;      /* the module's functions for it (sspi.context) */
} lsspi_class;
/* Makes the class's metatable (__index: a C closure over the methods
 * table, asking `getter` for the other names) and sets its functions in the
 * module table on the top of the stack. */
LSSPI_INTERNAL void lsspi_new_class(lua_State *L, const lsspi_class *c);
/* __tostring of a package object: "TNAME (Package, detail)", or
 * "TNAME (closed)" when detail is NULL.  Returns 1. */
LSSPI_INTERNAL int lsspi_push_object_name(lua_State *L, const char *tname,
                                          const sspi_package_info *info, const char *detail);
/* The fields every package object has: "package" and "backend" (1 pushed),
 * else 0 (an unknown key reads as nil). */
LSSPI_INTERNAL int lsspi_push_package_field(lua_State *L, const sspi_package_info *info,
                                            const char *key);

/* The only exported symbol. */
SSPI_API int luaopen_sspi_core(lua_State *L);

#endif /* LSSPI_H */
