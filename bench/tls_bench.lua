--- The Lua contender of the Schannel benchmarks: the same work as
-- bench/tls_raw.c, through require "sspi" (package Schannel), client and
-- server in one process over strings.
--
--   lua5.4 bench/tls_bench.lua tls13|tls12 handshake SECONDS
--   lua5.4 bench/tls_bench.lua tls13|tls12 wrap SIZE SECONDS
--
-- Environment: BENCH_TLS_CERT, BENCH_TLS_KEY, BENCH_TLS_CA.  The client
-- verifies the chain and the name (the package's default), without session
-- resumption (SCH_CRED_DISABLE_RECONNECTS), AES-128-GCM.  Prints
-- "ops=N secs=T bytes=B"; any failure raises.

local sspi = require "sspi"
local socket = require "socket"

local function need_env(name)
  local v = os.getenv(name)
  if not v or v == "" then error("tls_bench: environment variable " .. name .. " is not set", 0) end
  return v
end

local proto, mode = arg[1], arg[2]
local PROTO = proto == "tls13" and "TLSv1.3" or "TLSv1.2"
local SUITE = proto == "tls13" and "TLS_AES_128_GCM_SHA256" or "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
local cc = assert(sspi.credential { package = "Schannel", usage = "outbound", ca = need_env("BENCH_TLS_CA"),
  protocols = { PROTO }, cipher_suites = { SUITE }, flags = sspi.SCH_CRED_DISABLE_RECONNECTS })
local sc = assert(sspi.credential { package = "Schannel", usage = "inbound",
  certificate = need_env("BENCH_TLS_CERT"), private_key = need_env("BENCH_TLS_KEY"),
  protocols = { PROTO }, cipher_suites = { SUITE } })
local TARGET = "localhost"

local function handshake()
  local c, s = sspi.context(cc), sspi.context(sc)
  local q = assert(c:step_init { target = TARGET })
  local tok, cdone = q.token, false
  while true do
    local r = assert(s:step_accept { input = tok })
    local sdone = r.result == "Ok"
    if cdone then break end
    q = assert(c:step_init { target = TARGET, input = r.token })
    cdone = q.result == "Ok"
    if cdone and sdone then break end
    tok = q.token
  end
  return c, s
end

local now = socket.gettime
local ops = 0
if mode == "handshake" then
  local seconds = tonumber(arg[3])
  local start = now()
  local elapsed
  repeat
    local c, s = handshake()
    c:close()
    s:close()
    ops = ops + 1
    elapsed = now() - start
  until elapsed >= seconds
  print(("ops=%d secs=%.6f bytes=0"):format(ops, elapsed))
elseif mode == "wrap" then
  local size, seconds = tonumber(arg[3]), tonumber(arg[4])
  local data = ("\0"):rep(size)
  local c, s = handshake()
  local start = now()
  local elapsed
  -- Results are checked with branches, as tls_raw.c does, not with calls
  -- to assert: two more function calls per round trip are the harness's
  -- cost, not the API's.
  repeat
    local rec, err = c:wrap(data)
    if not rec then error(err) end
    local got, err2 = s:unwrap(rec)
    if not got then error(err2) end
    if #got ~= size then error("tls_bench: unwrap gave " .. #got .. " bytes") end
    ops = ops + 1
    elapsed = now() - start
  until elapsed >= seconds
  print(("ops=%d secs=%.6f bytes=%d"):format(ops, elapsed, size))
else
  error("usage: tls_bench.lua tls13|tls12 handshake SECONDS | wrap SIZE SECONDS", 0)
end
