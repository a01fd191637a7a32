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

return pair
