/*
 * fuzz_kdcproxy_lua.c - the KDC-PROXY-MESSAGE decoder of the KDC proxy
 * (lua/sspi/kdcproxy.lua, on lua/sspi/token/der.lua) inside an embedded Lua
 * (fuzz_lua.h).  Every input is what an HTTPS client may POST to the proxy.
 *
 * kdcproxy.decode promises nil, message for anything that is not a
 * KDC-PROXY-MESSAGE, so any error it raises is a finding (the harness is
 * strict).  What decodes must survive encode and decode again unchanged
 * (message, realm, hint), and a decoded kerb-message always carries a
 * length prefix that matches it: the proxy forwards it as is.
 */
#include <stdint.h>

#include "fuzz_lua.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char harness[] =
    "local kdcproxy = require 'sspi.kdcproxy'\n"
    "return function(bytes)\n"
    "  local m, err = kdcproxy.decode(bytes)\n"
    "  if not m then\n"
    "    assert(type(err) == 'string', 'decode: no message with nil')\n"
    "    return\n"
    "  end\n"
    "  assert(#m.message >= 4 and string.unpack('>I4', m.message) == #m.message - 4,\n"
    "         'invariant broken: a kerb-message whose prefix does not match')\n"
    "  local again = kdcproxy.decode(kdcproxy.encode(m))\n"
    "  assert(again and again.message == m.message and again.realm == m.realm\n"
    "         and again.hint == m.hint, 'invariant broken: encode/decode changed the message')\n"
    "end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sspi_fuzz_lua_init("=fuzz_kdcproxy_lua", harness, 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sspi_fuzz_lua_run(data, size);
    return 0;
}
