--- What the built-in NTLM specs share: a private user file, credentials of
-- the built-in provider on it, and a three-leg handshake with edits in
-- transit.
--
--   local users = ntlm.users { "DOM:alice:Secret-1" }
--   setup(users.setup); teardown(users.teardown)
--   local c, s, t = ntlm.handshake(ntlm.client(), ntlm.server(nil, users.path))
local sspi = require "sspi"
local pair = require "helpers.pair"

local ntlm = {}

ntlm.REQ = sspi.ISC_REQ_CONFIDENTIALITY | sspi.ISC_REQ_INTEGRITY |
           sspi.ISC_REQ_REPLAY_DETECT | sspi.ISC_REQ_SEQUENCE_DETECT
ntlm.TARGET = "host/localhost"

-- A user file with `lines` (a list, or a function returning one, called at
-- setup) in a private temp dir: users.setup / users.teardown for busted,
-- users.path once set up.  opts.env: NTLM_USER_FILE names it meanwhile
-- (gss-ntlmssp's acceptor reads its users from there).
function ntlm.users(lines, opts)
  local testenv = require "sspi_testenv"
  local users, saved = {}, nil
  function users.setup()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. dir))
    users.dir, users.path = dir, dir .. "/users"
    local f = assert(io.open(users.path, "wb"))
    f:write(table.concat(type(lines) == "function" and lines() or lines, "\n") .. "\n")
    f:close()
    if opts and opts.env then
      saved = os.getenv("NTLM_USER_FILE")
      testenv.setenv("NTLM_USER_FILE", users.path)
    end
  end
  function users.teardown()
    if opts and opts.env then testenv.setenv("NTLM_USER_FILE", saved) end
    if users.path then os.remove(users.path) end
    if users.dir then os.remove(users.dir) end
  end
  return users
end

-- A built-in outbound credential, DOM\alice by default.
function ntlm.client(opts)
  opts = opts or {}
  opts.package, opts.backend = "NTLM", "builtin"
  if opts.username == nil then opts.username, opts.password = "DOM\\alice", "Secret-1" end
  return assert(sspi.credential(opts))
end

-- A built-in inbound credential, its users from user_file unless opts
-- name a user_file or a lookup.
function ntlm.server(opts, user_file)
  opts = opts or {}
  opts.package, opts.backend, opts.usage = "NTLM", "builtin", "inbound"
  if opts.user_file == nil and opts.lookup == nil then opts.user_file = user_file end
  return assert(sspi.credential(opts))
end

-- The three legs with optional edits in transit: o.negotiate, o.challenge,
-- o.authenticate (functions of the token), o.ccb / o.scb (bindings),
-- o.req / o.asc (flags), o.target.  Returns c, s and the tokens (as sent
-- on, with the results and flags of the last steps), or nil, err, status
-- and the leg that failed.
function ntlm.handshake(ccred, scred, o)
  o = o or {}
  local function edit(name, token) return o[name] and o[name](token) or token end
  local c, s = sspi.context(ccred), sspi.context(scred)
  local target, req = o.target or ntlm.TARGET, o.req or ntlm.REQ
  local r1, e1, st1 = c:step_init { target = target, context_req = req }
  if not r1 then return nil, e1, st1, "negotiate" end
  local neg = edit("negotiate", r1.token)
  local r2, e2, st2 = s:step_accept { input = pair.input(neg, o.scb), context_req = o.asc or 0 }
  if not r2 then return nil, e2, st2, "challenge" end
  local challenge = edit("challenge", r2.token)
  local r3, e3, st3 = c:step_init { target = target, context_req = req,
                                    input = pair.input(challenge, o.ccb) }
  if not r3 then return nil, e3, st3, "authenticate" end
  local auth = edit("authenticate", r3.token)
  local r4, e4, st4 = s:step_accept { input = pair.input(auth, o.scb), context_req = o.asc or 0 }
  if not r4 then return nil, e4, st4, "verify" end
  return c, s, { negotiate = neg, challenge = challenge, authenticate = auth, cflags = r3.flags,
                 sflags = r4.flags, cresult = r3.result, sresult = r4.result }
end

return ntlm
