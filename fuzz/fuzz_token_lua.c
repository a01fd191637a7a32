/*
 * fuzz_token_lua.c - the token inspector (lua/sspi/token.lua) inside an
 * embedded Lua 5.4: token.decode on the input, token.parse on it as text,
 * and to_text / to_json of what decoded, each through lua_pcall.
 *
 * A Lua error is an answer, not a crash (token.lua raises on its own bugs
 * by design, so that tests see them); a crash or a sanitizer report in the
 * interpreter or the C it calls is a finding.  With SSPI_FUZZ_TOKEN_STRICT=1
 * in the environment a raised error aborts as well, since token.decode
 * promises to return nil, message for every malformed token.
 *
 * Coverage: Debian's liblua5.4 is not instrumented, so libFuzzer would see
 * no edges inside the decoder.  A line hook feeds it Lua coverage instead:
 * each (previous line, line) pair of the Lua sources bumps a counter in
 * libFuzzer's extra-counters section.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "fuzz_common.h"

#ifndef SSPI_FUZZ_LUA_DIR
#define SSPI_FUZZ_LUA_DIR "lua"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LUA_EDGES (1u << 16)
__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t lua_edges[LUA_EDGES];

static lua_State *L;
static uintptr_t prev_line;
static int strict;
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

/* Runs the Lua harness function against the input; returns whether it
 * raised. */
static const char harness[] =
    "local token = require 'sspi.token'\n"
    "return function(bytes)\n"
    "  local t = token.decode(bytes)\n"
    "  if t then token.to_text(t); token.to_json(t) end\n"
    "  local p = token.parse(bytes)\n"
    "  if p then token.to_text(p); token.to_json(p) end\n"
    "end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *s = getenv("SSPI_FUZZ_TOKEN_STRICT");
    (void)argc;
    (void)argv;
    strict = s && s[0] == '1';
    L = luaL_newstate();
    if (L == NULL)
        sspi_fuzz_die("no Lua state");
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushstring(L, SSPI_FUZZ_LUA_DIR "/?.lua;" SSPI_FUZZ_LUA_DIR "/?/init.lua");
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, harness, sizeof harness - 1, "=fuzz_token_lua") != LUA_OK ||
        lua_pcall(L, 0, 1, 0) != LUA_OK)
        sspi_fuzz_die("cannot load sspi.token from %s: %s", SSPI_FUZZ_LUA_DIR,
                      lua_tostring(L, -1));
    lua_rawsetp(L, LUA_REGISTRYINDEX, &harness_key);
    lua_sethook(L, line_hook, LUA_MASKLINE, 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc;
    prev_line = 0;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &harness_key);
    lua_pushlstring(L, (const char *)data, size);
    rc = lua_pcall(L, 1, 0, 0);
    if (rc != LUA_OK) {
        if (strict)
            sspi_fuzz_die("sspi.token raised on a token: %s",
                          lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(not a string)");
        lua_pop(L, 1);
    }
    FUZZ_CHECK(lua_gettop(L) == 0, "the Lua stack leaked");
    /* Free this run's garbage now: libFuzzer runs LeakSanitizer after any
     * run that allocated more than it freed, which a lagging GC would
     * trigger on every run. */
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
