--- A second throwaway MIT realm, S4U.TEST, whose KDC keeps its database in
-- LDAP (krb5-kdc-ldap + slapd): the only MIT backend that stores
-- krbAllowedToDelegateTo, so the only one whose KDC grants constrained
-- delegation (S4U2Proxy).  The DB2 realm of helpers/realm.lua refuses it.
--
-- ldap_realm.start{ allowed = { "HTTP/backend.localhost", ... } } makes a temp
-- dir with slapd (on a unix socket in that dir, nothing on the network),
-- the Kerberos container, alice, the service HTTP/s4u.localhost
-- (+ok_to_auth_as_delegate, allowed to delegate to `allowed`), the
-- services `services` and a keytab with every service key; then krb5kdc on
-- 127.0.0.1:<free port>.  It does not touch this process's environment: run
-- clients under r.env (a table of KRB5_* variables), e.g. with r:command().
-- r:stop() kills both daemons by pid and removes the dir; a watcher does the
-- same if this process dies first.  A missing tool is an error, never a skip.

local socket = require "socket"
local testenv = require "sspi_testenv"
local sh = require "helpers.sh"
local shell_quote, read_file, write_file = sh.quote, sh.read_file, sh.write_file

local ldap_realm = {}

local REALM = "S4U.TEST"
local SUFFIX = "dc=sspi,dc=test"
local ADMIN = "cn=admin," .. SUFFIX
local ADMIN_PW = "ldap-Secret-1"
local SERVICE = "HTTP/s4u.localhost"

local function run(cmd, input)
  local out = os.tmpname()
  local full = cmd .. " >" .. shell_quote(out) .. " 2>&1"
  local inp
  if input then
    inp = os.tmpname()
    write_file(inp, input)
    full = full .. " <" .. shell_quote(inp)
  end
  local ok = os.execute(full)
  if inp then os.remove(inp) end
  local text = read_file(out) or ""
  os.remove(out)
  return ok == true, text
end

local function must(cmd, input)
  local ok, text = run(cmd, input)
  if not ok then error("ldap_realm: command failed: " .. cmd .. "\n" .. text, 2) end
  return text
end

local function url_encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local Realm = {}
Realm.__index = Realm

--- A shell prefix that runs a command under this realm's environment.
function Realm:command(cmd)
  local parts = { "env" }
  for k, v in pairs(self.env) do parts[#parts + 1] = k .. "=" .. shell_quote(v) end
  return table.concat(parts, " ") .. " " .. cmd
end

local function kill(pid)
  if not pid then return end
  run("kill " .. pid)
  for i = 1, 150 do
    if not run("kill -0 " .. pid) then return end
    if i == 50 then run("kill -9 " .. pid) end
    socket.sleep(0.02)
  end
end

function Realm:stop()
  kill(self.kdc_pid)
  kill(self.slapd_pid)
  self.kdc_pid, self.slapd_pid = nil, nil
  if self.dir and self.dir:match("/sspi%-ldap%.[%w]+$") then run("rm -rf " .. shell_quote(self.dir)) end
  self.dir = nil
end

local function config(r, allowed_ldap_url)
  write_file(r.dir .. "/slapd.conf", table.concat({
    "include /etc/ldap/schema/core.schema",
    "include /etc/ldap/schema/cosine.schema",
    "include /etc/ldap/schema/nis.schema",
    "include " .. r.dir .. "/kerberos.schema",
    "pidfile " .. r.dir .. "/slapd.pid",
    "modulepath /usr/lib/ldap",
    "moduleload back_mdb",
    "database mdb",
    'suffix "' .. SUFFIX .. '"',
    'rootdn "' .. ADMIN .. '"',
    "rootpw " .. ADMIN_PW,
    "directory " .. r.dir .. "/db",
    "maxsize 104857600",
    "",
  }, "\n"))
  write_file(r.dir .. "/krb5.conf", table.concat({
    "[libdefaults]",
    " default_realm = " .. REALM,
    " dns_lookup_kdc = false",
    " dns_lookup_realm = false",
    " rdns = false",
    " dns_canonicalize_hostname = false",
    " udp_preference_limit = 1",
    " forwardable = true",
    " default_ccache_name = FILE:" .. r.dir .. "/ccache",
    " default_keytab_name = FILE:" .. r.keytab,
    "[realms]",
    " " .. REALM .. " = {",
    "  kdc = 127.0.0.1:" .. r.kdc_port,
    "  database_module = LDAP",
    " }",
    "[domain_realm]",
    " localhost = " .. REALM,
    " .localhost = " .. REALM,
    "[dbmodules]",
    " LDAP = {",
    "  db_library = kldap",
    "  ldap_kerberos_container_dn = cn=krbContainer," .. SUFFIX,
    "  ldap_kdc_dn = " .. ADMIN,
    "  ldap_kadmind_dn = " .. ADMIN,
    "  ldap_service_password_file = " .. r.dir .. "/ldap.stash",
    "  ldap_servers = " .. allowed_ldap_url,
    " }",
    "",
  }, "\n"))
  write_file(r.dir .. "/kdc.conf", table.concat({
    "[kdcdefaults]",
    " kdc_listen = 127.0.0.1:" .. r.kdc_port,
    " kdc_tcp_listen = 127.0.0.1:" .. r.kdc_port,
    "[realms]",
    " " .. REALM .. " = {",
    "  key_stash_file = " .. r.dir .. "/stash",
    "  acl_file = " .. r.dir .. "/kadm5.acl",
    "  max_life = 10h 0m 0s",
    "  supported_enctypes = aes256-cts-hmac-sha1-96:normal",
    "  database_module = LDAP",
    " }",
    "[logging]",
    " kdc = FILE:" .. r.dir .. "/kdc.log",
    "",
  }, "\n"))
  write_file(r.dir .. "/kadm5.acl", "")
end

-- Starts a daemon in the background under a watcher that kills it when
-- this process is gone; returns its pid (from its pid file or $!).
local function spawn(r, cmd, pidfile)
  local script = table.concat({
    cmd .. " >" .. shell_quote(r.dir .. "/" .. pidfile .. ".out") .. " 2>&1 &",
    "echo $!",
  }, "\n")
  local p = assert(io.popen("sh -c " .. shell_quote(script)))
  local pid = tonumber(p:read("l"))
  p:close()
  return pid
end

local function watch(r)
  local script = "(while kill -0 " .. testenv.getpid() .. " 2>/dev/null && [ -d "
    .. shell_quote(r.dir) .. " ]; do sleep 0.2; done; kill " .. r.kdc_pid .. " " .. r.slapd_pid
    .. " 2>/dev/null; sleep 0.5; rm -rf " .. shell_quote(r.dir) .. ") </dev/null >/dev/null 2>&1 &"
  must("sh -c " .. shell_quote(script))
end

--- Starts the realm; opts.allowed: the services HTTP/s4u.localhost may
-- delegate to (S4U2Proxy); opts.services: services to create (keys in
-- r.keytab).  Returns the realm: name, dir, user, password, service,
-- keytab, krb5_config, env, kdc_port, stop().
function ldap_realm.start(opts)
  opts = opts or {}
  for _, tool in ipairs{ "slapd", "slapadd", "ldapmodify", "kdb5_ldap_util", "kadmin.local",
    "krb5kdc" } do
    if not run("command -v " .. tool) then
      error("ldap_realm: required tool '" .. tool .. "' not found (install slapd ldap-utils krb5-kdc-ldap)", 2)
    end
  end
  local dir = must("mktemp -d \"${TMPDIR:-/tmp}/sspi-ldap.XXXXXX\""):match("[^\n]+")
  local r = setmetatable({ name = REALM, dir = dir, user = "alice@" .. REALM,
    password = "alice-Secret-1", service = SERVICE, keytab = dir .. "/keytab" }, Realm)
  local ok, err = pcall(function()
    r.kdc_port = sh.free_port()
    r.krb5_config = dir .. "/krb5.conf"
    local url = "ldapi://" .. url_encode(dir .. "/ldapi")
    r.env = { KRB5_CONFIG = r.krb5_config, KRB5_KDC_PROFILE = dir .. "/kdc.conf",
      KRB5CCNAME = "FILE:" .. dir .. "/ccache", KRB5_KTNAME = "FILE:" .. r.keytab,
      KRB5RCACHEDIR = dir }
    must("mkdir " .. shell_quote(dir .. "/db"))
    local z = assert(io.popen("zcat /usr/share/doc/krb5-kdc-ldap/kerberos.schema.gz"))
    local schema = z:read("a")
    z:close()
    assert(schema:find("krbPrincipalName"), "ldap_realm: no kerberos.schema in krb5-kdc-ldap's docs")
    write_file(dir .. "/kerberos.schema", schema)
    config(r, url)
    must("slapadd -f " .. shell_quote(dir .. "/slapd.conf"), table.concat({
      "dn: " .. SUFFIX, "objectClass: dcObject", "objectClass: organization", "dc: sspi",
      "o: sspi", "" }, "\n"))
    r.slapd_pid = spawn(r, "slapd -d 0 -f " .. shell_quote(dir .. "/slapd.conf") .. " -h "
      .. shell_quote(url), "slapd")
    r.kdc_pid = -1
    local deadline = socket.gettime() + 10
    while not run(("ldapsearch -x -H %s -D %s -w %s -b %s -s base dn"):format(shell_quote(url),
      shell_quote(ADMIN), ADMIN_PW, shell_quote(SUFFIX))) do
      if socket.gettime() > deadline then
        error("ldap_realm: slapd did not answer:\n" .. (read_file(dir .. "/slapd.out") or ""))
      end
      socket.sleep(0.05)
    end
    local util = ("kdb5_ldap_util -D %s -w %s -H %s"):format(shell_quote(ADMIN), ADMIN_PW,
      shell_quote(url))
    must(r:command(util .. " create -subtrees " .. SUFFIX .. " -r " .. REALM
      .. " -s -P master-Secret-1"))
    must(r:command(util .. " stashsrvpw -f " .. shell_quote(dir .. "/ldap.stash") .. " "
      .. shell_quote(ADMIN)), ADMIN_PW .. "\n" .. ADMIN_PW .. "\n")
    local cmds = { ("addprinc -pw %s alice"):format(r.password),
      "addprinc -randkey +ok_to_auth_as_delegate " .. SERVICE }
    local keys = { SERVICE }
    for _, svc in ipairs(opts.services or {}) do
      cmds[#cmds + 1] = "addprinc -randkey " .. svc
      keys[#keys + 1] = svc
    end
    cmds[#cmds + 1] = "ktadd -k " .. r.keytab .. " -norandkey " .. table.concat(keys, " ")
    local text = must(r:command("kadmin.local -r " .. REALM), table.concat(cmds, "\n") .. "\n")
    assert(not text:match("add_principal:") and not text:match("ktadd:"), text)
    if opts.allowed and #opts.allowed > 0 then
      local ldif = { ("dn: krbPrincipalName=%s@%s,cn=%s,cn=krbContainer,%s"):format(SERVICE, REALM,
        REALM, SUFFIX), "changetype: modify", "add: krbAllowedToDelegateTo" }
      for _, svc in ipairs(opts.allowed) do
        ldif[#ldif + 1] = "krbAllowedToDelegateTo: " .. svc .. "@" .. REALM
      end
      must(("ldapmodify -x -H %s -D %s -w %s"):format(shell_quote(url), shell_quote(ADMIN),
        ADMIN_PW), table.concat(ldif, "\n") .. "\n")
    end
    r.kdc_pid = spawn(r, r:command("krb5kdc -n -r " .. REALM), "kdc")
    watch(r)
    deadline = socket.gettime() + 10
    while not run(r:command("kinit " .. r.user), r.password .. "\n") do
      if not run("kill -0 " .. r.kdc_pid) or socket.gettime() > deadline then
        error("ldap_realm: the KDC did not come up:\n" .. (read_file(dir .. "/kdc.out") or "")
          .. (read_file(dir .. "/kdc.log") or ""))
      end
      socket.sleep(0.05)
    end
  end)
  if not ok then
    if r.kdc_pid == -1 then r.kdc_pid = nil end
    r:stop()
    error(err, 0)
  end
  return r
end

return ldap_realm
