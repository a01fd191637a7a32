rockspec_format = "3.0"
package = "sspi"
version = "scm-1"
source = {
  url = "git+file:///work/main",
}
description = {
  summary = "The Windows SSPI security-context model for Lua 5.4 on Linux: Kerberos, Negotiate, NTLM, Schannel",
  detailed = [[
Credentials, InitializeSecurityContext / AcceptSecurityContext stepping, SecBuffers, context
flags, channel bindings and message protection, with Kerberos (MIT GSSAPI), a built-in NTLM
and a built-in Negotiate (SPNEGO) behind them. Lua scripts own the handshake loop and the
transport; helpers for HTTP Negotiate, SASL GSSAPI and token inspection are included.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
external_dependencies = {
  GSSAPI = { header = "mit-krb5/gssapi/gssapi.h" },
  CRYPTO = { header = "openssl/evp.h" },
  SSL = { header = "openssl/ssl.h" },
}
build = {
  type = "make",
  build_target = "all",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LUA_CFLAGS = "-I$(LUA_INCDIR)",
  },
  install_target = "install-rock",
  install_variables = {
    INST_LIBDIR = "$(LIBDIR)",
    INST_LUADIR = "$(LUADIR)",
    INST_BINDIR = "$(BINDIR)",
  },
}
