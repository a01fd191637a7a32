-- sspi.token.der: a strict reader for the DER subset that SPNEGO and
-- Kerberos tokens use.
--
-- Every read is bounds-checked against the enclosing element, so a length
-- that points past its parent is caught where it is read, not later.  A
-- malformed element raises a decode error (a table, see fail) that
-- sspi.token turns into `nil, message`; nothing here indexes past the input.

local der = {}

-- Raised for malformed input; the table shape lets sspi.token tell our
-- errors from bugs (which must stay loud).
local DecodeError = {}
DecodeError.__index = DecodeError
DecodeError.__tostring = function(e) return e.message end

function der.fail(message)
  error(setmetatable({ message = message }, DecodeError), 0)
end

function der.is_decode_error(e)
  return getmetatable(e) == DecodeError
end

local fail = der.fail

-- Class/constructed/number of an identifier octet, for error messages.
function der.describe_tag(tag)
  local class = ({ [0] = "UNIVERSAL", [1] = "APPLICATION", [2] = "CONTEXT", [3] = "PRIVATE" })[tag >> 6]
  return string.format("%s %d%s (0x%02x)", class, tag & 0x1f,
                       (tag & 0x20) ~= 0 and " constructed" or "", tag)
end

-- Reads one TLV starting at `pos` and ending no later than `limit` (the
-- index of the last byte the element may use).  Returns the element
-- { tag =, first =, last =, next = } where first..last is the content.
function der.read(bytes, pos, limit, what)
  what = what or "element"
  if pos > limit then fail(what .. ": truncated (no tag)") end
  local tag = bytes:byte(pos)
  if tag & 0x1f == 0x1f then
    fail(what .. ": high tag numbers are not used by these tokens (tag 0x" ..
         string.format("%02x", tag) .. ")")
  end
  if pos + 1 > limit then fail(what .. ": truncated (no length)") end
  local len = bytes:byte(pos + 1)
  local first = pos + 2
  if len == 0x80 then
    fail(what .. ": indefinite length is not DER")
  elseif len > 0x80 then
    local count = len - 0x80
    if count > 4 then fail(what .. ": length of length " .. count .. " is too large") end
    if first + count - 1 > limit then fail(what .. ": truncated length") end
    len = 0
    for i = 0, count - 1 do len = (len << 8) | bytes:byte(first + i) end
    first = first + count
  end
  local last = first + len - 1
  if last > limit then
    fail(string.format("%s: length %d runs past the end of its container (%d bytes left)",
                       what, len, limit - first + 1))
  end
  return { tag = tag, first = first, last = last, next = last + 1, len = len }
end

-- Reads an element and checks its tag.
function der.expect(bytes, pos, limit, tag, what)
  local el = der.read(bytes, pos, limit, what)
  if el.tag ~= tag then
    fail(string.format("%s: expected %s, found %s", what, der.describe_tag(tag),
                       der.describe_tag(el.tag)))
  end
  return el
end

-- The children of a constructed element, as a list of elements.
function der.children(bytes, el, what)
  if el.tag & 0x20 == 0 then fail((what or "element") .. ": expected a constructed element") end
  local list, pos = {}, el.first
  while pos <= el.last do
    local child = der.read(bytes, pos, el.last, what)
    list[#list + 1] = child
    pos = child.next
  end
  return list
end

-- The [n] context-tagged children of a SEQUENCE, by n, in increasing order
-- as DER requires; unknown or repeated tags are errors.
function der.tagged_fields(bytes, seq, what, allowed_max)
  local fields, previous = {}, -1
  for _, child in ipairs(der.children(bytes, seq, what)) do
    if child.tag & 0xe0 ~= 0xa0 then
      fail(string.format("%s: expected a context tag, found %s", what, der.describe_tag(child.tag)))
    end
    local n = child.tag & 0x1f
    if n <= previous then fail(string.format("%s: field [%d] out of order", what, n)) end
    if allowed_max and n > allowed_max then fail(string.format("%s: unknown field [%d]", what, n)) end
    previous = n
    -- the explicit tag wraps exactly one element
    local inner = der.read(bytes, child.first, child.last, string.format("%s [%d]", what, n))
    if inner.next ~= child.last + 1 then
      fail(string.format("%s [%d]: trailing bytes after the tagged value", what, n))
    end
    fields[n] = inner
  end
  return fields
end

function der.content(bytes, el)
  return bytes:sub(el.first, el.last)
end

function der.integer(bytes, el, what)
  if el.tag ~= 0x02 and el.tag ~= 0x0a then
    fail(what .. ": expected INTEGER, found " .. der.describe_tag(el.tag))
  end
  if el.len == 0 then fail(what .. ": empty INTEGER") end
  if el.len > 8 then fail(what .. ": INTEGER of " .. el.len .. " bytes is too large") end
  local v = 0
  for i = el.first, el.last do v = (v << 8) | bytes:byte(i) end
  -- sign-extend
  if el.len < 8 and bytes:byte(el.first) >= 0x80 then v = v - (1 << (8 * el.len)) end
  return v
end

function der.octets(bytes, el, what)
  if el.tag ~= 0x04 then fail(what .. ": expected OCTET STRING, found " .. der.describe_tag(el.tag)) end
  return der.content(bytes, el)
end

-- GeneralString / KerberosString / IA5String / UTF8String: returned as is.
function der.string(bytes, el, what)
  local ok = { [0x1b] = true, [0x16] = true, [0x0c] = true, [0x13] = true }
  if not ok[el.tag] then fail(what .. ": expected a string, found " .. der.describe_tag(el.tag)) end
  return der.content(bytes, el)
end

-- GeneralizedTime "YYYYMMDDHHMMSSZ" -> "YYYY-MM-DDTHH:MM:SSZ".
function der.time(bytes, el, what)
  if el.tag ~= 0x18 then fail(what .. ": expected GeneralizedTime, found " .. der.describe_tag(el.tag)) end
  local s = der.content(bytes, el)
  local y, mo, d, h, mi, se = s:match("^(%d%d%d%d)(%d%d)(%d%d)(%d%d)(%d%d)(%d%d)Z$")
  if not y then fail(what .. ": malformed GeneralizedTime") end
  return string.format("%s-%s-%sT%s:%s:%sZ", y, mo, d, h, mi, se)
end

-- BIT STRING -> list of set bit numbers (bit 0 = the most significant bit
-- of the first content byte, as ASN.1 numbers them) and a 32-bit integer
-- with bit n at 1 << (31 - n) (how Kerberos writes flags).
function der.bits(bytes, el, what)
  if el.tag ~= 0x03 then fail(what .. ": expected BIT STRING, found " .. der.describe_tag(el.tag)) end
  if el.len < 1 then fail(what .. ": empty BIT STRING") end
  local unused = bytes:byte(el.first)
  if unused > 7 or (el.len == 1 and unused ~= 0) then fail(what .. ": bad unused-bits count") end
  local set = {}
  local nbits = (el.len - 1) * 8 - unused
  for n = 0, nbits - 1 do
    local byte = bytes:byte(el.first + 1 + n // 8)
    if byte & (0x80 >> (n % 8)) ~= 0 then set[#set + 1] = n end
  end
  return set
end

-- OBJECT IDENTIFIER -> dotted string.
function der.oid(bytes, el, what)
  if el.tag ~= 0x06 then fail(what .. ": expected OBJECT IDENTIFIER, found " .. der.describe_tag(el.tag)) end
  if el.len < 1 then fail(what .. ": empty OBJECT IDENTIFIER") end
  local arcs, v, started = {}, 0, false
  for i = el.first, el.last do
    local b = bytes:byte(i)
    if not started and b == 0x80 then fail(what .. ": non-minimal OID arc") end
    if v > (1 << 49) then fail(what .. ": OID arc too large") end
    v = (v << 7) | (b & 0x7f)
    started = true
    if b & 0x80 == 0 then
      if #arcs == 0 then
        local top = v < 40 and 0 or (v < 80 and 1 or 2)
        arcs[1], arcs[2] = top, v - 40 * top
      else
        arcs[#arcs + 1] = v
      end
      v, started = 0, false
    end
  end
  if started then fail(what .. ": truncated OID arc") end
  local parts = {}
  for i, a in ipairs(arcs) do parts[i] = tostring(a) end
  return table.concat(parts, ".")
end

-- Encoding: the few writers a reply needs (sspi.kdcproxy), DER's definite
-- and minimal lengths.

-- One TLV: an identifier octet (low tag numbers only, as der.read) and its
-- content bytes.
function der.encode(tag, content)
  local n = #content
  if n < 0x80 then return string.char(tag, n) .. content end
  local len = {}
  while n > 0 do
    table.insert(len, 1, string.char(n & 0xff))
    n = n >> 8
  end
  return string.char(tag, 0x80 + #len) .. table.concat(len) .. content
end

-- An INTEGER in the fewest two's complement bytes.
function der.encode_integer(v)
  local out = {}
  local sign
  repeat
    table.insert(out, 1, v & 0xff)
    sign = v & 0x80
    v = v // 256 -- an arithmetic shift: a negative value ends at -1
  until (v == 0 and sign == 0) or (v == -1 and sign ~= 0)
  return der.encode(0x02, string.char(table.unpack(out)))
end

return der
