/*
 * testenv.c - the one thing the specs need that Lua 5.4 lacks: changing the
 * process environment, so that MIT krb5 (which reads KRB5_CONFIG,
 * KRB5CCNAME, KRB5_KTNAME ... from it) sees a throwaway realm.  Test-only:
 * built as build/lua/sspi_testenv.so, never installed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

/* setenv(name, value): value nil unsets. */
static int testenv_setenv(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    int rc;
    if (lua_isnoneornil(L, 2))
        rc = unsetenv(name);
    else
        rc = setenv(name, luaL_checkstring(L, 2), 1);
    if (rc != 0)
        return luaL_error(L, "setenv %s: %s", name, strerror(errno));
    return 0;
}

static int testenv_getpid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

__attribute__((visibility("default"))) int luaopen_sspi_testenv(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"setenv", testenv_setenv},
        {"getpid", testenv_getpid},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
