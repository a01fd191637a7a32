--- A throwaway MIT Kerberos realm for the specs.
--
-- realm.start() builds SSPI.TEST in a fresh temp dir (kdb5_util, kadmin.local),
-- starts krb5kdc on 127.0.0.1:<free port> and points this process at it through
-- the environment (KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5CCNAME, KRB5_KTNAME,
-- KRB5RCACHEDIR), so MIT's GSSAPI and the krb5 tools it runs see only the temp
-- dir.  Nothing is written outside that dir.  busted runs every spec file in
-- one process, so start() returns the realm already running, and the KDC is
-- killed at stop(), at realm.stop_all() or when the Lua state closes.
--
-- A missing tool, a KDC that does not come up or dies is an error, never a skip.

local socket = require "socket"
local testenv = require "sspi_testenv"
local sh = require "helpers.sh"
local shell_quote, read_file, write_file = sh.quote, sh.read_file, sh.write_file

local realm = {}

local REALM = "SSPI.TEST"
local USER, PASSWORD = "alice", "alice-Secret-1"
local MASTER_PASSWORD = "master-Secret-1"
local SERVICES = { "host/localhost", "HTTP/localhost" }
local ENV_NAMES = { "KRB5_CONFIG", "KRB5_KDC_PROFILE", "KRB5CCNAME", "KRB5_KTNAME", "KRB5RCACHEDIR" }

local current -- the running realm, if any

-- sh.run, as ok, output, code.
local function run(cmd, input_text)
  local text, ok, code = sh.run(cmd, input_text)
  return ok, text, code
end

local function must(cmd, input_text)
  return sh.must(cmd, input_text, "realm")
end

local function kdc_conf(dir, port)
  return table.concat({
    "[kdcdefaults]",
    " kdc_listen = 127.0.0.1:" .. port,
    " kdc_tcp_listen = 127.0.0.1:" .. port,
    "[realms]",
    " " .. REALM .. " = {",
    "  database_name = " .. dir .. "/principal",
    "  key_stash_file = " .. dir .. "/stash",
    "  acl_file = " .. dir .. "/kadm5.acl",
    "  max_life = 10h 0m 0s",
    "  max_renewable_life = 7d 0h 0m 0s",
    "  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal",
    " }",
    "[logging]",
    " kdc = FILE:" .. dir .. "/kdc.log",
    "",
  }, "\n")
end

local function krb5_conf(dir, port)
  return table.concat({
    "[libdefaults]",
    " default_realm = " .. REALM,
    " dns_lookup_kdc = false",
    " dns_lookup_realm = false",
    " rdns = false",
    " dns_canonicalize_hostname = false",
    " udp_preference_limit = 1",
    " forwardable = true",
    " default_ccache_name = FILE:" .. dir .. "/ccache",
    " default_keytab_name = FILE:" .. dir .. "/keytab",
    "[realms]",
    " " .. REALM .. " = {",
    "  kdc = 127.0.0.1:" .. port,
    " }",
    "[domain_realm]",
    " localhost = " .. REALM,
    " .localhost = " .. REALM,
    "[logging]",
    " default = FILE:" .. dir .. "/krb5lib.log",
    "",
  }, "\n")
end

local Realm = {}
Realm.__index = Realm

-- Raises with the KDC's log when it is not running any more.
function Realm:check_alive()
  if not self.pid then error("realm: the KDC is stopped", 2) end
  local ok = run("kill -0 " .. self.pid)
  if not ok then
    local pid = self.pid
    self.pid = nil
    error(("realm: krb5kdc (pid %d) died\n--- kdc.out:\n%s\n--- kdc.log:\n%s"):format(
      pid, read_file(self.dir .. "/kdc.out"), read_file(self.dir .. "/kdc.log")), 2)
  end
  return true
end

function Realm.kadmin(_, ...)
  local cmds = table.concat({ ... }, "\n") .. "\n"
  local text = must("kadmin.local -r " .. REALM, cmds)
  -- kadmin.local exits 0 even when a query fails; its complaints name the principal.
  for line in text:gmatch("[^\n]+") do
    if line:match("^add_principal:") or line:match("^ktadd:") or line:match("^kadmin.local: .*while")
      or line:match("^delete_principal:") then
      error("realm: kadmin.local failed: " .. line .. "\n" .. text, 2)
    end
  end
  return text
end

--- Adds a principal with a password, or a random key when password is nil.
function Realm:add_principal(name, password)
  if password then
    assert(not password:find("[\n\"]"), "realm: password may not contain newlines or quotes")
    return self:kadmin(("addprinc -pw \"%s\" %s"):format(password, name))
  end
  return self:kadmin("addprinc -randkey " .. name)
end

--- Adds a service with a random key (once; attributes like "+ok_as_delegate"
-- as a string) and writes its keys into the realm's default keytab.
function Realm:add_service(name, attributes)
  self.services = self.services or {}
  if self.services[name] then return end
  self:kadmin(("addprinc -randkey %s %s"):format(attributes or "", name))
  self:ktadd(name, self.keytab)
  self.services[name] = true
end

--- Writes the principal's current keys (not re-randomised) into a keytab.
function Realm:ktadd(principal, keytab_path)
  return self:kadmin(("ktadd -k %s -norandkey %s"):format(keytab_path, principal))
end

--- kinit into a new FILE: cache in the temp dir; returns the cache name.
-- flags: extra kinit options as one string ("-F": not forwardable, "-l 1h").
function Realm:kinit(principal, password, ccache, flags)
  self:check_alive()
  self.serial = self.serial + 1
  ccache = ccache or ("FILE:" .. self.dir .. "/cc." .. self.serial)
  local ok, text = run(("KRB5CCNAME=%s kinit %s %s"):format(shell_quote(ccache), flags or "",
    shell_quote(principal)), password .. "\n")
  if not ok then
    self:check_alive()
    error("realm: kinit " .. principal .. " failed: " .. text, 2)
  end
  return ccache
end

--- A Kerberos credential pair: outbound for the realm's user (a fresh
-- ccache) and inbound from the realm's keytab (host/ and HTTP/localhost).
function Realm:kerberos_credentials()
  local sspi = require "sspi"
  local client = assert(sspi.credential{ package = "Kerberos", usage = "outbound",
                                         ccache = self:kinit(self.user, self.password) })
  local server = assert(sspi.credential{ package = "Kerberos", usage = "inbound", keytab = self.keytab })
  return client, server
end

function Realm:stop()
  if self.pid then
    run("kill " .. self.pid)
    for i = 1, 150 do
      if not run("kill -0 " .. self.pid) then break end
      if i == 50 then run("kill -9 " .. self.pid) end
      socket.sleep(0.02)
    end
    self.pid = nil
  end
  if self.old_env then
    for _, name in ipairs(ENV_NAMES) do testenv.setenv(name, self.old_env[name]) end
    self.old_env = nil
  end
  if self.dir and self.dir:match("/sspi%-realm%.[%w]+$") then
    run("rm -rf " .. shell_quote(self.dir))
  end
  if current == self then current = nil end
end

local function start_new()
  for _, tool in ipairs({ "kdb5_util", "kadmin.local", "krb5kdc", "kinit" }) do
    sh.require_tool(tool, "krb5-kdc krb5-admin-server krb5-user")
  end

  local dir = sh.tmpdir("realm")
  local r = setmetatable({ name = REALM, dir = dir, serial = 0, user = USER .. "@" .. REALM,
    password = PASSWORD }, Realm)
  local ok, err = pcall(function()
    r.kdc_port = sh.free_port(true) -- the KDC listens on TCP and UDP
    r.krb5_config = dir .. "/krb5.conf"
    r.kdc_profile = dir .. "/kdc.conf"
    r.keytab = dir .. "/keytab"
    r.ccache = "FILE:" .. dir .. "/ccache"
    write_file(r.krb5_config, krb5_conf(dir, r.kdc_port))
    write_file(r.kdc_profile, kdc_conf(dir, r.kdc_port))
    write_file(dir .. "/kadm5.acl", "")
    r.env = {
      KRB5_CONFIG = r.krb5_config,
      KRB5_KDC_PROFILE = r.kdc_profile,
      KRB5CCNAME = r.ccache,
      KRB5_KTNAME = "FILE:" .. r.keytab,
      KRB5RCACHEDIR = dir,
    }
    r.old_env = {}
    for _, name in ipairs(ENV_NAMES) do
      r.old_env[name] = os.getenv(name)
      testenv.setenv(name, r.env[name])
    end

    must(("kdb5_util -r %s create -s -P %s"):format(REALM, shell_quote(MASTER_PASSWORD)))
    local cmds = { ("addprinc -pw \"%s\" %s"):format(PASSWORD, USER) }
    for _, svc in ipairs(SERVICES) do cmds[#cmds + 1] = "addprinc -randkey " .. svc end
    cmds[#cmds + 1] = "ktadd -k " .. r.keytab .. " -norandkey " .. table.concat(SERVICES, " ")
    r:kadmin(table.unpack(cmds))

    -- busted leaves through os.exit without closing the Lua state, so no
    -- finaliser runs: a watcher stops the KDC and removes the dir as soon as
    -- this process is gone, whatever way it ends.
    local script = table.concat({
      "krb5kdc -n -r " .. REALM .. " >" .. shell_quote(dir .. "/kdc.out") .. " 2>&1 &",
      "kpid=$!",
      "echo $kpid",
      "(while kill -0 " .. testenv.getpid() .. " 2>/dev/null && kill -0 $kpid 2>/dev/null;"
        .. " do sleep 0.2; done; kill $kpid 2>/dev/null; sleep 0.5; rm -rf " .. shell_quote(dir)
        .. ") </dev/null >/dev/null 2>&1 &",
    }, "\n")
    local p = assert(io.popen("sh -c " .. shell_quote(script)))
    r.pid = tonumber(p:read("l"))
    p:close()
    assert(r.pid, "realm: could not start krb5kdc")

    -- Ready when kinit succeeds: the KDC answers on TCP.
    local deadline = socket.gettime() + 10
    local last
    while true do
      r:check_alive()
      local kok, text = run(("KRB5CCNAME=%s kinit %s"):format(shell_quote(r.ccache), r.user),
        PASSWORD .. "\n")
      if kok then break end
      last = text
      if socket.gettime() > deadline then
        error("realm: the KDC did not answer within 10 s: " .. tostring(last) .. "\n"
          .. read_file(dir .. "/kdc.log"))
      end
      socket.sleep(0.02)
    end
  end)
  if not ok then
    r:stop()
    error(err, 0)
  end
  return r
end

--- The running realm, or a new one.
function realm.start()
  if current and current.pid then
    current:check_alive()
    return current
  end
  current = start_new()
  return current
end

--- The running realm or nil.
function realm.current() return current end

function realm.stop_all()
  if current then current:stop() end
end

-- The KDC must not outlive the test process: stop it when the state closes.
realm._sentinel = setmetatable({}, { __gc = function() realm.stop_all() end })

return realm
