/*
 * fuzz_lua.h - the embedded Lua 5.4 the fuzz targets of pure-Lua parsers
 * share (fuzz_token_lua.c, fuzz_kdcproxy_lua.c): one lua_State with the
 * project's lua/ on package.path, the binding preloaded as sspi.core (no
 * C module is loaded from disk), a harness chunk that returns the function
 * to call with each input, and Lua line coverage fed to libFuzzer.
 *
 * Coverage: Debian's liblua5.4 is not instrumented, so libFuzzer would see
 * no edges inside the Lua code.  A line hook feeds it Lua coverage instead:
 * each (previous line, line) pair of the Lua sources bumps a counter in
 * libFuzzer's extra-counters section.
 *
 * The state lives in file-scope statics of fuzz_lua.c: libFuzzer's entry
 * point takes no user pointer, and one target is one process.
 */
#ifndef SSPI_FUZZ_LUA_H
#define SSPI_FUZZ_LUA_H

#include <stddef.h>
#include <stdint.h>

/* Creates the state and runs `harness` (named `chunkname` in errors), which
 * must return a function.  With `strict`, an error raised by that function
 * on an input aborts (a finding); without, it is an answer.  Aborts when the
 * harness cannot be loaded. */
void sspi_fuzz_lua_init(const char *chunkname, const char *harness, int strict);

/* Calls the harness function with the input as a Lua string, checks the
 * stack is balanced, and collects the run's garbage. */
void sspi_fuzz_lua_run(const uint8_t *data, size_t size);

#endif /* SSPI_FUZZ_LUA_H */
