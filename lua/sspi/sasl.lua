--- The SASL GSSAPI mechanism (RFC 4752), client and server, with its
-- security layer.
--
-- Both sides are step machines: `step(input)` takes the peer's last SASL
-- message (nil for the client's first call) and returns the next one to
-- send; `complete` becomes true when authentication and the security-layer
-- negotiation are over.  The transport (SASL profile: IMAP, LDAP, a pipe)
-- is the caller's.  Afterwards `encode` / `decode` apply the negotiated
-- layer to the byte stream (RFC 4422 3.7: 4-byte length, then the
-- GSS_Wrap token), and `wrap` / `unwrap` to single messages.

local base = require "sspi.base"

local fail = base.fail

local M = {}

-- Security-layer bits of RFC 4752 section 3.3.
local LAYER_BIT = { none = 1, integrity = 2, confidentiality = 4 }
local LAYER_ORDER = { "confidentiality", "integrity", "none" } -- strongest first
M.LAYER_NONE, M.LAYER_INTEGRITY, M.LAYER_CONFIDENTIALITY = 1, 2, 4

local MAX_BUFFER_LIMIT = 0xFFFFFF -- three octets

local sspi_module = base.sspi

local function be24(n)
  return string.char((n >> 16) & 255, (n >> 8) & 255, n & 255)
end

local function read_be24(s, i)
  local a, b, c = s:byte(i, i + 2)
  return (a << 16) | (b << 8) | c
end

-- The set of acceptable layers as a bit mask, from a list of names.
local function layer_mask(list, what)
  if list == nil then return 7 end
  if type(list) ~= "table" then
    error(("bad argument #1 to '%s' (layers: list of names expected)"):format(what), 3)
  end
  local mask = 0
  for _, name in ipairs(list) do
    local bit = LAYER_BIT[name]
    if not bit then
      error(("bad argument #1 to '%s' (unknown layer '%s': none, integrity or confidentiality)")
        :format(what, tostring(name)), 3)
    end
    mask = mask | bit
  end
  if mask == 0 then
    error(("bad argument #1 to '%s' (layers: at least one layer)"):format(what), 3)
  end
  return mask
end

local function check_max_buffer(n, what)
  if n == nil then return 65536 end
  if math.type(n) ~= "integer" or n < 1 or n > MAX_BUFFER_LIMIT then
    error(("bad argument #1 to '%s' (max_buffer: integer in 1..16777215)"):format(what), 3)
  end
  return n
end

-------------------------------------------------------- the security layer

local Session = {} -- methods shared by client and server once complete

--- Protects one message with the negotiated layer (no framing); with
-- layer "none" the data is returned as is.
function Session:wrap(data)
  if not self.complete then error("sasl: the security layer is not negotiated yet", 2) end
  if self.layer == "none" then return data end
  local out, err, status = self.context:wrap(data, { encrypt = self.layer == "confidentiality" })
  if not out then return nil, err, status end
  return out
end

--- Undoes `wrap`; a message that was not protected as negotiated (a
-- plain-integrity token on a confidentiality layer) is refused.
function Session:unwrap(message)
  if not self.complete then error("sasl: the security layer is not negotiated yet", 2) end
  if self.layer == "none" then return message end
  local data, encrypted, status = self.context:unwrap(message)
  if not data then return nil, encrypted, status end
  if self.layer == "confidentiality" and not encrypted then
    return fail("SEC_E_QOP_NOT_SUPPORTED", "a message without confidentiality on a confidentiality layer")
  end
  return data
end

--- Encodes outgoing bytes for the wire: with a layer, a sequence of
-- 4-byte-length-prefixed GSS_Wrap tokens each within the peer's maximum
-- buffer; without one, the bytes themselves.
function Session:encode(data)
  if not self.complete then error("sasl: the security layer is not negotiated yet", 2) end
  if self.layer == "none" then return data end
  local limit = self.peer_max_buffer
  -- Every wrap consumes a sequence number, so a token too big for the peer
  -- cannot be thrown away and redone: the chunk size comes from the
  -- context's sizes (wrap header and padding of one message) up front.
  if not self.chunk then
    local sizes, err, status = self.context:query("sizes")
    if not sizes then return nil, err, status end
    local overhead = (sizes.security_trailer or 0) + (sizes.block_size or 0)
    if overhead == 0 or overhead >= limit then
      return fail("SEC_E_BUFFER_TOO_SMALL",
        ("the peer's maximum buffer (%d) leaves no room for data after the wrap overhead (%d)")
        :format(limit, overhead))
    end
    self.chunk = limit - overhead
  end
  local out = {}
  for i = 1, math.max(#data, 1), self.chunk do
    local tok, err, status = self:wrap(data:sub(i, i + self.chunk - 1))
    if not tok then return nil, err, status end
    if #tok > limit then
      return fail("SEC_E_INTERNAL_ERROR", ("a wrapped packet of %d bytes exceeds the peer's maximum %d")
        :format(#tok, limit))
    end
    out[#out + 1] = string.pack(">s4", tok)
  end
  return table.concat(out)
end

--- Decodes incoming wire bytes; partial packets are kept for the next call.
-- Returns the data of every complete packet (possibly "").
function Session:decode(bytes)
  if not self.complete then error("sasl: the security layer is not negotiated yet", 2) end
  if self.layer == "none" then return bytes end
  local buf = (self.pending or "") .. bytes
  local out, i = {}, 1
  while #buf - i + 1 >= 4 do
    local len = string.unpack(">I4", buf, i)
    if len > self.max_buffer then
      return fail("SEC_E_INCOMPLETE_MESSAGE",
        ("a security-layer packet of %d bytes exceeds our maximum buffer %d"):format(len, self.max_buffer))
    end
    if #buf - i + 1 < 4 + len then break end
    local data, err, status = self:unwrap(buf:sub(i + 4, i + 3 + len))
    if not data then return nil, err, status end
    out[#out + 1] = data
    i = i + 4 + len
  end
  self.pending = buf:sub(i)
  return table.concat(out)
end

-- The step of both sides (tail-called by Client:step and Server:step, so
-- level 2 is their caller): refuses a finished exchange and a wrong input,
-- runs the side's _step and marks the exchange failed when it fails.
function Session:_checked_step(input, nil_ok)
  if self.state == "failed" then error("sasl: the exchange already failed", 2) end
  if self.complete then error("sasl: the exchange is already complete", 2) end
  if type(input) ~= "string" and not (nil_ok and input == nil) then
    error(("bad argument #1 to 'step' (%s expected)"):format(nil_ok and "string or nil" or "string"), 2)
  end
  local r = table.pack(self:_step(input))
  if not r[1] then self.state = "failed" end
  return table.unpack(r, 1, r.n)
end

function Session:close()
  if self.context then self.context:close() end
end

------------------------------------------------------------------ client

local Client = setmetatable({}, { __index = Session })
Client.__index = Client
Client.__name = "sspi.sasl.client"

local CLIENT_OPTIONS = { credential = true, service = true, host = true, target = true,
  authzid = true, layers = true, max_buffer = true, context_req = true }

--- A GSSAPI SASL client.
-- opts.service, opts.host  the server (target "service/host"), or opts.target
-- opts.credential          outbound Kerberos credential (default: the default ccache)
-- opts.authzid             authorization identity to request ("" : none)
-- opts.layers              acceptable layers (default all); the strongest offered wins
-- opts.max_buffer          largest wrapped packet we accept (default 65536)
function M.client(opts)
  opts = base.check_options(opts, CLIENT_OPTIONS, "client")
  local target = opts.target
  if not target then
    if type(opts.service) ~= "string" or type(opts.host) ~= "string" then
      error("bad argument #1 to 'client' (target, or service and host expected)", 2)
    end
    target = opts.service .. "/" .. opts.host
  end
  local authzid = opts.authzid or ""
  if type(authzid) ~= "string" then
    error("bad argument #1 to 'client' (authzid: string expected)", 2)
  end
  return setmetatable({
    opts = opts, target = target, authzid = authzid,
    mask = layer_mask(opts.layers, "client"),
    max_buffer = check_max_buffer(opts.max_buffer, "client"),
    state = "start", complete = false,
  }, Client)
end

function Client:_context_req()
  if self.opts.context_req then return self.opts.context_req end
  local sspi = sspi_module()
  local req = sspi.ISC_REQ_MUTUAL_AUTH | sspi.ISC_REQ_SEQUENCE_DETECT | sspi.ISC_REQ_INTEGRITY
  if self.mask & LAYER_BIT.confidentiality ~= 0 then req = req | sspi.ISC_REQ_CONFIDENTIALITY end
  return req
end

--- Takes the server's challenge (nil for the initial response) and
-- returns the response to send ("" is an empty response), or nil, err,
-- status.  After the last response `complete` is true.
function Client:step(challenge)
  return self:_checked_step(challenge, true)
end

function Client:_step(challenge)
  local sspi = sspi_module()
  if self.state == "start" then
    local cred = self.opts.credential
    if not cred then
      local err, status
      cred, err, status = sspi.credential{ package = "Kerberos", usage = "outbound" }
      if not cred then return nil, err, status end
    end
    self.context = sspi.context(cred)
    self.state = "context"
    challenge = nil
  elseif self.state == "context" and challenge == nil then
    return fail("SEC_E_INVALID_TOKEN", "a server challenge is expected")
  end
  if self.state == "context" then
    if self.context_done then
      -- the server answered our last token with the layer offer already
      self.state = "offer"
    else
      local res, err, status = base.step(self.context, "step_init", {
        target = self.target, context_req = self:_context_req(),
        input = challenge ~= nil and #challenge > 0 and challenge or nil,
      })
      if not res then return nil, err, status end
      if res.result == "Ok" then
        self.context_done = true
        self.flags = res.flags
      end
      return res.token or ""
    end
  end
  -- state "offer": the challenge is the wrapped layer offer
  local offer, encrypted, ustatus = self.context:unwrap(challenge or "")
  if not offer then return nil, encrypted, ustatus end
  if #offer ~= 4 then
    return fail("SEC_E_INVALID_TOKEN", ("the security-layer offer has %d bytes, not 4"):format(#offer))
  end
  local offered = offer:byte(1)
  local server_max = read_be24(offer, 2)
  local chosen
  for _, name in ipairs(LAYER_ORDER) do
    local bit = LAYER_BIT[name]
    if offered & bit ~= 0 and self.mask & bit ~= 0 then
      chosen = name
      break
    end
  end
  if not chosen then
    return fail("SEC_E_ALGORITHM_MISMATCH", ("no acceptable security layer in the offer (0x%02x)"):format(offered))
  end
  if chosen ~= "none" and server_max == 0 then
    return fail("SEC_E_INVALID_TOKEN", "the server offers a security layer with a zero maximum buffer")
  end
  if chosen == "confidentiality" and self.flags and self.flags & sspi.ISC_RET_CONFIDENTIALITY == 0 then
    return fail("SEC_E_QOP_NOT_SUPPORTED", "the context has no confidentiality for the chosen layer")
  end
  local reply = string.char(LAYER_BIT[chosen]) .. be24(chosen == "none" and 0 or self.max_buffer)
    .. self.authzid
  local wrapped, err, status = self.context:wrap(reply, { encrypt = false })
  if not wrapped then return nil, err, status end
  self.layer, self.peer_max_buffer, self.offered = chosen, server_max, offered
  self.state, self.complete = "done", true
  return wrapped
end

------------------------------------------------------------------ server

local Server = setmetatable({}, { __index = Session })
Server.__index = Server
Server.__name = "sspi.sasl.server"

local SERVER_OPTIONS = { credential = true, layers = true, max_buffer = true, authorize = true,
  context_req = true }

--- A GSSAPI SASL server.
-- opts.credential  inbound Kerberos credential (required)
-- opts.layers      layers offered (default all)
-- opts.max_buffer  largest wrapped packet we accept (default 65536)
-- opts.authorize   function(authzid, name) -> true | false, reason; default:
--                  an empty authzid or one equal to the authenticated name
function M.server(opts)
  opts = base.check_options(opts, SERVER_OPTIONS, "server")
  if opts.credential == nil then
    error("bad argument #1 to 'server' (credential expected)", 2)
  end
  if opts.authorize ~= nil and type(opts.authorize) ~= "function" then
    error("bad argument #1 to 'server' (authorize: function expected)", 2)
  end
  return setmetatable({
    opts = opts, mask = layer_mask(opts.layers, "server"),
    max_buffer = check_max_buffer(opts.max_buffer, "server"),
    state = "context", complete = false,
  }, Server)
end

--- Takes the client's response and returns the next challenge, or nil,
-- err, status.  When it returns with `complete` true there is nothing more
-- to send but SASL's outcome (success): `name`, `authzid` and `layer` are set.
function Server:step(response)
  return self:_checked_step(response, false)
end

function Server:_offer()
  local max = self.mask == LAYER_BIT.none and 0 or self.max_buffer
  local wrapped, err, status = self.context:wrap(string.char(self.mask) .. be24(max), { encrypt = false })
  if not wrapped then return nil, err, status end
  self.state = "offered"
  return wrapped
end

function Server:_step(response)
  local sspi = sspi_module()
  if self.state == "context" then
    if not self.context then self.context = sspi.context(self.opts.credential) end
    if #response == 0 then
      return fail("SEC_E_INVALID_TOKEN", "an empty response where a GSS token is expected")
    end
    local res, err, status = base.step(self.context, "step_accept", {
      input = response,
      context_req = self.opts.context_req or (sspi.ASC_REQ_MUTUAL_AUTH | sspi.ASC_REQ_SEQUENCE_DETECT
        | sspi.ASC_REQ_INTEGRITY | sspi.ASC_REQ_CONFIDENTIALITY),
    })
    if not res then return nil, err, status end
    if res.result ~= "Ok" then return res.token or "" end
    self.flags = res.flags
    if res.token and #res.token > 0 then
      -- the client answers our last token with an empty response
      self.state = "await_empty"
      return res.token
    end
    return self:_offer()
  elseif self.state == "await_empty" then
    if #response ~= 0 then
      return fail("SEC_E_INVALID_TOKEN", "an empty response was expected after the last GSS token")
    end
    return self:_offer()
  end
  -- state "offered": the wrapped choice
  local reply, encrypted, ustatus = self.context:unwrap(response)
  if not reply then return nil, encrypted, ustatus end
  if #reply < 4 then
    return fail("SEC_E_INVALID_TOKEN", ("the security-layer reply has %d bytes, fewer than 4"):format(#reply))
  end
  local chosen_bit = reply:byte(1)
  local chosen
  for name, bit in pairs(LAYER_BIT) do
    if bit == chosen_bit then chosen = name end
  end
  if not chosen or self.mask & chosen_bit == 0 then
    return fail("SEC_E_ALGORITHM_MISMATCH", ("the client chose a layer not offered (0x%02x)"):format(chosen_bit))
  end
  local client_max = read_be24(reply, 2)
  if chosen ~= "none" and client_max == 0 then
    return fail("SEC_E_INVALID_TOKEN", "the client chose a security layer with a zero maximum buffer")
  end
  local name = self.context:query("names").user
  local authzid = reply:sub(5)
  local ok, reason
  if self.opts.authorize then
    ok, reason = self.opts.authorize(authzid, name)
  else
    ok = authzid == "" or authzid == name
    reason = "authorization identity differs from the authenticated name"
  end
  if not ok then
    return fail("SEC_E_LOGON_DENIED", ("%s may not act as %s: %s"):format(tostring(name), authzid,
      tostring(reason or "refused")))
  end
  self.name, self.authzid, self.layer, self.peer_max_buffer = name, authzid, chosen, client_max
  self.state, self.complete = "done", true
  return ""
end

return M
