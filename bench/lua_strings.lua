--- What Lua itself costs a binding whose wrap and unwrap return strings:
-- the loop of bench/tls_bench.lua's wrap measure with the two library calls
-- replaced by two method calls that each return a fresh copy of a string
-- (a record's size, then the plaintext's).  No TLS, no sspi.
--
--   lua5.4 bench/lua_strings.lua tls13|tls12 wrap SIZE SECONDS
--
-- Prints "ops=N secs=T bytes=SIZE".  bench/run.lua adds its time per round
-- trip to raw C's of the same round: that sum is what a binding whose C
-- path did exactly what tls_raw.c does would take.

local socket = require "socket"

local proto, mode, size, seconds = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4])
-- What an AES-128-GCM record adds to its data: the 5-byte header and the
-- 16-byte tag, plus TLS 1.3's inner content type or TLS 1.2's 8-byte
-- explicit nonce.
local RECORD_OVERHEAD = ({ tls13 = 22, tls12 = 29 })[proto]
if not RECORD_OVERHEAD or mode ~= "wrap" or not size or not seconds then
  error("usage: lua_strings.lua tls13|tls12 wrap SIZE SECONDS", 0)
end
local record = ("\0"):rep(size + RECORD_OVERHEAD)
local now = socket.gettime
local ops, start = 0, now()
local elapsed
repeat
  local rec = record:sub(1)      -- a new string, as wrap returns one
  if not rec then error("lua_strings: no record") end
  local got = rec:sub(1, size)   -- and another, as unwrap returns one
  if not got then error("lua_strings: no data") end
  if #got ~= size then error("lua_strings: " .. #got .. " bytes") end
  ops = ops + 1
  elapsed = now() - start
until elapsed >= seconds
print(("ops=%d secs=%.6f bytes=%d"):format(ops, elapsed, size))
