--- Runs one shell command inside the bench's throwaway realm, for profiling.
--
--   lua5.4 bench/with_realm.lua 'valgrind --tool=callgrind lua5.4 bench/sspi_bench.lua krb5 wrap 64 2'
--
-- Starts the realm of spec/helpers/realm.lua, writes the NTLM user file and
-- sets the BENCH_* variables exactly as bench/run.lua does, runs the command
-- (the environment is inherited), then stops the KDC and removes the dir.
-- Needs LUA_PATH / LUA_CPATH as for the specs (see the README).

local realm = require "helpers.realm"
local testenv = require "sspi_testenv"

local cmd = arg[1]
if not cmd then
  io.stderr:write("usage: lua5.4 bench/with_realm.lua 'COMMAND'\n")
  os.exit(2)
end

local r = realm.start()
local user_file = r.dir .. "/ntlm_users"
local f = assert(io.open(user_file, "w"))
f:write("SSPI:bench:bench-Secret-1\n")
f:close()
testenv.setenv("BENCH_KRB5_TARGET", "host@localhost")
testenv.setenv("NTLM_USER_FILE", user_file)
testenv.setenv("BENCH_NTLM_USER", "SSPI\\bench")
testenv.setenv("BENCH_NTLM_PASSWORD", "bench-Secret-1")
local ok, _, code = os.execute(cmd)
realm.stop_all()
os.exit(ok and 0 or (code or 1))
