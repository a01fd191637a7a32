-- sspi.handshake: drive a client or server security context to completion
-- over any transport object.
--
--   local handshake = require "sspi.handshake"
--   local res, err = handshake.client(ctx, transport, {
--     target = "host/server.example", context_req = {"MUTUAL_AUTH", ...},
--     max_steps = 10, timeout = 30 })
--   local res, err = handshake.server(ctx, transport, { context_req = ..., ... })
--
-- A transport is any object with `send(token) -> true | nil, err` and
-- `receive() -> token | nil, err` (sspi.transport makes them from LuaSocket
-- and cqueues sockets; a game loop can write its own).  If it also has
-- `settimeout(seconds)`, the driver gives it the time left before each
-- call, so `timeout` bounds the whole handshake, not each read.
--
-- The driver is plain sequential Lua and never blocks by itself: inside a
-- coroutine, a transport may yield while it waits (cqueues sockets do this
-- on their own), so several handshakes can interleave in one thread.
--
-- Returns the last step's result (see ctx:step_init: result "Ok", flags,
-- buffers) with `steps` added, or nil and an error:
--   * a security failure: the core's error object (status "SEC_E_...",
--     code, message, ...) with `step` = the step number where it happened;
--   * a transport failure: a table { status = "SEC_E_INCOMPLETE_MESSAGE"
--     (peer closed, short read, socket error) | "timeout" (the deadline or
--     the transport's own timeout passed), message, reason (what the
--     transport said), step };
--   * status "SEC_E_INVALID_TOKEN" when the transport delivered something
--     that is not a token, and "max_steps" when the peer keeps the
--     handshake going past `max_steps` steps.
-- Errors print as "STATUS: message (step N)".

local handshake = {}

local DEFAULT_MAX_STEPS = 16

local HandshakeError = { __name = "sspi.handshake.error" }
HandshakeError.__index = HandshakeError
HandshakeError.__tostring = function(e)
  return string.format("%s: %s (step %d)", e.status, e.message, e.step or 0)
end

local function failure(status, message, step, reason)
  return setmetatable({ status = status, message = message, step = step, reason = reason },
                      HandshakeError)
end

-- A transport error (string or table) -> our error, keeping its words.
local function transport_failure(what, err, step)
  if getmetatable(err) == HandshakeError then
    err.step = step
    return err
  end
  local reason = err
  local text = type(err) == "table" and (err.message or err.status) or tostring(err)
  local status = "SEC_E_INCOMPLETE_MESSAGE"
  if type(err) == "table" and (err.status == "timeout" or err.status == "SEC_E_INVALID_TOKEN") then
    status = err.status
  elseif tostring(text):lower():find("time", 1, true) then
    status = "timeout"
  end
  return failure(status, what .. ": " .. tostring(text), step, reason)
end

local function default_clock()
  local ok, socket = pcall(require, "socket")
  if ok and type(socket) == "table" and socket.gettime then return socket.gettime end
  return os.time
end

local function check_args(fname, ctx, transport, opts)
  if ctx == nil then error("bad argument #1 to '" .. fname .. "' (context expected, got nil)", 3) end
  if type(transport) ~= "table" and type(transport) ~= "userdata" then
    error("bad argument #2 to '" .. fname .. "' (transport expected, got " .. type(transport) .. ")", 3)
  end
  if type(transport.send) ~= "function" or type(transport.receive) ~= "function" then
    error("bad argument #2 to '" .. fname .. "' (transport needs send and receive methods)", 3)
  end
  opts = opts or {}
  if type(opts) ~= "table" then error("bad argument #3 to '" .. fname .. "' (table expected)", 3) end
  local known = { target = true, context_req = true, max_steps = true, timeout = true,
                  clock = true, target_data_rep = true, on_step = true }
  for k in pairs(opts) do
    if not known[k] then error("bad argument #3 to '" .. fname .. "' (unknown option '" .. tostring(k) .. "')", 3) end
  end
  local max_steps = opts.max_steps or DEFAULT_MAX_STEPS
  if math.type(max_steps) ~= "integer" or max_steps < 1 then
    error("bad argument #3 to '" .. fname .. "' (max_steps must be a positive integer)", 3)
  end
  if opts.timeout ~= nil and (type(opts.timeout) ~= "number" or opts.timeout <= 0) then
    error("bad argument #3 to '" .. fname .. "' (timeout must be a positive number of seconds)", 3)
  end
  return opts, max_steps
end

-- Deadline bookkeeping shared by both drivers.
local function make_timer(transport, opts)
  if not opts.timeout then return function() return true end end
  local clock = opts.clock or default_clock()
  local deadline = clock() + opts.timeout
  return function()
    local left = deadline - clock()
    if left <= 0 then return false end
    if type(transport.settimeout) == "function" then transport:settimeout(left) end
    return true
  end
end

local function send(transport, token, step, in_time)
  if not in_time() then return nil, failure("timeout", "handshake timed out before sending", step) end
  local ok, err = transport:send(token)
  if not ok then return nil, transport_failure("sending token", err, step) end
  return true
end

local function receive(transport, step, in_time)
  if not in_time() then return nil, failure("timeout", "handshake timed out waiting for a token", step) end
  local token, err = transport:receive()
  if token == nil then return nil, transport_failure("receiving token", err, step) end
  if type(token) ~= "string" then
    return nil, failure("SEC_E_INVALID_TOKEN", "transport returned a " .. type(token) .. ", not a token", step)
  end
  return token
end

-- CompleteNeeded / CompleteAndContinue: SSPI's CompleteAuthToken step.
local function complete_if_needed(ctx, res, step)
  if res.result == "CompleteNeeded" or res.result == "CompleteAndContinue" then
    local ok, err = ctx:complete_auth_token(res.buffers)
    if not ok then
      if type(err) == "table" then err.step = step end
      return nil, err
    end
    res.result = (res.result == "CompleteNeeded") and "Ok" or "ContinueNeeded"
  end
  return res
end

local function step_args(opts, input)
  return {
    target = opts.target,
    context_req = opts.context_req,
    target_data_rep = opts.target_data_rep,
    input = input,
  }
end

-- Both drivers: one step, send its token, stop on Ok, else read the next.
local function drive(fname, ctx, transport, opts, first_input, do_step)
  local max_steps
  opts, max_steps = check_args(fname, ctx, transport, opts)
  local in_time = make_timer(transport, opts)
  local input = first_input
  for step = 1, max_steps do
    if input == nil and fname == "server" then
      local token, err = receive(transport, step, in_time)
      if not token then return nil, err end
      input = token
    end
    local res, err = do_step(ctx, step_args(opts, input))
    if not res then
      if type(err) == "table" then err.step = step end
      return nil, err
    end
    res, err = complete_if_needed(ctx, res, step)
    if not res then return nil, err end
    if opts.on_step then opts.on_step(step, res) end
    if res.token and #res.token > 0 then
      local ok, serr = send(transport, res.token, step, in_time)
      if not ok then return nil, serr end
    end
    if res.result == "Ok" then
      res.steps = step
      return res
    end
    if res.result ~= "ContinueNeeded" then
      return nil, failure("SEC_E_INTERNAL_ERROR", "unexpected step result " .. tostring(res.result), step)
    end
    if step == max_steps then break end
    if fname == "client" then
      local token, rerr = receive(transport, step, in_time)
      if not token then return nil, rerr end
      input = token
    else
      input = nil
    end
  end
  return nil, failure("max_steps", "context not complete after " .. max_steps .. " steps", max_steps)
end

--- Drives ctx:step_init until the context is complete.
function handshake.client(ctx, transport, opts)
  return drive("client", ctx, transport, opts, nil, function(c, args)
    return c:step_init(args)
  end)
end

--- Drives ctx:step_accept, starting by receiving the client's first token.
function handshake.server(ctx, transport, opts)
  return drive("server", ctx, transport, opts, nil, function(c, args)
    args.target = nil
    return c:step_accept(args)
  end)
end

--- Any error the drivers return, as one line: "STATUS: message (step N)"
-- (the core's error objects print without the step).
function handshake.describe(err)
  if type(err) ~= "table" then return tostring(err) end
  if getmetatable(err) == HandshakeError then return tostring(err) end
  local text = tostring(err)
  if err.step then text = text .. " (step " .. tostring(err.step) .. ")" end
  return text
end

--- True for the errors this module makes (transport, timeout, max_steps).
function handshake.is_transport_error(e)
  return getmetatable(e) == HandshakeError
end

handshake.DEFAULT_MAX_STEPS = DEFAULT_MAX_STEPS

return handshake
