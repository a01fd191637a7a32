-- gss_sample_client.lua: a Lua twin of MIT's gss-client (krb5-gss-samples).
--
--   lua5.4 examples/gss_sample_client.lua [-nw] [-nx] [-nm] HOST PORT SERVICE MESSAGE
--
-- Connects to a gss-server (MIT's, or examples/gss_sample_server.lua),
-- establishes a Kerberos context with SERVICE ("host@localhost") using the
-- default credentials (KRB5CCNAME), asking for mutual authentication and
-- replay detection as gss-client does; sends MESSAGE wrapped and encrypted
-- (-nw: in the clear, -nx: integrity only), verifies the server's MIC of it
-- (-nm: ask for none) and ends the session.  Exit status 0 on success.

local sspi = require "sspi"
local socket = require "socket"
local handshake = require "sspi.handshake"
local transport = require "sspi.transport"

local USAGE = "usage: lua5.4 examples/gss_sample_client.lua [-nw] [-nx] [-nm] HOST PORT SERVICE MESSAGE\n"

local args, opts = {}, { wrap = true, encrypt = true, mic = true }
for _, a in ipairs(arg) do
  if a == "-nw" then opts.wrap = false
  elseif a == "-nx" then opts.encrypt = false
  elseif a == "-nm" then opts.mic = false
  else args[#args + 1] = a end
end
local host, port, service, message = args[1], tonumber(args[2]), args[3], args[4]
if #args ~= 4 or not port then
  io.stderr:write(USAGE)
  os.exit(2)
end

local function fail(what, err)
  io.stderr:write(what, ": ", handshake.describe(err), "\n")
  os.exit(1)
end

local cred, cerr = sspi.credential{ package = "Kerberos", usage = "outbound" }
if not cred then fail("acquiring credentials", cerr) end

local conn, conn_err = socket.connect(host, port)
if not conn then fail("connecting to " .. host .. ":" .. port, conn_err) end
conn:settimeout(30)
local t = transport.gss_sample(conn)

local ok, err = t:client_start()
if not ok then fail("sending the first token", err) end

local ctx = sspi.context(cred)
local res, herr = handshake.client(ctx, t, {
  target = service,
  context_req = sspi.ISC_REQ_MUTUAL_AUTH | sspi.ISC_REQ_REPLAY_DETECT
                | sspi.ISC_REQ_CONFIDENTIALITY | sspi.ISC_REQ_INTEGRITY,
  max_steps = 8,
  timeout = 30,
})
if not res then fail("establishing the context", herr) end
local names = ctx:query("names")
io.stdout:write(string.format("Context established as %q (flags: %s)\n", names and names.user or "?",
                              table.concat(sspi.flag_names(res.flags, "ISC_RET"), " ")))

ok, err = t:client_message(ctx, message, opts)
if not ok then fail("exchanging the message", err) end
io.stdout:write(opts.mic and "Signature verified.\n" or "Response received.\n")

ok, err = t:client_finish()
if not ok then fail("ending the session", err) end
ctx:close()
conn:close()
