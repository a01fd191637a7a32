-- MIT's gss-sample programs (krb5-gss-samples) as real peers, through the
-- throwaway realm: our Lua client against MIT gss-server, and MIT
-- gss-client against our Lua server, each with the message exchange after
-- the handshake (wrap / unwrap, MIC, NOOP).

local realm = require "helpers.realm"
local socket = require "socket"
local sh = require "helpers.sh"
local read_file = sh.read_file

local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$")) or "."
local LUA = "lua5.4"
local SERVER = ROOT .. "/examples/gss_sample_server.lua"
local CLIENT = ROOT .. "/examples/gss_sample_client.lua"

local q, alive, free_port = sh.quote, sh.alive, sh.free_port

local function require_tool(name) sh.require_tool(name, "krb5-gss-samples") end

-- Runs a command to completion: exit code, stdout+stderr.
local function run(cmd)
  local out, ok, code = sh.run(cmd)
  return ok and 0 or code, out
end

-- Starts a server in the background; waits for "starting..." on stderr
-- (both gss-server and our twin print it once they listen).
local function start_server(cmd)
  local out, err = os.tmpname(), os.tmpname()
  local p = assert(io.popen(cmd .. " >" .. out .. " 2>" .. err .. " & echo $!"))
  local pid = tonumber(p:read("l"))
  p:close()
  assert(pid, "could not start: " .. cmd)
  local server = { pid = pid, out = out, err = err }
  function server.output() return read_file(out) .. read_file(err) end
  function server.stop()
    os.execute("kill " .. pid .. " 2>/dev/null")
    os.remove(out)
    os.remove(err)
  end
  function server.wait_exit()
    for _ = 1, 500 do
      if not alive(pid) then return true end
      socket.sleep(0.01)
    end
    return false
  end
  local deadline = socket.gettime() + 10
  while not read_file(err):find("starting...", 1, true) do
    if not alive(pid) then
      local text = server.output()
      server.stop()
      error("server exited before listening: " .. cmd .. "\n" .. text, 2)
    end
    if socket.gettime() > deadline then
      local text = server.output()
      server.stop()
      error("server did not start listening within 10 s: " .. cmd .. "\n" .. text, 2)
    end
    socket.sleep(0.02)
  end
  return server
end

describe("gss-sample protocol", function()
  local r

  setup(function()
    require_tool("gss-server")
    require_tool("gss-client")
    r = realm.start()
    -- alice's TGT in the default cache, for both our client and gss-client
    r:kinit(r.user, r.password, r.env.KRB5CCNAME)
  end)

  -- Starts the server command for a free port, runs the client command
  -- against it, waits for the server (-once) to end: the client's exit
  -- code and output, then the server's output.
  local function server_and_client(server_cmd, client_cmd)
    local port = free_port()
    local server = start_server(server_cmd(port))
    local code, out = run(client_cmd(port))
    server.wait_exit()
    local server_out = server.output()
    server.stop()
    return code, out, server_out
  end

  describe("our Lua client against MIT gss-server", function()
    local function exchange(client_flags, message)
      return server_and_client(function(port) return "gss-server -port " .. port .. " -once host@localhost" end,
        function(port)
          return LUA .. " " .. q(CLIENT) .. " " .. client_flags .. " localhost " .. port .. " host@localhost "
            .. q(message)
        end)
    end

    it("authenticates, sends a wrapped encrypted message and verifies gss-server's MIC", function()
      local code, out, server_out = exchange("", "hello from Lua")
      assert.same(0, code, out .. "\n--- gss-server:\n" .. server_out)
      assert.matches("Signature verified.", out, 1, true)
      assert.matches('Accepted connection: "alice@SSPI.TEST"', server_out, 1, true)
      assert.matches('Received message: "hello from Lua"', server_out, 1, true)
      assert.matches("GSS_C_MUTUAL_FLAG", server_out, 1, true)
    end)

    it("sends integrity-only and unwrapped messages as gss-client -nx / -nw do", function()
      local code, out, server_out = exchange("-nx", "integrity only")
      assert.same(0, code, out .. server_out)
      assert.matches('Received message: "integrity only"', server_out, 1, true)
      code, out, server_out = exchange("-nw -nm", "in the clear")
      assert.same(0, code, out .. server_out)
      assert.matches("Response received.", out, 1, true)
      assert.matches('Received message: "in the clear"', server_out, 1, true)
    end)

    it("fails with the core's status when the service is unknown to the KDC", function()
      local port = free_port()
      local server = start_server("gss-server -port " .. port .. " -once host@localhost")
      local code, out = run(LUA .. " " .. q(CLIENT) .. " localhost " .. port .. " nosuch@localhost hello")
      server.stop()
      assert.same(1, code)
      assert.matches("establishing the context: SEC_E_TARGET_UNKNOWN: .*%(step 1%)", out)
    end)

    it("fails when gss-server is not there", function()
      local code, out = run(LUA .. " " .. q(CLIENT) .. " 127.0.0.1 " .. free_port() .. " host@localhost hello")
      assert.same(1, code)
      assert.matches("connecting to 127.0.0.1", out, 1, true)
    end)
  end)

  describe("MIT gss-client against our Lua server", function()
    local function exchange(server_args, client_args)
      return server_and_client(
        function(port) return LUA .. " " .. q(SERVER) .. " -once " .. port .. " " .. server_args end,
        function(port) return "gss-client -port " .. port .. " " .. client_args end)
    end

    it("accepts gss-client, unwraps its encrypted message and returns a MIC it verifies", function()
      local code, out, server_out = exchange("host@localhost", "localhost host@localhost 'hello from MIT'")
      assert.same(0, code, out .. "\n--- our server:\n" .. server_out)
      assert.matches("Signature verified.", out, 1, true)
      assert.matches('Accepted connection: "alice@SSPI.TEST"', server_out, 1, true)
      assert.matches('Received message (encrypted): "hello from MIT"', server_out, 1, true)
    end)

    it("handles several messages, no mutual auth, sequence checks and unwrapped text", function()
      local code, out, server_out = exchange("host@localhost",
        "-mcount 3 -nomutual -seq localhost host@localhost 'three times'")
      assert.same(0, code, out .. server_out)
      local _, count = server_out:gsub('Received message %(encrypted%): "three times"', "")
      assert.same(3, count)
      code, out, server_out = exchange("host@localhost", "-nw -nm localhost host@localhost plain")
      assert.same(0, code, out .. server_out)
      assert.matches('Received message: "plain"', server_out, 1, true)
    end)

    it("takes an unauthenticated session (gss-client -na) without a context", function()
      local code, out, server_out = exchange("host@localhost", "-na localhost host@localhost anon")
      assert.same(0, code, out .. server_out)
      assert.matches("Accepted unauthenticated connection.", server_out, 1, true)
      assert.matches('Received message: "anon"', server_out, 1, true)
    end)

    it("refuses a client that asks for another service, with the core's status and step", function()
      local code, out, server_out = exchange("host@localhost", "localhost HTTP@localhost hello")
      assert.are_not.same(0, code, out)
      assert.matches("connection failed: SEC_E_WRONG_PRINCIPAL: .*%(step 1%)", server_out)
      assert.is_nil(server_out:find("Accepted connection", 1, true))
    end)
  end)
end)
