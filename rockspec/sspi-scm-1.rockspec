rockspec_format = "3.0"
package = "sspi"
version = "scm-1"
-- Where the project is published: replace the placeholder with its
-- repository to `luarocks install` from there.  In a checkout,
-- `luarocks make rockspec/sspi-scm-1.rockspec` builds the tree as it is and
-- never reads this URL (README.md, "LuaRocks").
source = {
  url = "git+https://git.example.org/sspi-lua.git",
}
description = {
  summary = "The Windows SSPI security-context model for Lua 5.3 and 5.4 on Linux: Kerberos, Negotiate, NTLM, Schannel",
  detailed = [[
Credentials, InitializeSecurityContext / AcceptSecurityContext stepping, SecBuffers, context
flags, channel bindings and message protection, with Kerberos (MIT GSSAPI), a built-in NTLM
and a built-in Negotiate (SPNEGO) behind them. Lua scripts own the handshake loop and the
transport; helpers for HTTP Negotiate, SASL GSSAPI and token inspection are included.
Runs in HAProxy and Apache mod_lua (Lua 5.3) as well as in lua5.4.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.3, < 5.5",
}
external_dependencies = {
  GSSAPI = { header = "mit-krb5/gssapi/gssapi.h" },
  CRYPTO = { header = "openssl/evp.h" },
  SSL = { header = "openssl/ssl.h" },
}
build = {
  type = "make",
  build_target = "all",
  -- LUA_INCDIR also names the Lua version: the build goes to build/<version>
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LUA_CFLAGS = "-I$(LUA_INCDIR)",
    LUA_INCDIR = "$(LUA_INCDIR)",
  },
  install_target = "install-rock",
  install_variables = {
    INST_LIBDIR = "$(LIBDIR)",
    INST_LUADIR = "$(LUADIR)",
    INST_BINDIR = "$(BINDIR)",
    LUA_INCDIR = "$(LUA_INCDIR)",
  },
}
