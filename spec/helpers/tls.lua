-- TLS test fixtures for the Schannel specs: a throwaway PKI made with the
-- `openssl` command in a temp dir (a CA, a server certificate for
-- localhost/127.0.0.1, an expired one, one for another name, a
-- self-signed one, a client certificate), real peers (`openssl s_server`,
-- `openssl s_client`, python3's ssl module) started on 127.0.0.1 and
-- stopped by pid, and a driver that runs a handshake by hand through
-- step_init/step_accept over a TCP socket.
local sh = require "helpers.sh"
local socket = require "socket"

local M = {}

local function run(cmd)
  local ok = os.execute(cmd .. " >/dev/null 2>&1")
  assert(ok, "command failed: " .. cmd)
end

-- A new temp dir (removed by M.cleanup).
function M.tmpdir()
  local p = io.popen("mktemp -d /tmp/sspi-tls-XXXXXX")
  local dir = p:read("l")
  p:close()
  return dir
end

function M.cleanup(dir)
  if dir and dir:match("^/tmp/sspi%-tls%-") then os.execute("rm -rf " .. sh.quote(dir)) end
end

-- Issues a certificate: name (file stem), subject, SANs, signer ("ca" or
-- nil for self-signed), days (negative: already expired) and EKU.
local function issue(dir, name, subject, sans, signer, days, eku)
  local q = function(f) return sh.quote(dir .. "/" .. f) end
  local ext = dir .. "/" .. name .. ".ext"
  local lines = { "basicConstraints=CA:FALSE" }
  if sans then lines[#lines + 1] = "subjectAltName=" .. sans end
  if eku then lines[#lines + 1] = "extendedKeyUsage=" .. eku end
  sh.write_file(ext, table.concat(lines, "\n") .. "\n")
  run(("openssl req -new -newkey rsa:2048 -nodes -keyout %s -out %s -subj %s")
    :format(q(name .. ".key"), q(name .. ".csr"), sh.quote(subject)))
  if days and days < 0 then
    -- `openssl x509` cannot backdate: `openssl ca` with a minimal config can.
    local cfg = dir .. "/ca.cnf"
    sh.write_file(cfg, ("[ca]\ndefault_ca=d\n[d]\ndatabase=%s/index.txt\nnew_certs_dir=%s\n"
      .. "serial=%s/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n"
      .. "organizationName=optional\n"):format(dir, dir, dir))
    sh.write_file(dir .. "/index.txt", "")
    sh.write_file(dir .. "/serial", "1000\n")
    run(("openssl ca -batch -notext -config %s -cert %s -keyfile %s -in %s -out %s"
      .. " -startdate 200101000000Z -enddate 200201000000Z -extfile %s")
      :format(sh.quote(cfg), q(signer .. ".pem"), q(signer .. ".key"), q(name .. ".csr"),
        q(name .. ".pem"), sh.quote(ext)))
  elseif signer then
    run(("openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -out %s -days %d -extfile %s")
      :format(q(name .. ".csr"), q(signer .. ".pem"), q(signer .. ".key"), q(name .. ".pem"),
        days or 30, sh.quote(ext)))
  else
    run(("openssl x509 -req -in %s -signkey %s -out %s -days %d -extfile %s")
      :format(q(name .. ".csr"), q(name .. ".key"), q(name .. ".pem"), days or 30, sh.quote(ext)))
  end
end

-- The PKI: returns a table of paths {dir, ca, ca_key, server, server_key,
-- expired, expired_key, other, other_key, selfsigned, selfsigned_key,
-- client, client_key}.
function M.pki(dir)
  dir = dir or M.tmpdir()
  run("mkdir -p " .. sh.quote(dir))
  local q = function(f) return sh.quote(dir .. "/" .. f) end
  run(("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 30 -subj '/CN=sspi test CA'"
    .. " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign")
    :format(q("ca.key"), q("ca.pem")))
  issue(dir, "server", "/O=sspi/CN=localhost", "DNS:localhost,IP:127.0.0.1", "ca", 30)
  issue(dir, "expired", "/O=sspi/CN=localhost", "DNS:localhost,IP:127.0.0.1", "ca", -1)
  issue(dir, "other", "/O=sspi/CN=other.example", "DNS:other.example", "ca", 30)
  issue(dir, "selfsigned", "/O=sspi/CN=localhost", "DNS:localhost,IP:127.0.0.1", nil, 30)
  issue(dir, "client", "/O=sspi/CN=alice", nil, "ca", 30, "clientAuth")
  local t = { dir = dir }
  for _, n in ipairs({ "ca", "server", "expired", "other", "selfsigned", "client" }) do
    t[n] = dir .. "/" .. n .. ".pem"
    t[n .. "_key"] = dir .. "/" .. n .. ".key"
  end
  return t
end

-- A free TCP port on 127.0.0.1 (the spec helpers' one: helpers.sh).
M.free_port = sh.free_port

-- Starts a shell command in the background; returns its pid.
function M.spawn(cmd, log)
  local p = io.popen(("sh -c %s & echo $!"):format(
    sh.quote(cmd .. " >" .. sh.quote(log) .. " 2>&1 </dev/null")))
  local pid = tonumber(p:read("l"))
  p:close()
  return pid
end

-- Like spawn, with stdin from a file (for s_client, which sends it).
function M.spawn_stdin(cmd, input, log)
  local p = io.popen(("sh -c %s & echo $!"):format(
    sh.quote(cmd .. " <" .. sh.quote(input) .. " >" .. sh.quote(log) .. " 2>&1")))
  local pid = tonumber(p:read("l"))
  p:close()
  return pid
end

function M.kill(pid)
  if pid then os.execute("kill " .. pid .. " 2>/dev/null; wait " .. pid .. " 2>/dev/null") end
end

-- Connects to 127.0.0.1:port, retrying while the server starts.
function M.connect(port, seconds)
  local deadline = socket.gettime() + (seconds or 90) -- a loaded machine starts processes slowly
  repeat
    local c = socket.connect("127.0.0.1", port)
    if c then
      c:settimeout(90)
      return c
    end
    socket.sleep(0.05)
  until socket.gettime() > deadline
  error("nothing listens on 127.0.0.1:" .. port)
end

-- `openssl s_server` on a free port; opts: cert, key, extra (string of
-- more arguments).  Returns port, pid, log path.
function M.s_server(pki, opts)
  opts = opts or {}
  local port = M.free_port()
  local log = pki.dir .. "/s_server." .. port .. ".log"
  local cmd = ("exec openssl s_server -accept 127.0.0.1:%d -cert %s -key %s -naccept 1 -rev %s")
    :format(port, sh.quote(opts.cert or pki.server), sh.quote(opts.key or pki.server_key),
      opts.extra or "")
  local pid = M.spawn(cmd, log)
  return port, pid, log
end

-- Reads one TLS record (or whatever comes: up to the bytes a record needs)
-- from sock; returns the bytes or nil, err.
function M.read_record(sock)
  local head, err = sock:receive(5)
  if not head then return nil, err end
  local len = head:byte(4) * 256 + head:byte(5)
  local body, err2 = sock:receive(len)
  if not body then return nil, err2 end
  return head .. body
end

-- Drives a handshake by hand through step_init (initiator) or step_accept
-- over sock.  opts: target, context_req, bytewise (the peer's bytes are fed
-- one at a time, so every record arrives cut everywhere),
-- on_incomplete_credentials (called with the IncompleteCredentials result;
-- what it returns is the next step's credential).  Returns the
-- final result table and the bytes received past the handshake (EXTRA), or
-- nil, err, status.
function M.drive(ctx, sock, initiator, opts)
  opts = opts or {}
  local step = initiator and ctx.step_init or ctx.step_accept
  local pending = ""
  local step_cred
  local need = not initiator -- a client speaks first
  while true do
    if need then
      local more, err
      if opts.bytewise then
        more, err = sock:receive(1)
      elseif pending == "" then
        more, err = M.read_record(sock)
      else
        more, err = sock:receive(need == true and 1 or need)
      end
      if not more then return nil, "receive: " .. tostring(err), "RECEIVE" end
      pending = pending .. more
    end
    local args = { input = pending ~= "" and pending or nil, context_req = opts.context_req,
      credential = step_cred }
    step_cred = nil
    if initiator then args.target = opts.target end
    local res, err, status = step(ctx, args)
    if not res then return nil, err, status end
    if res.token then assert(sock:send(res.token)) end
    if res.result == "IncompleteMessage" then
      assert(res.missing >= 1)
      need = res.missing
    elseif res.result == "IncompleteCredentials" then
      -- step again with the same input: go on without a certificate
      need = false
      -- (or with the credential it returns: a client certificate)
      if opts.on_incomplete_credentials then step_cred = opts.on_incomplete_credentials(res) end
    else
      pending = res.extra or ""
      if res.result == "Ok" then return res, pending end
      need = pending == "" and true or false
      if need == false and opts.bytewise then need = true end
    end
  end
end

-- Receives application data through ctx from sock until want(data) is true
-- or the peer closes: post-handshake messages go back through a step (and
-- its token to the peer).  pending: bytes already received.  Returns the
-- data, "closed" when close_notify came (or an error text), and the bytes
-- left over.
function M.read_until(ctx, sock, initiator, pending, want)
  local got = ""
  pending = pending or ""
  while true do
    if pending == "" then
      local rec, err = M.read_record(sock)
      if not rec then return got, "socket: " .. tostring(err), "" end
      pending = rec
    end
    local data, extra, status = ctx:unwrap(pending)
    if data then
      got = got .. data
      pending = extra or ""
      if want(got) then return got, nil, pending end
    elseif status == "SEC_E_INCOMPLETE_MESSAGE" then
      local more, err = sock:receive(extra.missing)
      if not more then return got, "socket: " .. tostring(err), "" end
      pending = pending .. more
    elseif status == "SEC_I_RENEGOTIATE" then
      local res = assert((initiator and ctx.step_init or ctx.step_accept)(ctx, { input = extra.extra }))
      if res.token then assert(sock:send(res.token)) end
      pending = res.extra or ""
    elseif status == "SEC_I_CONTEXT_EXPIRED" then
      return got, "closed", ""
    else
      return got, tostring(extra), pending
    end
  end
end

-- Sends close_notify: SCHANNEL_SHUTDOWN, then a step.
function M.shutdown(ctx, sock, initiator)
  assert(ctx:apply_control_token(require("sspi").SCHANNEL_SHUTDOWN))
  local res = assert((initiator and ctx.step_init or ctx.step_accept)(ctx, {}))
  assert(res.token, "no close_notify")
  assert(sock:send(res.token))
end

-- For a spec file: setup(suite.setup) makes a PKI (suite.pki, filled in
-- place), teardown(suite.teardown) kills the peers spawned through the
-- suite and removes the PKI; credentials on that PKI:
-- suite.client_cred(opts) (trusting its CA), suite.server_cred(opts) (its
-- localhost certificate); opts add to or replace the defaults.
function M.suite()
  local sspi = require "sspi"
  local suite = { pki = {}, pids = {} }
  function suite.setup()
    for k, v in pairs(M.pki()) do suite.pki[k] = v end
  end
  function suite.teardown()
    for _, pid in ipairs(suite.pids) do M.kill(pid) end
    M.cleanup(suite.pki.dir)
  end
  -- A process to kill at teardown (its pid returned).
  function suite.track(pid)
    suite.pids[#suite.pids + 1] = pid
    return pid
  end
  function suite.spawn(cmd, log) return suite.track(M.spawn(cmd, log)) end
  local function cred(o, opts)
    for k, v in pairs(opts or {}) do o[k] = v end
    return assert(sspi.credential(o))
  end
  function suite.client_cred(opts)
    return cred({ package = "Schannel", usage = "outbound", ca = suite.pki.ca }, opts)
  end
  function suite.server_cred(opts)
    return cred({ package = "Schannel", usage = "inbound", certificate = suite.pki.server,
      private_key = suite.pki.server_key }, opts)
  end
  return suite
end

return M
