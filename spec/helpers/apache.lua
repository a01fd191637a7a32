--- An isolated Apache 2.4 with mod_auth_gssapi for the specs.
--
-- apache.start{ keytab = path, krb5_config = path } writes its own
-- ServerRoot in a temp dir (httpd.conf, htdocs, logs, a copy of the keytab
-- and krb5.conf), listens on 127.0.0.1:<free port> and protects every path
-- with GSSAPI (Negotiate, krb5 only).  The response carries the name Apache
-- authenticated in the header X-Remote-User and, for /whoami, the body.
-- Nothing outside the temp dir is read or written except the Debian module
-- files in /usr/lib/apache2/modules.  A missing apache2 or module raises.
--
--   local a = apache.start{ keytab = r.keytab, krb5_config = r.krb5_config }
--   a.port, a.url ("http://127.0.0.1:PORT"), a.dir, a:error_log(), a:stop()
--
-- apache.start_https{ certificate = path, private_key = path } is the same
-- Apache with mod_ssl instead: htdocs over HTTPS, no authentication.

local socket = require "socket"
local sh = require "helpers.sh"
local shell_quote, read_file, write_file = sh.quote, sh.read_file, sh.write_file

local apache = {}

local MODULES_DIR = "/usr/lib/apache2/modules"
local MODULES = {
  { "mpm_prefork_module", "mod_mpm_prefork.so" },
  { "authn_core_module", "mod_authn_core.so" },
  { "authz_core_module", "mod_authz_core.so" },
  { "authz_user_module", "mod_authz_user.so" },
  { "headers_module", "mod_headers.so" },
  { "auth_gssapi_module", "mod_auth_gssapi.so" },
}

-- sh.run, as ok, output.
local function run(cmd)
  local out, ok = sh.run(cmd)
  return ok, out
end

local function must(cmd)
  return sh.must(cmd, nil, "apache")
end

local function find_apache()
  for _, p in ipairs({ "/usr/sbin/apache2", "/usr/sbin/httpd" }) do
    if io.open(p) then return p end
  end
  error("apache: /usr/sbin/apache2 not found (apt-get install apache2 libapache2-mod-auth-gssapi)", 3)
end

-- httpd.conf: the server itself (log level, modules), then `rest`.
local function conf_text(a, log_level, modules, rest)
  local lines = {
    "ServerRoot " .. a.dir,
    "ServerName localhost",
    "Listen 127.0.0.1:" .. a.port,
    "PidFile " .. a.dir .. "/httpd.pid",
    "DefaultRuntimeDir " .. a.dir .. "/run",
    "ErrorLog " .. a.dir .. "/error.log",
    "LogLevel " .. log_level,
    -- root starts it; the children run as nobody, so everything they read
    -- is a world-readable copy inside the temp dir
    "User nobody",
    "Group nogroup",
    "StartServers 1",
    "MinSpareServers 1",
    "MaxSpareServers 2",
    "KeepAlive On",
    "DocumentRoot " .. a.dir .. "/htdocs",
  }
  for _, m in ipairs(modules) do
    lines[#lines + 1] = ("LoadModule %s %s/%s"):format(m[1], MODULES_DIR, m[2])
  end
  for _, l in ipairs(rest) do lines[#lines + 1] = l end
  return table.concat(lines, "\n")
end

local function config(a)
  return conf_text(a, "warn auth_gssapi:debug", MODULES, {
    '<Directory "' .. a.dir .. '/htdocs">',
    "  AuthType GSSAPI",
    '  AuthName "sspi test"',
    "  GssapiCredStore keytab:" .. a.dir .. "/http.keytab",
    "  GssapiAllowedMech krb5",
    "  GssapiBasicAuth Off",
    "  Require valid-user",
    '  Header always set X-Remote-User "expr=%{REMOTE_USER}"',
    "</Directory>",
    "",
  })
end

local Apache = {}
Apache.__index = Apache

function Apache:error_log()
  return read_file(self.dir .. "/error.log")
end

function Apache:pid()
  return tonumber((read_file(self.dir .. "/httpd.pid"):match("%d+")))
end

function Apache:stop()
  local pid = self:pid()
  if pid then
    run("kill -TERM " .. pid)
    for _ = 1, 250 do
      if not run("kill -0 " .. pid) then break end
      socket.sleep(0.02)
    end
  end
  if self.dir and self.dir:match("/sspi%-apache%.[%w]+$") then
    run("rm -rf " .. shell_quote(self.dir))
  end
  self.dir = nil
end

local function check_modules(modules, level)
  for _, m in ipairs(modules) do
    if not io.open(MODULES_DIR .. "/" .. m[2]) then
      error("apache: module " .. m[2] .. " missing (apt-get install apache2 libapache2-mod-auth-gssapi)",
        level + 1)
    end
  end
end

-- Makes the ServerRoot (prepare(a) fills it), starts Apache with the
-- environment env and waits until it listens; returns the Apache object.
local function launch(scheme, prepare, env)
  local bin = find_apache()
  local dir = sh.tmpdir("apache")
  local a = setmetatable({ dir = dir, port = sh.free_port() }, Apache)
  a.url = scheme .. "://127.0.0.1:" .. a.port
  local ok, err = pcall(function()
    must("mkdir -p " .. shell_quote(dir .. "/htdocs") .. " " .. shell_quote(dir .. "/run")
      .. " " .. shell_quote(dir .. "/rcache"))
    write_file(dir .. "/htdocs/whoami", "apache says hello\n")
    prepare(a)
    if type(env) == "function" then env = env() end
    must(("%s %s -f %s -k start"):format(env or "env", bin, shell_quote(dir .. "/httpd.conf")))
    local deadline = socket.gettime() + 10
    while true do
      local c = socket.tcp()
      c:settimeout(0.2)
      local up = c:connect("127.0.0.1", a.port)
      c:close()
      if up and a:pid() then break end
      if socket.gettime() > deadline then
        error("apache did not come up within 10 s:\n" .. a:error_log())
      end
      socket.sleep(0.05)
    end
  end)
  if not ok then
    a:stop()
    error(err, 0)
  end
  return a
end

--- Starts Apache; opts.keytab (with HTTP/localhost keys) and
-- opts.krb5_config are required.
function apache.start(opts)
  assert(type(opts) == "table" and opts.keytab and opts.krb5_config,
    "apache.start{ keytab = ..., krb5_config = ... }")
  check_modules(MODULES, 2)
  local dir
  return launch("http", function(a)
    dir = a.dir
    must(("cp %s %s && cp %s %s"):format(shell_quote(opts.keytab), shell_quote(dir .. "/http.keytab"),
      shell_quote(opts.krb5_config), shell_quote(dir .. "/krb5.conf")))
    -- readable by the nobody children; the replay cache dir writable by them
    must(("chmod 755 %s %s/htdocs %s/run && chmod 644 %s/http.keytab %s/krb5.conf %s/htdocs/whoami"
      .. " && chmod 1777 %s/rcache"):format(dir, dir, dir, dir, dir, dir, dir))
    write_file(dir .. "/httpd.conf", config(a))
  end, function()
    return ("env -u KRB5CCNAME KRB5_CONFIG=%s KRB5RCACHEDIR=%s KRB5_KTNAME=%s")
      :format(shell_quote(dir .. "/krb5.conf"), shell_quote(dir .. "/rcache"),
        shell_quote("FILE:" .. dir .. "/http.keytab"))
  end)
end

local TLS_MODULES = {
  { "mpm_prefork_module", "mod_mpm_prefork.so" },
  { "authz_core_module", "mod_authz_core.so" },
  { "socache_shmcb_module", "mod_socache_shmcb.so" },
  { "ssl_module", "mod_ssl.so" },
}

local function tls_config(a, protocols)
  return conf_text(a, "warn ssl:info", TLS_MODULES, {
    "SSLSessionCache shmcb:" .. a.dir .. "/run/ssl_scache(512000)",
    "SSLEngine on",
    "SSLCertificateFile " .. a.dir .. "/server.pem",
    "SSLCertificateKeyFile " .. a.dir .. "/server.key",
    "SSLProtocol -all " .. protocols,
    -- the protocol of each request, from Apache's side
    'CustomLog "' .. a.dir .. '/access.log" "%{SSL_PROTOCOL}x \\"%r\\" %>s"',
    '<Directory "' .. a.dir .. '/htdocs">',
    "  Require all granted",
    "</Directory>",
    "",
  })
end

--- Starts Apache with mod_ssl serving htdocs (/whoami: "apache says
-- hello") over HTTPS, no authentication: opts.certificate and
-- opts.private_key (paths) are required; opts.protocols is mod_ssl's list
-- (default "+TLSv1.2 +TLSv1.3").  a.url is "https://127.0.0.1:PORT";
-- a:access_log() lines are "PROTOCOL \"REQUEST\" STATUS".
function apache.start_https(opts)
  assert(type(opts) == "table" and opts.certificate and opts.private_key,
    "apache.start_https{ certificate = ..., private_key = ... }")
  check_modules(TLS_MODULES, 2)
  return launch("https", function(a)
    local dir = a.dir
    must(("cp %s %s && cp %s %s"):format(shell_quote(opts.certificate), shell_quote(dir .. "/server.pem"),
      shell_quote(opts.private_key), shell_quote(dir .. "/server.key")))
    must(("chmod 755 %s %s/htdocs %s/run && chmod 644 %s/htdocs/whoami"):format(dir, dir, dir, dir))
    write_file(dir .. "/httpd.conf", tls_config(a, opts.protocols or "+TLSv1.2 +TLSv1.3"))
  end)
end

function Apache:access_log()
  return read_file(self.dir .. "/access.log") or ""
end

return apache
