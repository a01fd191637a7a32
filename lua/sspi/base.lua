--- sspi.base: the common base of the pure-Lua layer.
--
-- One copy of what every module of lua/sspi/ needs, as LuaSocket's protocol
-- modules share `mime` and `socket.try`:
--
--  * `b64encode` / `b64decode`: the one base64 codec (RFC 4648);
--  * `error` / `fail` / `is_error`: the one error class of the layer, shaped
--    like the core's error objects (status, code, message, `__tostring`);
--  * `check_options`: the one option checker (unknown keys raise, naming
--    the argument);
--  * `step`: the one way a context is stepped, whatever drives it (the
--    handshake driver, HTTP, SASL): CompleteNeeded / CompleteAndContinue,
--    the retryable results IncompleteMessage and IncompleteCredentials, and
--    the bytes a step did not consume (`res.extra`) are handled here only.
--
-- The core (sspi.core) is loaded on first use only: for base64 (its C
-- codec) and to give an error its numeric code, so the header parsers work
-- without it.
--
-- @module sspi.base

local base = {}

------------------------------------------------------------------ base64

-- The codec is the core's (csrc/core/base64.c): it is on every HTTP
-- login's path, where a Lua loop cost tens of microseconds.  The core is
-- loaded on first use, so the header syntax needs no C module.
local core

local function load_core()
  core = require "sspi.core"
  return core
end

--- Base64 (RFC 4648, with padding) of a byte string.  A non-string raises
-- naming `fname` (default "b64encode").
function base.b64encode(data, fname)
  if type(data) ~= "string" then
    error(("bad argument #1 to '%s' (string expected, got %s)"):format(fname or "b64encode", type(data)), 3)
  end
  return (core or load_core()).b64encode(data)
end

--- Decodes base64.  Returns the bytes, or nil and a message starting
-- "invalid base64:".
--
-- Strict by default (what goes over the wire in HTTP and SASL): the RFC
-- 4648 alphabet, padding optional but correct when present, no stray
-- characters, zero trailing bits.  With `lenient` (text a person pasted:
-- the token inspector), the base64url alphabet is accepted too, trailing
-- "=" are dropped and trailing bits ignored.
function base.b64decode(text, lenient)
  if type(text) ~= "string" then
    return nil, "invalid base64: not a string"
  end
  return (core or load_core()).b64decode(text, lenient)
end

------------------------------------------------------------------ errors

-- Failures found by the Lua layer (a transport that closed, a malformed
-- header, a timeout) have the shape of the core's error objects: status
-- (a stable name), code (the SSPI value when the status is one), message,
-- and optional reason (what a transport said) and step (the handshake step).
local LayerError = { __name = "sspi.layer.error" }
LayerError.__index = LayerError
-- Never raises, whatever the fields hold.
LayerError.__tostring = function(e)
  local text = tostring(e.status) .. ": " .. tostring(e.message)
  if e.step ~= nil then text = text .. " (step " .. tostring(e.step) .. ")" end
  return text
end

local function status_code(status)
  if type(status) ~= "string" or not status:match("^SEC_[EI]_") then return nil end
  -- without the C module (header syntax alone) an error has no code
  if not core and not pcall(load_core) then return nil end
  return core[status]
end

--- A new error object of the layer: `base.error(status, message [, fields])`
-- (fields: reason, step, missing, ...).
function base.error(status, message, fields)
  local e = { status = status, code = status_code(status), message = message }
  for k, v in pairs(fields or {}) do e[k] = v end
  return setmetatable(e, LayerError)
end

--- The security-failure return of the API: nil, err, status.
function base.fail(status, message, fields)
  return nil, base.error(status, message, fields), status
end

--- True for the error objects this layer makes.
function base.is_error(e)
  return getmetatable(e) == LayerError
end

----------------------------------------------------------------- options

--- Checks an options table: nil gives {}, another non-table or a key not
-- in `known` raises "bad argument #argn to 'fname' (...)".  `level` is the
-- error level seen from the caller of check_options (default 3: the
-- caller of the public function that called check_options).
function base.check_options(opts, known, fname, argn, level)
  argn, level = argn or 1, level or 3
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("bad argument #%d to '%s' (table expected, got %s)"):format(argn, fname, type(opts)), level)
  end
  for k in pairs(opts) do
    if not known[k] then
      error(("bad argument #%d to '%s' (unknown option '%s')"):format(argn, fname, tostring(k)), level)
    end
  end
  return opts
end

------------------------------------------------------------------- steps

local MAX_RETRIES = 64

-- The input of a step, grown by the bytes a transport read after an
-- IncompleteMessage: a string grows; in a buffer or a list of buffers, the
-- first TOKEN buffer does (the others, such as channel bindings, stay).
local function grow_input(input, more)
  if input == nil or type(input) == "string" then return (input or "") .. more end
  if type(input) == "number" then return more end -- an empty buffer of that type
  if type(input) ~= "table" then input = { input } end -- one buffer
  local sspi = base.sspi()
  local out, grown = {}, false
  for i, buf in ipairs(input) do
    if not grown and type(buf) ~= "number" and buf.type == sspi.SECBUFFER_TOKEN then
      out[i], grown = sspi.buffer(sspi.SECBUFFER_TOKEN, buf:data() .. more), true
    else
      out[i] = buf
    end
  end
  if not grown then table.insert(out, 1, sspi.buffer(sspi.SECBUFFER_TOKEN, more)) end
  return out
end

local function with_input(args, input)
  local copy = {}
  for k, v in pairs(args) do copy[k] = v end
  copy.input = input
  return copy
end

--- Steps a context once, to a result the caller can act on.
--
-- `method` is "step_init" or "step_accept"; `args` the step's arguments
-- (never modified).  `opts` (optional):
--
--  * `more(missing)`: for a transport that delivers bytes (not whole
--    tokens), returns more input bytes or nil, err.  A step that returns
--    "IncompleteMessage" consumed nothing, so the driver reads more and
--    steps again with the same bytes plus the new ones, until the step
--    gets past it.  Without `more`, IncompleteMessage is a failure
--    (SEC_E_INCOMPLETE_MESSAGE, with `missing`): a whole token that the
--    package finds incomplete was truncated.
--  * `incomplete_credentials(res)`: called on "IncompleteCredentials" (the
--    server asked for a client certificate the credential does not have);
--    may return new step arguments (e.g. another credential's context
--    options).  Without it the step is taken again as it was, which
--    continues without a certificate, as SSPI does; a second
--    IncompleteCredentials in a row is a failure (SEC_E_INCOMPLETE_CREDENTIALS).
--
-- CompleteNeeded and CompleteAndContinue are completed here, with
-- ctx:complete_auth_token(res.buffers); the result becomes "Ok" or
-- "ContinueNeeded" (`res.completed = true` says it happened), so a caller
-- only ever sees Ok or ContinueNeeded.  `res.extra` (input bytes the step
-- did not consume: the start of the next message) is left in the result
-- for the caller: with ContinueNeeded, the next step's input starts with
-- it; with Ok, it is the first application data.
--
-- Returns the result, or nil, err, status.
function base.step(ctx, method, args, opts)
  opts = opts or {}
  local call_args = args
  local retried_credentials = false
  for _ = 1, MAX_RETRIES do
    local res, err, status = ctx[method](ctx, call_args)
    if not res then return nil, err, status end
    local result = res.result
    if result == "IncompleteMessage" then
      if not opts.more then
        return base.fail("SEC_E_INCOMPLETE_MESSAGE",
          ("the token is incomplete (%s more bytes needed)"):format(tostring(res.missing or "some")),
          { missing = res.missing })
      end
      local more, merr, mstatus = opts.more(res.missing)
      if not more then return nil, merr, mstatus end
      call_args = with_input(call_args, grow_input(call_args.input, more))
    elseif result == "IncompleteCredentials" then
      if retried_credentials then
        return base.fail("SEC_E_INCOMPLETE_CREDENTIALS",
          "the peer asked for credentials again after the step continued without them")
      end
      retried_credentials = true
      if opts.incomplete_credentials then
        call_args = opts.incomplete_credentials(res) or call_args
      end
    elseif result == "CompleteNeeded" or result == "CompleteAndContinue" then
      local ok, cerr, cstatus = ctx:complete_auth_token(res.buffers)
      if not ok then return nil, cerr, cstatus end
      res.result = result == "CompleteNeeded" and "Ok" or "ContinueNeeded"
      res.completed = true
      return res
    else
      return res
    end
  end
  return base.fail("SEC_E_INCOMPLETE_MESSAGE", "the step kept asking for more input")
end

--- Loads the C module (`require "sspi"`) when first needed, so that the
-- modules which can work without it (header syntax) do.
function base.sspi()
  return require "sspi"
end

return base
