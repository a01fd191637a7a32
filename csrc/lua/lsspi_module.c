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

void lsspi_new_class(lua_State *L, const char *name, const luaL_Reg *meta,
                     const luaL_Reg *const methods[], lua_CFunction getter)
{
    size_t i;
    luaL_newmetatable(L, name);
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    for (i = 0; methods[i] != NULL; i++)
        luaL_setfuncs(L, methods[i], 0);
    if (getter)
        lua_pushcfunction(L, getter);
    else
        lua_pushnil(L);
    lua_pushcclosure(L, class_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

/* Enumeration, done without touching Lua: the callback only counts or
 * copies, so no Lua error can unwind through the core. */
typedef struct package_collect {
    sspi_package_info *infos; /* NULL: count only */
    size_t count;
    size_t max;
} package_collect;

static int collect_package(void *ud, const sspi_package_info *info)
{
    package_collect *c = ud;
    if (c->infos != NULL) {
        if (c->count >= c->max)
            return 1;
        c->infos[c->count] = *info;
    }
    c->count++;
    return 0;
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
    package_collect c = {NULL, 0, 0};
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
    c.max = c.count;
    c.count = 0;
    c.infos = lua_newuserdatauv(L, (c.max ? c.max : 1) * sizeof *c.infos, 0);
    if (c.max > 0)
        sspi_enumerate_packages(collect_package, &c);
    lua_createtable(L, (int)c.count, 0);
    for (i = 0; i < c.count; i++) {
        lsspi_push_package_info(L, &c.infos[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
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
        {NULL, NULL},
    };
    luaL_checkversion(L);
    lua_newtable(L);
    luaL_setfuncs(L, functions, 0);
    lsspi_open_error(L);
    lsspi_open_constants(L);
    lsspi_open_buffer(L);
    lsspi_open_credential(L);
    lsspi_open_context(L);
    return 1;
}
