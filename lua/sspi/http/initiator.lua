--- sspi.http.initiator: the client side of HTTP Negotiate (RFC 4559) and
-- NTLM authentication, as a state machine over header values: it answers a
-- 401's WWW-Authenticate with an Authorization value and checks the final
-- response's token.  No sockets: sspi.http.client drives it over
-- LuaSocket, any other HTTP stack can drive it the same way.  Reached
-- through `sspi.http` (`http.initiator`).
--
-- @module sspi.http.initiator

local base = require "sspi.base"
local headers = require "sspi.http.headers"

local fail = base.fail
local SCHEME_PACKAGE, SCHEME_NAME = headers.SCHEME_PACKAGE, headers.SCHEME_NAME

local M = {}

local Initiator = {}
Initiator.__index = Initiator
Initiator.__name = "sspi.http.initiator"

--- The options of an initiator (sspi.http.client takes them too).
M.OPTIONS = {
  schemes = true, credential = true, target = true, host = true, context_req = true,
  mutual = true, username = true, password = true, ccache = true, backend = true,
  max_legs = true, channel_bindings = true,
}

--- A client authenticator for one server.
-- opts.schemes     schemes accepted, in order of preference (default {"Negotiate", "NTLM"})
-- opts.credential  an outbound sspi credential (else one is acquired per scheme,
--                  from username / password / ccache / backend when given)
-- opts.target      SSPI target name (default "HTTP/" .. opts.host)
-- opts.context_req ISC_REQ_* mask (default MUTUAL_AUTH for Negotiate)
-- opts.mutual      require the server's final token for Negotiate (default true)
-- opts.max_legs    how many 401 answers to accept (default 5)
-- opts.channel_bindings  a SECBUFFER_CHANNEL_BINDINGS buffer (sspi.channel_bindings),
--                  or a function returning one (or nil), asked at the first step:
--                  Extended Protection over HTTPS (sspi.tls: conn:channel_bindings())
function M.new(opts)
  opts = base.check_options(opts, M.OPTIONS, "initiator")
  local schemes = {}
  for i, s in ipairs(opts.schemes or { "Negotiate", "NTLM" }) do
    schemes[i] = headers.scheme_key(s)
  end
  if not opts.target and type(opts.host) ~= "string" then
    error("bad argument #1 to 'initiator' (target or host expected)", 2)
  end
  return setmetatable({
    opts = opts,
    schemes = schemes,
    target = opts.target or ("HTTP/" .. opts.host),
    max_legs = opts.max_legs or 5,
    legs = 0,
  }, Initiator)
end

function Initiator:_credential(key)
  local o = self.opts
  if o.credential then return o.credential end
  local sspi = base.sspi()
  local args = { package = SCHEME_PACKAGE[key], usage = "outbound" }
  for _, k in ipairs({ "username", "password", "ccache", "backend" }) do
    args[k] = o[k]
  end
  return sspi.credential(args)
end

-- A step's input: the token, and the channel bindings when there are any.
function Initiator:_input(token)
  local cb = self.cb
  if cb == nil then
    cb = self.opts.channel_bindings
    if type(cb) == "function" then cb = cb() end
    self.cb = cb or false
  end
  if not cb then return token end
  if token then return { token, cb } end
  return { cb }
end

function Initiator:_context_req(key)
  if self.opts.context_req then return self.opts.context_req end
  local sspi = base.sspi()
  if key == "negotiate" then
    return sspi.ISC_REQ_MUTUAL_AUTH | sspi.ISC_REQ_CONNECTION
  end
  return sspi.ISC_REQ_CONNECTION
end

--- Resets the authenticator (a new handshake on the next challenge).
function Initiator:reset()
  if self.context then self.context:close() end
  self.context, self.scheme, self.done, self.flags, self.cb = nil, nil, nil, nil, nil
  self.legs = 0
end

--- Answers a 401's WWW-Authenticate value (string or list of field values)
-- with an Authorization value.  Returns the value, or nil, err, status when
-- the challenge cannot be answered (no common scheme, the server rejected
-- the last token, a security failure in the context).
function Initiator:respond(www_authenticate)
  local challenges, perr = headers.parse_challenges(www_authenticate)
  if not challenges then
    return fail("SEC_E_INVALID_TOKEN", perr)
  end
  self.legs = self.legs + 1
  if self.legs > self.max_legs then
    return fail("SEC_E_INTERNAL_ERROR", "too many authentication legs (" .. self.max_legs .. ")")
  end
  local input
  if self.context then
    local c = headers.find_challenge(challenges, SCHEME_NAME[self.scheme])
    if self.done or not c or not c.token68 then
      -- a bare challenge after our token is the server's "no"
      return fail("SEC_E_LOGON_DENIED",
        ("the server rejected the %s credentials"):format(SCHEME_NAME[self.scheme]))
    end
    local tok, err = base.b64decode(c.token68)
    if not tok then return fail("SEC_E_INVALID_TOKEN", "WWW-Authenticate: " .. err) end
    input = tok
  else
    for _, key in ipairs(self.schemes) do
      if headers.find_challenge(challenges, key) then
        self.scheme = key
        break
      end
    end
    if not self.scheme then
      return fail("SEC_E_SECPKG_NOT_FOUND", "the server offers none of the schemes "
        .. table.concat(self.schemes, ", "))
    end
    local sspi = base.sspi()
    local cred, cerr, cstatus = self:_credential(self.scheme)
    if not cred then return nil, cerr, cstatus end
    self.context = sspi.context(cred)
  end
  local res, err, status = base.step(self.context, "step_init", {
    target = self.target, context_req = self:_context_req(self.scheme), input = self:_input(input),
  })
  if not res then return nil, err, status end
  if res.result == "Ok" then
    self.done, self.flags = true, res.flags
  end
  if not res.token or #res.token == 0 then
    return fail("SEC_E_INTERNAL_ERROR", "the context produced no token to send")
  end
  return headers.format_credentials(SCHEME_NAME[self.scheme], base.b64encode(res.token))
end

--- Checks the final (non-401) response: feeds the server's last token
-- (mutual authentication) to the context.  Returns true, or nil, err,
-- status when the server's token does not verify or, for Negotiate with
-- mutual authentication, is missing.
function Initiator:finish(www_authenticate)
  if not self.context or self.done and not www_authenticate then
    return true
  end
  local c
  if www_authenticate then
    local challenges = headers.parse_challenges(www_authenticate)
    c = challenges and headers.find_challenge(challenges, SCHEME_NAME[self.scheme])
  end
  if c and c.token68 then
    if self.done then
      return fail("SEC_E_INVALID_TOKEN", "a token after the context was complete")
    end
    local tok, err = base.b64decode(c.token68)
    if not tok then return fail("SEC_E_INVALID_TOKEN", "WWW-Authenticate: " .. err) end
    local res, serr, status = base.step(self.context, "step_init", {
      target = self.target, context_req = self:_context_req(self.scheme), input = self:_input(tok),
    })
    if not res then return nil, serr, status end
    if res.result ~= "Ok" then
      return fail("SEC_E_INCOMPLETE_MESSAGE", "the server's final token left the context incomplete")
    end
    self.done, self.flags = true, res.flags
    return true
  end
  if not self.done and self.opts.mutual ~= false then
    return fail("SEC_E_MUTUAL_AUTH_FAILED",
      "the server answered without the final token, so it was not authenticated")
  end
  return true
end

return M
