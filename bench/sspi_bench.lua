--- The Lua contender: the same work as bench/gss_raw.c, through require "sspi".
--
--   lua5.4 bench/sspi_bench.lua CONTENDER handshake SECONDS
--   lua5.4 bench/sspi_bench.lua CONTENDER wrap SIZE SECONDS
--   lua5.4 bench/sspi_bench.lua memory HANDSHAKES PAIRS
--
-- CONTENDER: "krb5" (package Kerberos), "ntlm-builtin" (the built-in NTLM),
-- "ntlm-gssapi" (NTLM through our gssapi backend, i.e. gss-ntlmssp).
-- Environment as for gss_raw: BENCH_KRB5_TARGET (GSS form, "host@localhost";
-- the SSPI form "host/localhost" is derived), BENCH_NTLM_USER,
-- BENCH_NTLM_PASSWORD, NTLM_USER_FILE.
--
-- Timed modes print "ops=N secs=T bytes=B".  The memory mode prints
-- "rss_start=KiB rss_before=KiB rss_handshakes=KiB ..." (key=value pairs)
-- read from /proc/self/statm after a full collection.  Any failure raises
-- (exit status 1): a benchmark must not time an error path.

local sspi = require "sspi"
local socket = require "socket"

local now = socket.gettime

local function need_env(name)
  local v = os.getenv(name)
  if not v or v == "" then error("sspi_bench: environment variable " .. name .. " is not set", 0) end
  return v
end

local function check(res, err, what)
  if not res then error(("sspi_bench: %s failed: %s"):format(what, tostring(err)), 0) end
  return res
end

-- The same request as gss_raw.c: mutual, replay, sequence, integrity, confidentiality.
local ISC_REQ = sspi.ISC_REQ_MUTUAL_AUTH | sspi.ISC_REQ_REPLAY_DETECT | sspi.ISC_REQ_SEQUENCE_DETECT
  | sspi.ISC_REQ_INTEGRITY | sspi.ISC_REQ_CONFIDENTIALITY
local ASC_REQ = sspi.ASC_REQ_MUTUAL_AUTH | sspi.ASC_REQ_REPLAY_DETECT | sspi.ASC_REQ_SEQUENCE_DETECT
  | sspi.ASC_REQ_INTEGRITY | sspi.ASC_REQ_CONFIDENTIALITY

local function setup(contender)
  local peer = {}
  if contender == "krb5" then
    local gss_target = need_env("BENCH_KRB5_TARGET")
    local service, host = gss_target:match("^([^@]+)@(.+)$")
    assert(service, "BENCH_KRB5_TARGET must look like service@host")
    peer.target = service .. "/" .. host
    peer.icred = check(sspi.credential { package = "Kerberos", usage = "outbound" })
    peer.acred = check(sspi.credential { package = "Kerberos", usage = "inbound" })
  else
    local backend = contender:match("^ntlm%-(%a+)$")
    assert(backend == "builtin" or backend == "gssapi", "unknown contender " .. tostring(contender))
    peer.target = "host/localhost"
    peer.icred = check(sspi.credential { package = "NTLM", backend = backend, usage = "outbound",
      username = need_env("BENCH_NTLM_USER"), password = need_env("BENCH_NTLM_PASSWORD") })
    -- The built-in acceptor is given the user file; gss-ntlmssp reads it from
    -- NTLM_USER_FILE exactly as under raw C.  (Passing user_file to the gssapi
    -- backend goes through gss_acquire_cred_from's "ntlmssp_keyfile", and with
    -- gss-ntlmssp 1.2.0 the initiator's AUTHENTICATE step then fails with
    -- "Invalid argument": see docs/benchmarks.md.)
    local user_file = need_env("NTLM_USER_FILE")
    peer.acred = check(sspi.credential { package = "NTLM", backend = backend, usage = "inbound",
      user_file = backend == "builtin" and user_file or nil })
  end
  return peer
end

-- One full in-process handshake: tokens go straight from one side to the other.
local function handshake(peer)
  local ictx, actx = sspi.context(peer.icred), sspi.context(peer.acred)
  local token, ires, ares
  for _ = 1, 8 do
    local res, err = ictx:step_init { target = peer.target, context_req = ISC_REQ, input = token }
    ires = check(res, err, "step_init")
    local out = ires.token
    if not out or #out == 0 then break end
    res, err = actx:step_accept { context_req = ASC_REQ, input = out }
    ares = check(res, err, "step_accept")
    token = ares.token
    if not token or #token == 0 then break end
  end
  if not (ires and ires.result == "Ok" and ares and ares.result == "Ok") then
    error(("sspi_bench: handshake ended with %s / %s"):format(ires and ires.result, ares and ares.result), 0)
  end
  return ictx, actx
end

local function bench_handshake(peer, seconds)
  local ictx, actx = handshake(peer) -- fetches and caches the service ticket
  ictx:close(); actx:close()
  local ops, elapsed = 0
  local start = now()
  repeat
    ictx, actx = handshake(peer)
    ictx:close(); actx:close()
    ops = ops + 1
    elapsed = now() - start
  until elapsed >= seconds
  print(("ops=%d secs=%.6f bytes=0"):format(ops, elapsed))
end

local ENCRYPT = { encrypt = true }

local function message(size)
  local bytes = {}
  for i = 0, size - 1 do bytes[#bytes + 1] = string.char((i * 7 + 1) & 0xFF) end
  return table.concat(bytes)
end

local function wrap_unwrap(ictx, actx, msg)
  local wrapped = check(ictx:wrap(msg, ENCRYPT))
  local plain, encrypted = actx:unwrap(wrapped)
  if not plain then check(plain, encrypted, "unwrap") end
  if not encrypted or #plain ~= #msg then error("sspi_bench: unwrap gave back something else", 0) end
  return plain
end

local function bench_wrap(peer, size, seconds)
  local ictx, actx = handshake(peer)
  local msg = message(size)
  for _ = 1, 16 do
    if wrap_unwrap(ictx, actx, msg) ~= msg then error("sspi_bench: unwrap gave back other bytes", 0) end
  end
  local batch = size >= 4096 and 1 or 64
  local ops, elapsed = 0
  local start = now()
  repeat
    for _ = 1, batch do wrap_unwrap(ictx, actx, msg) end
    ops = ops + batch
    elapsed = now() - start
  until elapsed >= seconds
  print(("ops=%d secs=%.6f bytes=%d"):format(ops, elapsed, size))
  ictx:close(); actx:close()
end

local PAGE_KIB
local function rss_kib()
  collectgarbage("collect")
  collectgarbage("collect")
  if not PAGE_KIB then
    local p = assert(io.popen("getconf PAGESIZE"))
    PAGE_KIB = assert(tonumber(p:read("l"))) / 1024
    p:close()
  end
  local f = assert(io.open("/proc/self/statm", "r"))
  local _, resident = f:read("n", "n")
  f:close()
  return math.floor(resident * PAGE_KIB)
end

-- Resident memory around 100,000 built-in NTLM handshakes and 100,000
-- wrap/unwrap pairs (64-byte messages: the per-call allocations are what
-- could leak, not the payload).  Each phase takes its "before" after a short
-- warm-up of its own, so one-time initialisation (OpenSSL's legacy provider,
-- the user file, MIT's mechglue configuration and keytab, a first ticket) is
-- not counted as growth; rss_start (right after require) shows the total.
local function bench_memory(handshakes, pairs_count)
  local rss_start = rss_kib()
  local msg = message(64)

  local ntlm = setup("ntlm-builtin")
  for _ = 1, 10 do
    local i, a = handshake(ntlm)
    i:close(); a:close()
  end
  local rss_before = rss_kib()
  local t0 = now()
  for _ = 1, handshakes do
    local i, a = handshake(ntlm)
    i:close(); a:close()
  end
  local t_hs = now() - t0
  local rss_handshakes = rss_kib()

  local function pairs_phase(peer)
    local ictx, actx = handshake(peer)
    for _ = 1, 100 do wrap_unwrap(ictx, actx, msg) end
    local before = rss_kib()
    local start = now()
    for _ = 1, pairs_count do wrap_unwrap(ictx, actx, msg) end
    local secs = now() - start
    local after = rss_kib()
    ictx:close(); actx:close()
    return before, after, secs
  end
  local ntlm_before, ntlm_after, t_ntlm = pairs_phase(ntlm)
  local krb5_before, krb5_after, t_krb5 = pairs_phase(setup("krb5"))
  local rss_end = rss_kib()
  print(("rss_start=%d rss_before=%d rss_handshakes=%d ntlm_wraps_before=%d ntlm_wraps_after=%d "
    .. "krb5_wraps_before=%d krb5_wraps_after=%d rss_end=%d lua_kib=%.0f handshakes=%d pairs=%d "
    .. "secs_handshakes=%.3f secs_ntlm_wraps=%.3f secs_krb5_wraps=%.3f"):format(
    rss_start, rss_before, rss_handshakes, ntlm_before, ntlm_after, krb5_before, krb5_after, rss_end,
    collectgarbage("count"), handshakes, pairs_count, t_hs, t_ntlm, t_krb5))
end

local function usage()
  error("usage: sspi_bench.lua krb5|ntlm-builtin|ntlm-gssapi handshake SECONDS | "
    .. "... wrap SIZE SECONDS | memory HANDSHAKES PAIRS", 0)
end

local contender, measure = arg[1], arg[2]
if contender == "memory" then
  local hs, pc = tonumber(arg[2]), tonumber(arg[3])
  if not (hs and pc) then usage() end
  bench_memory(math.tointeger(hs), math.tointeger(pc))
elseif measure == "handshake" and #arg == 3 then
  bench_handshake(setup(contender), assert(tonumber(arg[3])))
elseif measure == "wrap" and #arg == 4 then
  bench_wrap(setup(contender), assert(math.tointeger(tonumber(arg[3]))), assert(tonumber(arg[4])))
else
  usage()
end
