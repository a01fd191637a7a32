--- The loopback HTTPS throughput benchmark: sspi.tls (the Schannel package)
-- over LuaSocket against LuaSec (Debian's lua-sec, the TLS a Lua user picks
-- today) on the same transfer: one HTTP/1.1 connection on 127.0.0.1, TLS 1.3
-- with AES-128-GCM, responses of RESPONSE_BYTES sent in 16 KiB writes and
-- read in 16 KiB reads, as many as fit in SECONDS.  Both sides of a run use
-- the same library; the server is a child process of the client.
--
--   lua5.4 bench/https_transfer.lua sspi|luasec transfer SECONDS
--
-- Environment: BENCH_TLS_CERT, BENCH_TLS_KEY, BENCH_TLS_CA (as tls_bench.lua).
-- Prints "ops=N secs=T bytes=B" (ops responses of B bytes); any failure raises.
-- The child ("serve" mode) prints "port N" once it listens.

local socket = require "socket"

local CHUNK = 16384
local RESPONSE_BYTES = 4 * 1024 * 1024
local TARGET = "localhost"

local function need_env(name)
  local v = os.getenv(name)
  if not v or v == "" then error("https_transfer: environment variable " .. name .. " is not set", 0) end
  return v
end

-- Each library as two functions over a connected LuaSocket TCP object:
-- client(sock) and server(sock) return the wrapped connection, handshake done.
local LIBS = {}

function LIBS.sspi()
  local sspi = require "sspi"
  local tls = require "sspi.tls"
  local suites = { "TLS_AES_128_GCM_SHA256" }
  local lib = {}
  function lib.client(sock)
    local cred = assert(sspi.credential { package = "Schannel", usage = "outbound", ca = need_env("BENCH_TLS_CA"),
      protocols = { "TLSv1.3" }, cipher_suites = suites })
    local conn = assert(tls.wrap(sock, { credential = cred, target = TARGET }))
    assert(conn:handshake())
    return conn
  end
  function lib.server(sock)
    local cred = assert(sspi.credential { package = "Schannel", usage = "inbound",
      certificate = need_env("BENCH_TLS_CERT"), private_key = need_env("BENCH_TLS_KEY"),
      protocols = { "TLSv1.3" }, cipher_suites = suites })
    local conn = assert(tls.wrap(sock, { credential = cred, server = true }))
    assert(conn:handshake())
    return conn
  end
  return lib
end

function LIBS.luasec()
  local ssl = require "ssl"
  local lib = {}
  local common = { protocol = "tlsv1_3", ciphersuites = "TLS_AES_128_GCM_SHA256" }
  local function wrap(sock, params)
    for k, v in pairs(common) do params[k] = v end
    local conn = assert(ssl.wrap(sock, params))
    if params.mode == "client" then conn:sni(TARGET) end
    assert(conn:dohandshake())
    return conn
  end
  function lib.client(sock)
    -- verify = "peer" checks the chain; LuaSec has no name check of its own
    return wrap(sock, { mode = "client", cafile = need_env("BENCH_TLS_CA"), verify = "peer" })
  end
  function lib.server(sock)
    return wrap(sock, { mode = "server", certificate = need_env("BENCH_TLS_CERT"), key = need_env("BENCH_TLS_KEY") })
  end
  return lib
end

local which, mode = arg[1], arg[2]
local make = LIBS[which or ""]
if not make or (mode ~= "transfer" and mode ~= "serve") then
  error("usage: https_transfer.lua sspi|luasec transfer SECONDS", 0)
end
local lib = make()

-- The server: one connection, a response of RESPONSE_BYTES per request line
-- until the client closes.
local function serve()
  local listener = assert(socket.bind("127.0.0.1", 0))
  local _, port = listener:getsockname()
  io.stdout:write("port ", port, "\n")
  io.stdout:flush()
  local sock = assert(listener:accept())
  listener:close()
  local conn = lib.server(sock)
  local body = ("x"):rep(CHUNK)
  local head = ("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"):format(RESPONSE_BYTES)
  while true do
    local line = conn:receive("*l")
    if not line then break end
    if line == "" then
      assert(conn:send(head))
      for _ = 1, RESPONSE_BYTES // CHUNK do assert(conn:send(body)) end
    end
  end
  conn:close()
end

local function transfer(seconds)
  local child = assert(io.popen(("lua5.4 %q %s serve"):format(arg[0], which), "r"))
  local port = tonumber((child:read("l") or ""):match("^port (%d+)$"))
  if not port then error("https_transfer: the server did not start", 0) end
  local sock = assert(socket.connect("127.0.0.1", port))
  local conn = lib.client(sock)
  local ops, start = 0, socket.gettime()
  local elapsed
  repeat
    assert(conn:send("GET /bytes HTTP/1.1\r\nHost: localhost\r\n\r\n"))
    local status = assert(conn:receive("*l"))
    if not status:find("^HTTP/1.1 200") then error("https_transfer: " .. status, 0) end
    local length
    while true do
      local h = assert(conn:receive("*l"))
      if h == "" then break end
      length = length or tonumber(h:match("^Content%-Length: (%d+)"))
    end
    local left = assert(length, "no Content-Length")
    while left > 0 do
      local got = assert(conn:receive(math.min(CHUNK, left)))
      left = left - #got
    end
    ops = ops + 1
    elapsed = socket.gettime() - start
  until elapsed >= seconds
  conn:close()
  child:close()
  print(("ops=%d secs=%.6f bytes=%d"):format(ops, elapsed, RESPONSE_BYTES))
end

if mode == "serve" then serve() else transfer(tonumber(arg[3]) or 1) end
