/*
 * toy_module.c - build/lua/sspi_toy.so: the module exactly as
 * build/lua/sspi/core.so (the same objects), except that its registry was
 * compiled with one more line, the test-only Toy package.  Test-only, never
 * installed.
 */
#include <lua.h>

#include "sspi.h"

int luaopen_sspi_core(lua_State *L);
SSPI_API int luaopen_sspi_toy(lua_State *L);

int luaopen_sspi_toy(lua_State *L)
{
    return luaopen_sspi_core(L);
}
