--- sspi.http.headers: the syntax of HTTP authentication headers.
--
-- RFC 7235 challenges (WWW-Authenticate, Proxy-Authenticate) and
-- credentials (Authorization, Proxy-Authorization): several schemes and
-- several challenges in one field, token68 and auth-params, quoted
-- strings.  Also the schemes sspi.http speaks and the SSPI package behind
-- each.  Pure Lua: needs no C module.  Reached through `sspi.http`.
--
-- @module sspi.http.headers

local M = {}

----------------------------------------------------------- header syntax
--
-- RFC 7235 section 2.1 / 4.1:
--   challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
--   auth-param  = token BWS "=" BWS ( token / quoted-string )
--   token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
-- Commas separate both challenges and the auth-params of one challenge; an
-- element is a parameter when it reads `token BWS "="`, else a new scheme.

local TOKEN = "[!#$%%&'*+%-.^_`|~%w]+"
local TOKEN68 = "[%w%-._~+/]+=*"

local function skip_ows(s, i)
  return s:match("^[ \t]*()", i)
end

-- Skips OWS and empty list elements (`#rule` allows ", ,").
local function skip_list_separators(s, i)
  return s:match("^[ \t,]*()", i)
end

local function parse_quoted_string(s, i)
  -- s:sub(i, i) == '"'
  local out = {}
  local j = i + 1
  while j <= #s do
    local c = s:sub(j, j)
    if c == '"' then
      return table.concat(out), j + 1
    elseif c == "\\" then
      if j == #s then break end
      out[#out + 1] = s:sub(j + 1, j + 1)
      j = j + 2
    elseif c:match("[%c]") and c ~= "\t" then
      return nil, "control character in quoted-string at " .. j
    else
      out[#out + 1] = c
      j = j + 1
    end
  end
  return nil, "unterminated quoted-string at " .. i
end

-- Is the text at i the start of an auth-param (`token BWS "="`, not `==`)?
local function at_auth_param(s, i)
  local e = s:match("^" .. TOKEN .. "[ \t]*=()", i)
  return e ~= nil and s:sub(e, e) ~= "="
end

local function parse_auth_param(s, i, params, order)
  local name, e = s:match("^(" .. TOKEN .. ")[ \t]*=[ \t]*()", i)
  if not name then
    return nil, "expected auth-param at " .. i
  end
  local value
  if s:sub(e, e) == '"' then
    local v, after = parse_quoted_string(s, e)
    if not v then return nil, after end
    value, e = v, after
  else
    value = s:match("^" .. TOKEN, e)
    if not value then
      return nil, "expected token or quoted-string at " .. e
    end
    e = e + #value
  end
  local key = name:lower()
  if params[key] ~= nil then
    return nil, "duplicate auth-param '" .. key .. "'"
  end
  params[key] = value
  order[#order + 1] = key
  return e
end

-- One challenge (or credentials) starting at i; returns the table and the
-- index after it (at a ',' or the end).
local function parse_one(s, i)
  local scheme = s:match("^" .. TOKEN, i)
  if not scheme then
    return nil, "expected auth-scheme at " .. i
  end
  local item = { scheme = scheme, params = {}, param_order = {} }
  i = i + #scheme
  local after_sp = s:match("^ +()", i)
  if not after_sp then
    -- no SP: the scheme stands alone (end, or OWS then ',')
    local j = skip_ows(s, i)
    if j <= #s and s:sub(j, j) ~= "," then
      return nil, "unexpected character after auth-scheme at " .. j
    end
    return item, j
  end
  i = after_sp
  if i > #s or s:sub(i, i) == "," then
    return item, i
  end
  -- token68, when it is followed by the end of the element
  local t68_end = s:match("^" .. TOKEN68 .. "()", i)
  if t68_end then
    local j = skip_ows(s, t68_end)
    if j > #s or s:sub(j, j) == "," then
      item.token68 = s:sub(i, t68_end - 1)
      return item, j
    end
  end
  -- #auth-param
  while true do
    local e, err = parse_auth_param(s, i, item.params, item.param_order)
    if not e then return nil, err end
    i = skip_ows(s, e)
    if i > #s then return item, i end
    if s:sub(i, i) ~= "," then
      return nil, "expected ',' at " .. i
    end
    local nexti = skip_list_separators(s, i)
    if nexti > #s or not at_auth_param(s, nexti) then
      return item, i
    end
    i = nexti
  end
end

-- The longest header value parsed: a Kerberos ticket with a large PAC
-- (Windows' MaxTokenSize is at most 65535 bytes) in base64, with room to
-- spare.  Longer values are refused before any work, so a hostile peer
-- cannot make each request cost seconds of base64 decoding.
M.MAX_HEADER_VALUE = 128 * 1024

-- The text of a header value (a string, or a list of field values of one
-- name), or nil, message when it is longer than MAX_HEADER_VALUE.
local function header_text(value, what, field)
  if type(value) == "table" then
    -- several header fields of the same name form one list (RFC 7230 3.2.2)
    for k, v in ipairs(value) do
      if type(v) ~= "string" then
        error(("bad argument #1 to '%s' (string expected in field %d)"):format(what, k), 3)
      end
    end
    value = table.concat(value, ", ")
  elseif type(value) ~= "string" then
    error(("bad argument #1 to '%s' (string or list of strings expected, got %s)")
      :format(what, type(value)), 3)
  end
  if #value > M.MAX_HEADER_VALUE then
    return nil, ("%s: value of %d bytes, more than %d"):format(field, #value, M.MAX_HEADER_VALUE)
  end
  return value
end

-- A header value parsed by `parse` (which takes the text and returns the
-- result or nil, message); tail-called by the public parsers, so that
-- header_text's level 3 is their caller.
local function parse_value(value, what, field, parse)
  local s, terr = header_text(value, what, field)
  if not s then return nil, terr end
  local result, err = parse(s)
  if not result then return nil, field .. ": " .. err end
  return result
end

local function challenge_list(s)
  local list = {}
  local i = skip_list_separators(s, 1)
  while i <= #s do
    local item, e = parse_one(s, i)
    if not item then return nil, e end
    list[#list + 1] = item
    i = skip_list_separators(s, e)
  end
  if #list == 0 then return nil, "no challenge" end
  return list
end

local function one_credentials(s)
  local item, e = parse_one(s, skip_ows(s, 1))
  if not item then return nil, e end
  if skip_ows(s, e) <= #s then return nil, "more than one credentials" end
  return item
end

--- Parses a WWW-Authenticate (or Proxy-Authenticate) value, or a list of
-- such field values, into a list of challenges
-- `{ scheme = "Negotiate", token68 = "...", params = { realm = "x" }, param_order = {...} }`.
-- Returns nil, message on a syntax error.
function M.parse_challenges(value)
  return parse_value(value, "parse_challenges", "WWW-Authenticate", challenge_list)
end

--- Parses an Authorization (or Proxy-Authorization) value: exactly one
-- `credentials`.  Returns `{ scheme, token68, params, param_order }` or
-- nil, message.
function M.parse_credentials(value)
  return parse_value(value, "parse_credentials", "Authorization", one_credentials)
end

local function quote_param(v)
  v = tostring(v)
  if v:match("^" .. TOKEN .. "$") then return v end
  if v:gsub("\t", ""):find("%c") then
    error("bad auth-param value (control character)", 4)
  end
  return '"' .. v:gsub('[\\"]', "\\%0") .. '"'
end

local function format_one(scheme, data, what)
  if type(scheme) ~= "string" or not scheme:match("^" .. TOKEN .. "$") then
    error(("bad argument #1 to '%s' (auth-scheme token expected)"):format(what), 3)
  end
  if data == nil or data == "" then
    return scheme
  elseif type(data) == "string" then
    if not data:match("^" .. TOKEN68 .. "$") then
      error(("bad argument #2 to '%s' (token68 expected)"):format(what), 3)
    end
    return scheme .. " " .. data
  elseif type(data) == "table" then
    local names = {}
    for k in pairs(data) do
      if type(k) ~= "string" or not k:match("^" .. TOKEN .. "$") then
        error(("bad argument #2 to '%s' (auth-param names must be tokens)"):format(what), 3)
      end
      names[#names + 1] = k
    end
    table.sort(names)
    local parts = {}
    for _, k in ipairs(names) do
      parts[#parts + 1] = k .. "=" .. quote_param(data[k])
    end
    return scheme .. " " .. table.concat(parts, ", ")
  end
  error(("bad argument #2 to '%s' (token68 string or param table expected)"):format(what), 3)
end

--- Builds one challenge: `format_challenge("Negotiate")`,
-- `format_challenge("Negotiate", token68)` or
-- `format_challenge("Basic", { realm = "x" })`.
function M.format_challenge(scheme, data)
  return format_one(scheme, data, "format_challenge")
end

--- Builds an Authorization value (credentials), same arguments.
function M.format_credentials(scheme, data)
  return format_one(scheme, data, "format_credentials")
end

--- The first challenge of a scheme (case-insensitive) in a parsed list.
function M.find_challenge(list, scheme)
  if type(list) ~= "table" then
    error(("bad argument #1 to 'find_challenge' (list of challenges expected, got %s)"):format(type(list)), 2)
  end
  if type(scheme) ~= "string" then
    error(("bad argument #2 to 'find_challenge' (string expected, got %s)"):format(type(scheme)), 2)
  end
  scheme = scheme:lower()
  for _, c in ipairs(list) do
    if type(c) == "table" and type(c.scheme) == "string" and c.scheme:lower() == scheme then return c end
  end
  return nil
end

-- The schemes sspi.http speaks (lower-case keys), with the SSPI package
-- behind each and the name each is written with.
M.SCHEME_PACKAGE = { negotiate = "Negotiate", ntlm = "NTLM" }
M.SCHEME_NAME = { negotiate = "Negotiate", ntlm = "NTLM" }

--- The key of a scheme name (any case); raises for a scheme not spoken
-- (at the level of the caller of the public function that called it).
function M.scheme_key(scheme)
  local key = type(scheme) == "string" and scheme:lower() or nil
  if not M.SCHEME_PACKAGE[key] then
    error(("unsupported scheme '%s' (Negotiate or NTLM)"):format(tostring(scheme)), 3)
  end
  return key
end

return M
