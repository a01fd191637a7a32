/*
 * fuzz_lua.c - the embedded Lua of the pure-Lua fuzz targets (fuzz_lua.h).
 */
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "fuzz_common.h"
#include "fuzz_lua.h"

#ifndef SSPI_FUZZ_LUA_DIR
#define SSPI_FUZZ_LUA_DIR "lua"
#endif

#define LUA_EDGES (1u << 16)
__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t lua_edges[LUA_EDGES];

/* The binding (csrc/lua), linked into the Lua targets: `require "sspi.core"`
 * finds it in package.preload, not a shared object built another way. */
int luaopen_sspi_core(lua_State *l);

static lua_State *L;
static uintptr_t prev_line;
static int strict_mode;
static const char *name;
static const char harness_key = 0; /* its address keys the registry */

static void line_hook(lua_State *l, lua_Debug *ar)
{
    uintptr_t here;
    if (lua_getinfo(l, "S", ar) == 0)
        return;
    /* The source string of a loaded chunk lives as long as its function:
     * its address names the file cheaply. */
    here = ((uintptr_t)ar->source * 31u) ^ ((uintptr_t)ar->currentline * 2654435761u);
    lua_edges[(here ^ (prev_line >> 1)) & (LUA_EDGES - 1)]++;
    prev_line = here;
}

void sspi_fuzz_lua_init(const char *chunkname, const char *harness, int strict)
{
    name = chunkname;
    strict_mode = strict;
    L = luaL_newstate();
    if (L == NULL)
        sspi_fuzz_die("no Lua state");
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushstring(L, SSPI_FUZZ_LUA_DIR "/?.lua;" SSPI_FUZZ_LUA_DIR "/?/init.lua");
    lua_setfield(L, -2, "path");
    lua_pushstring(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_sspi_core);
    lua_setfield(L, -2, "sspi.core");
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, harness, strlen(harness), chunkname) != LUA_OK ||
        lua_pcall(L, 0, 1, 0) != LUA_OK)
        sspi_fuzz_die("%s: cannot load its Lua from %s: %s", chunkname, SSPI_FUZZ_LUA_DIR,
                      lua_tostring(L, -1));
    if (lua_type(L, -1) != LUA_TFUNCTION)
        sspi_fuzz_die("%s: the harness returned no function", chunkname);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &harness_key);
    lua_sethook(L, line_hook, LUA_MASKLINE, 0);
}

void sspi_fuzz_lua_run(const uint8_t *data, size_t size)
{
    int rc;
    prev_line = 0;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &harness_key);
    lua_pushlstring(L, (const char *)data, size);
    rc = lua_pcall(L, 1, 0, 0);
    if (rc != LUA_OK) {
        if (strict_mode)
            sspi_fuzz_die("%s: the Lua code raised on an input: %s", name,
                          lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(not a string)");
        lua_pop(L, 1);
    }
    FUZZ_CHECK(lua_gettop(L) == 0, "the Lua stack leaked");
    /* Free this run's garbage now: libFuzzer runs LeakSanitizer after any
     * run that allocated more than it freed, which a lagging GC would
     * trigger on every run. */
    lua_gc(L, LUA_GCCOLLECT, 0);
}
