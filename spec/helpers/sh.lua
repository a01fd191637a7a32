-- The one set of shell, file, port and process helpers for the spec
-- helpers, the specs, bench/ and fuzz/ (one copy instead of one per file).
local sh = {}

-- Quotes s for /bin/sh.
function sh.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- The whole file, or "" when it cannot be read.
function sh.read_file(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local data = f:read("a")
  f:close()
  return data
end

-- Writes data to path, raising on any failure.
function sh.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  assert(f:close())
end

-- Runs a shell command to completion, with `input` (a string) as its stdin
-- when given.  Returns its combined stdout and stderr, whether it exited
-- 0, and its exit code (or signal number: see `how`, "exit" | "signal").
function sh.run(cmd, input)
  local out = os.tmpname()
  local full = cmd .. " >" .. sh.quote(out) .. " 2>&1"
  local inp
  if input then
    inp = os.tmpname()
    sh.write_file(inp, input)
    full = full .. " <" .. sh.quote(inp)
  end
  local ok, how, code = os.execute(full)
  local text = sh.read_file(out)
  os.remove(out)
  if inp then os.remove(inp) end
  return text, ok == true, code, how
end

-- sh.run that raises with the command's output when it fails; returns the
-- output.  `who` names the caller in the message.
function sh.must(cmd, input, who)
  local text, ok, code = sh.run(cmd, input)
  if not ok then
    error(("%s: command failed (exit %s): %s\n%s"):format(who or "sh", tostring(code), cmd, text), 2)
  end
  return text
end

-- Raises (naming the Debian package to install) when a tool is not in PATH:
-- a missing tool fails loudly, it never skips.
function sh.require_tool(name, package)
  local _, ok = sh.run("command -v " .. sh.quote(name))
  if not ok then
    error(("required tool '%s' not found (apt-get install %s)"):format(name, package or name), 2)
  end
end

-- A port free on 127.0.0.1 for TCP (and for UDP too with `udp`, as a KDC
-- listens on both).
function sh.free_port(udp)
  local socket = require "socket"
  for _ = 1, 50 do
    local tcp = assert(socket.tcp())
    if tcp:bind("127.0.0.1", 0) then
      local _, port = tcp:getsockname()
      local free = true
      if udp then
        local u = assert(socket.udp())
        free = u:setsockname("127.0.0.1", port) and true or false
        u:close()
      end
      tcp:close()
      if free then return tonumber(port) end
    else
      tcp:close()
    end
  end
  error("no free port found on 127.0.0.1", 2)
end

-- A connected pair of LuaSocket TCP sockets on 127.0.0.1 (client side
-- first), each with a timeout of `timeout` seconds (default 5).
function sh.tcp_pair(timeout)
  local socket = require "socket"
  local server = assert(socket.bind("127.0.0.1", 0))
  local _, port = server:getsockname()
  local client = assert(socket.connect("127.0.0.1", port))
  local conn = assert(server:accept())
  server:close()
  client:settimeout(timeout or 5)
  conn:settimeout(timeout or 5)
  return client, conn
end

-- A new private directory under $TMPDIR (default /tmp), named
-- sspi-<what>.XXXXXX.
function sh.tmpdir(what)
  local p = assert(io.popen(("mktemp -d \"${TMPDIR:-/tmp}/sspi-%s.XXXXXX\""):format(what or "spec")))
  local dir = p:read("l")
  p:close()
  assert(dir and dir ~= "", "mktemp -d failed")
  return dir
end

-- Running and not a zombie (an orphan waits for init to reap it, which
-- can take a while; kill -0 would still succeed).
function sh.alive(pid)
  local stat = sh.read_file("/proc/" .. pid .. "/stat")
  local state = stat:match("^%d+ %(.*%) (%a)")
  return state ~= nil and state ~= "Z" and state ~= "X"
end

return sh
