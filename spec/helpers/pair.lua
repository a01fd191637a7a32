-- A client and a server context stepped against each other in one Lua
-- state, for the specs of every package.
local sspi = require "sspi"

local pair = {}

-- The input of a step: the token alone, or a list with the channel-bindings
-- buffer after it.
function pair.input(token, cb)
  if not cb then return token end
  local list = {}
  if token then list[1] = sspi.buffer(sspi.SECBUFFER_TOKEN, token) end
  list[#list + 1] = cb
  return list
end

-- Steps both sides until no token is left to send.  args: target, req
-- (ISC_REQ), accept_req (ASC_REQ), client_cb / server_cb (bindings buffers),
-- max_legs.  Returns client, server, the last client and server results, or
-- nil, err, status, and the side that failed ("init" | "accept").
function pair.run(client, server, args)
  local input = pair.input
  local cres, err, status = client:step_init { target = args.target, context_req = args.req,
    input = input(nil, args.client_cb) }
  if not cres then return nil, err, status, "init" end
  local sres
  for _ = 1, args.max_legs or 6 do
    sres, err, status = server:step_accept { input = input(cres.token, args.server_cb),
      context_req = args.accept_req }
    if not sres then return nil, err, status, "accept" end
    if not sres.token then break end
    cres, err, status = client:step_init { target = args.target, context_req = args.req,
      input = input(sres.token, args.client_cb) }
    if not cres then return nil, err, status, "init" end
    if not cres.token then break end
  end
  return client, server, cres, sres
end

-- Steps an initiator and an acceptor to completion, each fed the other's
-- token (opts: isc_req, asc_req, server_first: the acceptor speaks first).
-- Returns the trace {side, result, token, flags}, or nil, err, status,
-- side, trace at the first failure.
function pair.trace(c, s, target, opts)
  opts = opts or {}
  local trace, tok = {}, nil
  local cdone, sdone = false, false
  if opts.server_first then
    local res, err, st = s:step_accept{ context_req = opts.asc_req }
    if not res then return nil, err, st, "acceptor", trace end
    trace[#trace + 1] = { side = "acceptor", result = res.result, token = res.token }
    tok = res.token
  end
  for _ = 1, 12 do
    if not cdone then
      local res, err, st = c:step_init{ target = target, input = tok, context_req = opts.isc_req }
      if not res then return nil, err, st, "initiator", trace end
      trace[#trace + 1] = { side = "initiator", result = res.result, token = res.token, flags = res.flags }
      cdone, tok = res.result == "Ok", res.token
    end
    if tok == nil then break end
    assert(not sdone, "the acceptor was given a token after it completed")
    local res, err, st = s:step_accept{ input = tok, context_req = opts.asc_req }
    if not res then return nil, err, st, "acceptor", trace end
    trace[#trace + 1] = { side = "acceptor", result = res.result, token = res.token, flags = res.flags }
    sdone, tok = res.result == "Ok", res.token
    if tok == nil then break end
    assert(not cdone, "the acceptor sent a token to an initiator that had completed")
  end
  assert(cdone and sdone, "the handshake did not complete")
  return trace
end

return pair
