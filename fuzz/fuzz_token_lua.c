/*
 * fuzz_token_lua.c - the token inspector (lua/sspi/token.lua) inside an
 * embedded Lua (fuzz_lua.h): token.decode on the input, token.parse on it as
 * text, and to_text / to_json of what decoded, each through lua_pcall.
 *
 * A Lua error is an answer, not a crash (token.lua raises on its own bugs
 * by design, so that tests see them); a crash or a sanitizer report in the
 * interpreter or the C it calls is a finding.  With SSPI_FUZZ_TOKEN_STRICT=1
 * in the environment a raised error aborts as well, since token.decode
 * promises to return nil, message for every malformed token.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_lua.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    sspi_fuzz_lua_init("=fuzz_token_lua", harness, s && s[0] == '1');
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sspi_fuzz_lua_run(data, size);
    return 0;
}
