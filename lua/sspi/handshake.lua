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
--
-- Each step goes through sspi.base.step: CompleteNeeded is completed there;
-- a step that returns "IncompleteMessage" (a package that reads a byte
-- stream, such as TLS, got part of a record) makes the driver receive more
-- and step again with the same bytes plus the new ones; input a step did
-- not consume (`res.extra`) is the next step's input without a read, or,
-- once the context is complete, stays in the result for the caller.

local base = require "sspi.base"

local handshake = {}

local DEFAULT_MAX_STEPS = 16

local failure = base.error

-- A transport error (string or table) -> our error, keeping its words.
local function transport_failure(what, err, step)
  local reason = err
  local text = type(err) == "table" and (err.message or err.status) or tostring(err)
  local status = "SEC_E_INCOMPLETE_MESSAGE"
  if type(err) == "table" and (err.status == "timeout" or err.status == "SEC_E_INVALID_TOKEN") then
    status = err.status
  elseif tostring(text):lower():find("time", 1, true) then
    status = "timeout"
  end
  return failure(status, what .. ": " .. tostring(text), { step = step, reason = reason })
end

local function default_clock()
  local ok, socket = pcall(require, "socket")
  if ok and type(socket) == "table" and socket.gettime then return socket.gettime end
  return os.time
end

local OPTIONS = { target = true, context_req = true, max_steps = true, timeout = true,
                  clock = true, target_data_rep = true, on_step = true }

local function check_args(fname, ctx, transport, opts)
  if ctx == nil then error("bad argument #1 to '" .. fname .. "' (context expected, got nil)", 4) end
  if type(transport) ~= "table" and type(transport) ~= "userdata" then
    error("bad argument #2 to '" .. fname .. "' (transport expected, got " .. type(transport) .. ")", 3)
  end
  if type(transport.send) ~= "function" or type(transport.receive) ~= "function" then
    error("bad argument #2 to '" .. fname .. "' (transport needs send and receive methods)", 3)
  end
  opts = base.check_options(opts, OPTIONS, fname, 3, 4)
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
  if not in_time() then return nil, failure("timeout", "handshake timed out before sending", { step = step }) end
  local ok, err = transport:send(token)
  if not ok then return nil, transport_failure("sending token", err, step) end
  return true
end

local function receive(transport, step, in_time)
  if not in_time() then return nil, failure("timeout", "handshake timed out waiting for a token", { step = step }) end
  local token, err = transport:receive()
  if token == nil then return nil, transport_failure("receiving token", err, step) end
  if type(token) ~= "string" then
    return nil, failure("SEC_E_INVALID_TOKEN", "transport returned a " .. type(token) .. ", not a token",
                        { step = step })
  end
  return token
end

local function step_args(opts, input)
  return {
    target = opts.target,
    context_req = opts.context_req,
    target_data_rep = opts.target_data_rep,
    input = input,
  }
end

-- Both drivers: one step (through base.step, so CompleteNeeded and the
-- retryable results are handled there: IncompleteMessage reads more from
-- the transport and steps again with the bytes so far plus the new ones),
-- send its token, stop on Ok, else read the next.  Input a step did not
-- consume (res.extra) is the start of the next message: with
-- ContinueNeeded it is the next step's input, without a read; with Ok it
-- stays in the result for the caller (the first application data).
local function drive(fname, ctx, transport, opts, method)
  local max_steps
  opts, max_steps = check_args(fname, ctx, transport, opts)
  local in_time = make_timer(transport, opts)
  local input
  for step = 1, max_steps do
    if input == nil and fname == "server" then
      local token, err = receive(transport, step, in_time)
      if not token then return nil, err end
      input = token
    end
    local args = step_args(opts, input)
    if fname == "server" then args.target = nil end
    local res, err = base.step(ctx, method, args, {
      more = function() return receive(transport, step, in_time) end,
    })
    if not res then
      if type(err) == "table" then err.step = step end
      return nil, err
    end
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
      return nil, failure("SEC_E_INTERNAL_ERROR", "unexpected step result " .. tostring(res.result),
                          { step = step })
    end
    if step == max_steps then break end
    if res.extra and #res.extra > 0 then
      input = res.extra
    elseif fname == "client" then
      local token, rerr = receive(transport, step, in_time)
      if not token then return nil, rerr end
      input = token
    else
      input = nil
    end
  end
  return nil, failure("max_steps", "context not complete after " .. max_steps .. " steps", { step = max_steps })
end

--- Drives ctx:step_init until the context is complete.
function handshake.client(ctx, transport, opts)
  return drive("client", ctx, transport, opts, "step_init")
end

--- Drives ctx:step_accept, starting by receiving the client's first token.
function handshake.server(ctx, transport, opts)
  return drive("server", ctx, transport, opts, "step_accept")
end

--- Any error the drivers return, as one line: "STATUS: message (step N)"
-- (the core's error objects print without the step).
function handshake.describe(err)
  if type(err) ~= "table" then return tostring(err) end
  if base.is_error(err) then return tostring(err) end
  local text = tostring(err)
  if err.step then text = text .. " (step " .. tostring(err.step) .. ")" end
  return text
end

--- True for the errors the Lua layer makes (transport, timeout, max_steps),
-- as opposed to the core's security failures.
handshake.is_transport_error = base.is_error

handshake.DEFAULT_MAX_STEPS = DEFAULT_MAX_STEPS

return handshake
