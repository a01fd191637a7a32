--- Where the build for the running Lua lives, and which interpreter runs
-- the children the specs start.
--
-- `make test` exports SSPI_BUILD (build/5.4, or build/5.3 with
-- LUA_VERSION=5.3, or the sanitizer build under test-asan); by hand it is
-- build/<version of the Lua running busted>.  Children that load the module
-- must run the same Lua as the module was built for: `build.lua`.
local version = _VERSION:match("%d+%.%d+")

return {
  version = version,
  dir = os.getenv("SSPI_BUILD") or ("build/" .. version),
  lua = "lua" .. version,
}
