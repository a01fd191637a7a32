/*
 * host.c - a C program that embeds Lua 5.4 and links sspi statically, the
 * way a game or server host does: it registers the C module with
 * luaL_requiref (no shared object is loaded), points package.path at the
 * pure-Lua part, and runs a script.
 *
 *   sspi-host SCRIPT [ARGS...]      (ARGS are in the script's `arg` table)
 */
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

/* The module's entry point, exported by libsspi.a (csrc/lua/). */
int luaopen_sspi_core(lua_State *L);

/* Counts bytes live in this state, to show the host's allocator sees ours. */
typedef struct host_memory {
    size_t in_use;
    size_t peak;
} host_memory;

static void *host_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    host_memory *mem = ud;
    if (ptr == NULL)
        osize = 0;
    if (nsize == 0) {
        free(ptr);
        mem->in_use -= osize;
        return NULL;
    }
    ptr = realloc(ptr, nsize);
    if (ptr != NULL) {
        mem->in_use = mem->in_use - osize + nsize;
        if (mem->in_use > mem->peak)
            mem->peak = mem->in_use;
    }
    return ptr;
}

static int report(lua_State *L, int status)
{
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "sspi-host: %s\n", msg ? msg : "(error object is not a string)");
        lua_pop(L, 1);
    }
    return status;
}

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    luaL_traceback(L, L, msg ? msg : luaL_tolstring(L, 1, NULL), 1);
    return 1;
}

int main(int argc, char **argv)
{
    host_memory mem = {0, 0};
    lua_State *L;
    int status, i, base;

    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT [ARGS...]\n", argv[0]);
        return 2;
    }
    L = lua_newstate(host_alloc, &mem);
    if (L == NULL) {
        fprintf(stderr, "sspi-host: cannot create a Lua state\n");
        return 1;
    }
    luaL_openlibs(L);
    /* The statically linked C module, under the name sspi.lua requires. */
    luaL_requiref(L, "sspi.core", luaopen_sspi_core, 0);
    lua_pop(L, 1);

    lua_createtable(L, argc, 0);
    for (i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");

    lua_pushcfunction(L, traceback);
    base = lua_gettop(L);
    status = luaL_loadfile(L, argv[1]);
    if (status == LUA_OK)
        status = lua_pcall(L, 0, 0, base);
    report(L, status);
    lua_close(L);
    printf("sspi-host: peak Lua+sspi memory %zu bytes, %zu left after close\n", mem.peak, mem.in_use);
    return status == LUA_OK && mem.in_use == 0 ? 0 : 1;
}
