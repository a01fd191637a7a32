-- Small shell and file helpers shared by the spec helpers, the specs and
-- bench/ (one copy instead of one per file).
local sh = {}

-- Quotes s for /bin/sh.
function sh.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- The whole file, or "" when it cannot be read.
function sh.read_file(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local data = f:read("a")
  f:close()
  return data
end

-- Writes data to path, raising on any failure.
function sh.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  assert(f:close())
end

return sh
