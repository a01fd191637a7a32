-- The Schannel package tells the peer why a handshake failed: a failed step
-- hands out the TLS alert it wrote (err.token, and an output
-- SECBUFFER_ALERT), as Windows' Schannel does, and sspi.tls sends it before
-- closing.  Checked against `openssl s_server` / `openssl s_client`, which
-- print the alert they received.
local sspi = require "sspi"
local socket = require "socket"
local stls = require "sspi.tls"
local tls = require "helpers.tls"
local sh = require "helpers.sh"

local pki
local pids = {}

local function client_cred(opts) return tls.client_cred(pki, opts) end

local function server_cred(opts) return tls.server_cred(pki, opts) end

-- Waits until the peer's log says `pattern` (or 90 s pass); returns the log.
local function wait_log(log, pattern)
  local deadline = socket.gettime() + 90
  local text = sh.read_file(log) or ""
  while not text:find(pattern) and socket.gettime() < deadline do
    socket.sleep(0.05)
    text = sh.read_file(log) or ""
  end
  return text
end

-- Parses a TLS alert record: level, description.
local function alert_of(bytes)
  assert.is_string(bytes)
  assert.same(21, bytes:byte(1), "not an alert record")
  return bytes:byte(6), bytes:byte(7)
end

setup(function()
  pki = tls.pki()
end)

teardown(function()
  for _, pid in ipairs(pids) do tls.kill(pid) end
  tls.cleanup(pki and pki.dir)
end)

describe("Schannel: the alert of a failed step", function()
  it("is err.token and the output SECBUFFER_ALERT (in one process)", function()
    -- the server refuses a client that offers TLS 1.3 only: protocol_version (70)
    local client = sspi.context(client_cred { protocols = { "TLSv1.3" } })
    local server = sspi.context(server_cred { protocols = { "TLSv1.2" } })
    local hello = assert(client:step_init { target = "localhost" }).token
    local res, err, status = server:step_accept { input = hello,
      output = { sspi.SECBUFFER_TOKEN, sspi.SECBUFFER_ALERT } }
    assert.is_nil(res)
    assert.same("SEC_E_ALGORITHM_MISMATCH", status)
    local level, desc = alert_of(err.token)
    assert.same(2, level)
    assert.same(70, desc)
    -- the client that gets it fails with its description
    local cres, cerr, cstatus = client:step_init { target = "localhost", input = err.token }
    assert.is_nil(cres)
    assert.same("SEC_E_ILLEGAL_MESSAGE", cstatus)
    assert.matches("protocol version", cerr.message)

    -- a preallocated SECBUFFER_ALERT gets it too, without a token buffer
    client = sspi.context(client_cred { protocols = { "TLSv1.3" } })
    server = sspi.context(server_cred { protocols = { "TLSv1.2" } })
    hello = assert(client:step_init { target = "localhost" }).token
    local buf = sspi.buffer(sspi.SECBUFFER_ALERT, 64)
    res, err = server:step_accept { input = hello, output = { buf } }
    assert.is_nil(res)
    assert.is_nil(err.token)
    assert.same(7, #buf)
    assert.same(70, select(2, alert_of(buf:data())))

    -- the client refuses an untrusted certificate: its alert is for the server
    client = sspi.context(client_cred())
    server = sspi.context(server_cred { certificate = pki.selfsigned, private_key = pki.selfsigned_key })
    local t = assert(client:step_init { target = "localhost" }).token
    t = assert(server:step_accept { input = t }).token
    res, err, status = client:step_init { target = "localhost", input = t }
    assert.is_nil(res)
    assert.same("SEC_E_UNTRUSTED_ROOT", status)
    level, desc = alert_of(err.token)
    assert.same(2, level)
    assert.same(48, desc) -- unknown_ca
  end)

  it("sspi.tls: our client refusing an untrusted server certificate sends the alert to s_server", function()
    local port, pid, log = tls.s_server(pki, { cert = pki.selfsigned, key = pki.selfsigned_key })
    pids[#pids + 1] = pid
    local conn, err, status
    for _ = 1, 1800 do
      conn, err, status = stls.connect("127.0.0.1", port, { credential = client_cred(),
        target = "localhost", timeout = 90 })
      if conn or err ~= "connection refused" then break end
      socket.sleep(0.05)
    end
    assert.is_nil(conn)
    assert.same("SEC_E_UNTRUSTED_ROOT", status, tostring(err))
    assert.matches("alert unknown ca", wait_log(log, "alert unknown ca"))
  end)

  for _, proto in ipairs({ "TLSv1.2", "TLSv1.3" }) do
    it("sspi.tls: our server refusing a client with only " .. proto .. " (disabled) sends protocol_version", function()
      local server = assert(socket.bind("127.0.0.1", 0))
      local _, port = server:getsockname()
      local log = pki.dir .. "/s_client." .. port .. ".log"
      pids[#pids + 1] = tls.spawn(("exec openssl s_client -connect 127.0.0.1:%d -CAfile %s %s")
        :format(port, sh.quote(pki.ca), proto == "TLSv1.2" and "-tls1_2" or "-tls1_3"), log)
      server:settimeout(90)
      local enabled = proto == "TLSv1.2" and "TLSv1.3" or "TLSv1.2"
      local conn, err, status = stls.accept(server, { credential = server_cred { protocols = { enabled } },
        timeout = 90 })
      server:close()
      assert.is_nil(conn)
      assert.same("SEC_E_ALGORITHM_MISMATCH", status, tostring(err))
      assert.matches("alert protocol version", wait_log(log, "alert protocol version"))
    end)
  end
end)
