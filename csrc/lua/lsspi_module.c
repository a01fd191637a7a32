/*
 * lsspi_module.c - luaopen_sspi_core: the C part of `require "sspi"`
 * (lua/sspi.lua returns this table, like socket over socket.core), the
 * class-building helper the other files share, and sspi.packages().
 *
 * Embedding: luaopen_sspi_core may be called once per lua_State, in as many
 * states and threads as the host likes.  There is no C global: metatables
 * live in each state's registry, the core keeps no mutable global state,
 * and all memory comes from the state's allocator (lua_getallocf).
 */

/***
 * The C part of `sspi` (sspi.core): LDoc merges every binding file into the
 * module `sspi` that lua/sspi.lua documents (config.ld: merge = true).
 * @module sspi
 */
#define _GNU_SOURCE /* dladdr, RTLD_NODELETE, RTLD_NOLOAD (glibc) */
#include <dlfcn.h>
#include <string.h>

#include "lsspi.h"

/* __index: methods first (upvalue 1), then the class's property getter
 * (upvalue 2, a light C function, or nil). */
static int class_index(lua_State *L)
{
    lua_CFunction getter;
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    getter = lua_tocfunction(L, lua_upvalueindex(2));
    return getter ? getter(L) : 0;
}

int lsspi_push_object_name(lua_State *L, const char *tname, const sspi_package_info *info,
                           const char *detail)
{
    if (detail == NULL)
        lua_pushfstring(L, "%s (closed)", tname);
    else
        lua_pushfstring(L, "%s (%s, %s)", tname, info && info->name ? info->name : "?", detail);
    return 1;
}

int lsspi_push_package_field(lua_State *L, const sspi_package_info *info, const char *key)
{
    if (key == NULL)
        return 0;
    if (strcmp(key, "package") == 0)
        lua_pushstring(L, info ? info->name : NULL);
    else if (strcmp(key, "backend") == 0)
        lua_pushstring(L, info ? info->backend : NULL);
    else
        return 0;
    return 1;
}

const char *lsspi_name_of(const sspi_flag_info *rows, uint32_t value, const char *unknown)
{
    for (; rows->name; rows++)
        if (rows->value == value)
            return rows->name;
    return unknown;
}

void lsspi_new_class(lua_State *L, const lsspi_class *c)
{
    const luaL_Reg standard[] = {
        {"__gc", c->close},
        LSSPI_CLOSE_META(c->close)
        {"__tostring", c->tostring},
        {NULL, NULL},
    };
    size_t i;
    luaL_newmetatable(L, c->name);
    luaL_setfuncs(L, standard, 0);
    if (c->meta)
        luaL_setfuncs(L, c->meta, 0);
    lua_newtable(L);
    lua_pushcfunction(L, c->close);
    lua_setfield(L, -2, "close");
    for (i = 0; c->methods && c->methods[i] != NULL; i++)
        luaL_setfuncs(L, c->methods[i], 0);
    if (c->getter)
        lua_pushcfunction(L, c->getter);
    else
        lua_pushnil(L);
    lua_pushcclosure(L, class_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    if (c->functions)
        luaL_setfuncs(L, c->functions, 0);
}

/* Enumeration, done without touching Lua: the callbacks only count or
 * keep pointers (package infos and option declarations are static), so no
 * Lua error can unwind through the core. */
typedef struct collect {
    const void **items; /* NULL: count only */
    size_t count;
    size_t max;
} collect;

static int collect_item(collect *c, const void *item)
{
    if (c->items != NULL) {
        if (c->count >= c->max)
            return 1;
        c->items[c->count] = item;
    }
    c->count++;
    return 0;
}

static int collect_package(void *ud, const sspi_package_info *info)
{
    return collect_item(ud, info);
}

static int collect_option(void *ud, const sspi_option_decl *decl)
{
    return collect_item(ud, decl);
}

/* After a counting pass: room for the items, in a userdata left on the stack. */
static void collect_room(lua_State *L, collect *c)
{
    c->max = c->count;
    c->count = 0;
    c->items = lua_newuserdatauv(L, (c->max ? c->max : 1) * sizeof *c->items, 0);
}

/***
 * The security packages this machine can use, in order of preference
 * (Get-SSPIPackage / EnumerateSecurityPackages).  A package available from
 * two backends is listed once per backend.  With a name (Get-SSPIPackage
 * -Name / QuerySecurityPackageInfo): that package's info, the
 * implementation sspi.credential would choose, or nil, err,
 * "SEC_E_SECPKG_NOT_FOUND".
 * @function packages
 * @tparam[opt] string name "Kerberos", "NTLM", "Negotiate" (any case)
 * @treturn {table,...}|table {name =, comment =, capabilities = SECPKG_FLAG_* mask,
 *   version =, rpcid =, max_token =, backend = "gssapi" | "builtin"}, a list
 *   of them without a name
 * @treturn[2] nil
 * @treturn[2] sspi.error
 * @treturn[2] string status name
 * @usage for _, p in ipairs(sspi.packages()) do print(p.name, p.backend) end
 * print(sspi.packages("NTLM").max_token)
 */
static int l_packages(lua_State *L)
{
    collect c = {NULL, 0, 0};
    size_t i;
    if (!lua_isnoneornil(L, 1)) {
        const sspi_package_info *info = NULL;
        sspi_error err;
        sspi_status st;
        const char *name;
        luaL_checktype(L, 1, LUA_TSTRING);
        name = lua_tostring(L, 1);
        sspi_error_clear(&err);
        st = sspi_package_find(name, NULL, &info, &err);
        if (st != SEC_E_OK)
            return lsspi_push_failure(L, st, &err);
        lsspi_push_package_info(L, info);
        return 1;
    }
    sspi_enumerate_packages(collect_package, &c);
    collect_room(L, &c);
    if (c.max > 0)
        sspi_enumerate_packages(collect_package, &c);
    lua_createtable(L, (int)c.count, 0);
    for (i = 0; i < c.count; i++) {
        lsspi_push_package_info(L, c.items[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static const sspi_flag_info option_types[] = {
    {"string", SSPI_OPTION_STRING}, {"secret", SSPI_OPTION_SECRET},
    {"integer", SSPI_OPTION_INTEGER}, {"boolean", SSPI_OPTION_BOOLEAN},
    {"list", SSPI_OPTION_LIST}, {"function", SSPI_OPTION_FUNCTION}, {"mask", SSPI_OPTION_MASK},
    {NULL, 0},
};

/***
 * The credential options a package declares (beside package, usage and
 * backend, which every package takes): what sspi.credential accepts for it.
 * @function package_options
 * @tparam string name "Kerberos", "NTLM", "Negotiate" (any case)
 * @tparam[opt] string backend "gssapi" | "builtin" (default: the package's default)
 * @treturn {table,...} {name =, type = "string" | "secret" | "integer" |
 *   "boolean" | "list" | "function" | "mask", doc =, min =, max = (integers;
 *   lists: the most names), names = (masks: {name = bits, ...})}
 * @treturn[2] nil
 * @treturn[2] sspi.error
 * @treturn[2] string status name
 * @usage for _, o in ipairs(sspi.package_options("NTLM")) do print(o.name, o.type, o.doc) end
 */
static int l_package_options(lua_State *L)
{
    collect c = {NULL, 0, 0};
    const char *name = luaL_checkstring(L, 1);
    const char *backend = luaL_optstring(L, 2, NULL);
    sspi_error err;
    sspi_status st;
    size_t i;
    sspi_error_clear(&err);
    st = sspi_package_options(name, backend, collect_option, &c, &err);
    if (st != SEC_E_OK)
        return lsspi_push_failure(L, st, &err);
    collect_room(L, &c);
    sspi_package_options(name, backend, collect_option, &c, NULL);
    lua_createtable(L, (int)c.count, 0);
    for (i = 0; i < c.count; i++) {
        const sspi_option_decl *d = c.items[i];
        lua_createtable(L, 0, 5);
        lua_pushstring(L, d->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, lsspi_name_of(option_types, (uint32_t)d->type, "unknown"));
        lua_setfield(L, -2, "type");
        lua_pushstring(L, d->doc ? d->doc : "");
        lua_setfield(L, -2, "doc");
        if (d->type == SSPI_OPTION_INTEGER) {
            lua_pushinteger(L, (lua_Integer)d->min);
            lua_setfield(L, -2, "min");
        }
        if (d->type == SSPI_OPTION_INTEGER || d->type == SSPI_OPTION_LIST) {
            lua_pushinteger(L, (lua_Integer)(d->type == SSPI_OPTION_LIST
                                                 ? (int64_t)sspi_option_list_max(d)
                                                 : d->max));
            lua_setfield(L, -2, "max");
        }
        if (d->type == SSPI_OPTION_MASK && d->names) {
            const sspi_flag_info *row;
            lua_newtable(L);
            for (row = d->names; row->name; row++) {
                lua_pushinteger(L, (lua_Integer)row->value);
                lua_setfield(L, -2, row->name);
            }
            lua_setfield(L, -2, "names");
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* Keeps this shared object loaded for the life of the process.  Hosts that
 * close Lua states often (Apache mod_lua's `LuaScope conn`: one state per
 * connection) make Lua dlclose the module each time and dlopen it again for
 * the next state; each round leaked 250-300 KB (libraries it pulls in, TLS,
 * their one-time initialisation).  A second reference taken with
 * RTLD_NODELETE keeps the first open for good.  Linked statically, dladdr
 * names the program, which is loaded anyway. */
static void pin_module(void)
{
    static const char anchor = 0; /* any address inside this object */
    Dl_info info;
    if (dladdr(&anchor, &info) && info.dli_fname)
        (void)dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
}

/***
 * Base64 (RFC 4648, padded) of a byte string: the form HTTP Negotiate and
 * SASL carry tokens in (sspi.base and sspi.http use it).
 * @function b64encode
 * @tparam string data
 * @treturn string
 */
static int l_b64encode(lua_State *L)
{
    size_t n, size;
    const char *data = luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    size = sspi_base64_encoded_size(n);
    sspi_base64_encode((const unsigned char *)data, n, luaL_buffinitsize(L, &b, size));
    luaL_pushresultsize(&b, size);
    return 1;
}

/***
 * Decodes base64.  Strict by default (the standard alphabet, right padding,
 * zero trailing bits); `lenient` also takes base64url, drops trailing "="
 * and ignores trailing bits (text a person pasted).
 * @function b64decode
 * @tparam string text
 * @tparam[opt] boolean lenient
 * @treturn string the bytes, or nil and a message starting "invalid base64:"
 */
static int l_b64decode(lua_State *L)
{
    size_t n, got;
    const char *text = luaL_checklstring(L, 1, &n);
    int lenient = lua_toboolean(L, 2);
    luaL_Buffer b;
    unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, n / 4 * 3 + 2);
    const char *why = sspi_base64_decode(text, n, lenient, out, &got);
    if (why != NULL) {
        lua_pushnil(L);
        lua_pushstring(L, why);
        return 2;
    }
    luaL_pushresultsize(&b, got);
    return 1;
}

/*
 * sspi.core: the C module.  Use `require "sspi"`, which returns this table.
 * (Not an LDoc block: the module is `sspi`, declared at the top.)
 */
SSPI_API int luaopen_sspi_core(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"packages", l_packages},
        {"package_options", l_package_options},
        {"b64encode", l_b64encode},
        {"b64decode", l_b64decode},
        {NULL, NULL},
    };
    luaL_checkversion(L);
    pin_module();
    lua_newtable(L);
    luaL_setfuncs(L, functions, 0);
    lsspi_open_error(L);
    lsspi_open_constants(L);
    lsspi_open_buffer(L);
    lsspi_open_credential(L);
    lsspi_open_context(L);
    return 1;
}
