-- sspi.token.format: print decoded tokens as readable indented text or as
-- JSON, with our own small encoder (decoded tables hold only strings,
-- integers, booleans and nested tables, so a general library is not needed).

local bytes = require "sspi.token.bytes"

local format = {}

-- Keys that read best first; the rest follow alphabetically.
local FIRST = { "protocol", "type", "message_type", "msg_type", "gss_wrapper", "mech_oid",
                "mech_name", "tok_id", "tok_id_name", "id", "name", "oid", "flags", "flag_names" }
local RANK = {}
for i, k in ipairs(FIRST) do RANK[k] = i end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ra, rb = RANK[a] or math.huge, RANK[b] or math.huge
    if ra ~= rb then return ra < rb end
    return tostring(a) < tostring(b)
  end)
  return keys
end

local function is_array(t)
  if getmetatable(t) == bytes.LIST then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

-- JSON ---------------------------------------------------------------------

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function json_string(s)
  s = bytes.printable(s) -- JSON text must be valid UTF-8
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function json_value(v, out, depth)
  if depth > 64 then error("sspi.token.format: table nested too deeply for JSON", 0) end
  local t = type(v)
  if t == "string" then
    out[#out + 1] = json_string(v)
  elseif t == "number" then
    if math.type(v) == "integer" then
      out[#out + 1] = string.format("%d", v)
    elseif v ~= v or v == math.huge or v == -math.huge then
      out[#out + 1] = "null"
    else
      out[#out + 1] = string.format("%.17g", v)
    end
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif t == "nil" then
    out[#out + 1] = "null"
  elseif t == "table" then
    if is_array(v) then
      out[#out + 1] = "["
      for i, item in ipairs(v) do
        if i > 1 then out[#out + 1] = "," end
        json_value(item, out, depth + 1)
      end
      out[#out + 1] = "]"
    else
      out[#out + 1] = "{"
      for i, k in ipairs(sorted_keys(v)) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = json_string(tostring(k))
        out[#out + 1] = ":"
        json_value(v[k], out, depth + 1)
      end
      out[#out + 1] = "}"
    end
  else
    error("sspi.token.format: cannot encode a " .. t .. " as JSON", 0)
  end
end

function format.json(v)
  local out = {}
  json_value(v, out, 0)
  return table.concat(out)
end

-- Text ---------------------------------------------------------------------

local function scalar(k, v)
  if math.type(v) == "integer" and k == "flags" then return string.format("0x%08x", v) end
  if type(v) == "string" then
    v = bytes.printable(v)
    -- control characters from a hostile token must not drive the terminal
    return (v:gsub("%c", function(c) return string.format("\\x%02x", c:byte()) end))
  end
  return tostring(v)
end

local function text_value(k, v, indent, out)
  local pad = ("  "):rep(indent)
  if type(v) ~= "table" then
    out[#out + 1] = pad .. tostring(k) .. ": " .. scalar(k, v)
  elseif is_array(v) and #v == 0 then
    out[#out + 1] = pad .. tostring(k) .. ": (none)"
  elseif is_array(v) then
    local all_scalar = true
    for _, item in ipairs(v) do if type(item) == "table" then all_scalar = false end end
    if all_scalar then
      local parts = {}
      for i, item in ipairs(v) do parts[i] = scalar(k, item) end
      out[#out + 1] = pad .. tostring(k) .. ": " .. table.concat(parts, ", ")
    else
      out[#out + 1] = pad .. tostring(k) .. ":"
      for i, item in ipairs(v) do
        if type(item) == "table" then
          out[#out + 1] = pad .. "  [" .. i .. "]"
          for _, kk in ipairs(sorted_keys(item)) do text_value(kk, item[kk], indent + 2, out) end
        else
          out[#out + 1] = pad .. "  [" .. i .. "] " .. scalar(k, item)
        end
      end
    end
  elseif next(v) == nil then
    out[#out + 1] = pad .. tostring(k) .. ": (empty)"
  else
    out[#out + 1] = pad .. tostring(k) .. ":"
    for _, kk in ipairs(sorted_keys(v)) do text_value(kk, v[kk], indent + 1, out) end
  end
end

function format.text(t)
  local out = {}
  for _, k in ipairs(sorted_keys(t)) do text_value(k, t[k], 0, out) end
  return table.concat(out, "\n") .. "\n"
end

return format
