-- sspi.buffer (New-SecBuffer) and sspi.channel_bindings
-- (New-ChannelBindingBuffer): C memory behind a small userdata.
local sspi = require "sspi"

describe("sspi.buffer", function()
  it("holds a copy of a string", function()
    local b = sspi.buffer(sspi.SECBUFFER_TOKEN, "abc")
    assert.are.equal(3, #b)
    assert.are.equal(3, b:capacity())
    assert.are.equal("abc", b:data())
    assert.are.equal(sspi.SECBUFFER_TOKEN, b.type)
    assert.are.equal(0, b.flags)
    assert.is_false(b.package_allocated)
    assert.are.equal("sspi.buffer (SECBUFFER_TOKEN, 3/3 bytes)", tostring(b))
    assert.are.equal("sspi.buffer", getmetatable(b).__name)
  end)

  it("keeps binary data intact", function()
    local data = "\0\1\2\255\0" .. ("x"):rep(1000) .. "\0"
    local b = sspi.buffer(sspi.SECBUFFER_DATA, data)
    assert.are.equal(data, b:data())
    assert.are.equal(#data, #b)
  end)

  it("with a size, is empty with that capacity", function()
    local b = sspi.buffer(sspi.SECBUFFER_TOKEN, 48)
    assert.are.equal(0, #b)
    assert.are.equal(48, b:capacity())
    assert.are.equal("", b:data())
    assert.are.equal(b, b:set(("x"):rep(12)))
    assert.are.equal("sspi.buffer (SECBUFFER_TOKEN, 12/48 bytes)", tostring(b))
    assert.are.equal(("x"):rep(12), b:data())
    b:set("yz")
    assert.are.equal("yz", b:data())
    assert.are.equal(2, #b)
    b:set(("z"):rep(48))
    assert.are.equal(48, #b)
  end)

  it("may be empty", function()
    local b = sspi.buffer(sspi.SECBUFFER_PADDING, 0)
    assert.are.equal(0, #b)
    assert.are.equal(0, b:capacity())
    assert.are.equal("", b:data())
    b:set("")
    local e = sspi.buffer(sspi.SECBUFFER_DATA, "")
    assert.are.equal(0, #e)
    assert.are.equal("", e:data())
  end)

  it("refuses data beyond its capacity", function()
    local b = sspi.buffer(sspi.SECBUFFER_TOKEN, 4)
    assert.has_error(function() b:set("12345") end,
      "bad argument #1 to 'set' (5 bytes do not fit in capacity 4)")
    assert.are.equal(0, #b)
  end)

  it("carries attribute flags apart from the type", function()
    local b = sspi.buffer(sspi.SECBUFFER_DATA, "signed only", sspi.SECBUFFER_READONLY)
    assert.are.equal(sspi.SECBUFFER_DATA, b.type)
    assert.are.equal(sspi.SECBUFFER_READONLY, b.flags)
    assert.are.equal("sspi.buffer (SECBUFFER_DATA|SECBUFFER_READONLY, 11/11 bytes)", tostring(b))
    -- flags given inside the type are split the same way
    local c = sspi.buffer(sspi.SECBUFFER_DATA | sspi.SECBUFFER_READONLY_WITH_CHECKSUM, 8)
    assert.are.equal(sspi.SECBUFFER_DATA, c.type)
    assert.are.equal(sspi.SECBUFFER_READONLY_WITH_CHECKSUM, c.flags)
  end)

  it("names a type the table does not know by its number", function()
    assert.are.equal("sspi.buffer (type 99, 0/0 bytes)", tostring(sspi.buffer(99, 0)))
  end)

  it("raises on bad arguments, naming them", function()
    assert.has_error(function() sspi.buffer("TOKN", "x") end,
      "bad argument #1 to 'buffer' (unknown buffer type 'TOKN')")
    assert.has_error(function() sspi.buffer(-1, "x") end,
      "bad argument #1 to 'buffer' (buffer type out of range)")
    assert.has_error(function() sspi.buffer(2, -1) end, "bad argument #2 to 'buffer' (size out of range)")
    assert.has_error(function() sspi.buffer(2, 0x80000000) end, "bad argument #2 to 'buffer' (size out of range)")
    assert.has_error(function() sspi.buffer(2, {}) end)
    assert.has_error(function() sspi.buffer(2, 1.5) end)
    assert.has_error(function() sspi.buffer(2, "x", 1) end,
      "bad argument #3 to 'buffer' (buffer flags must be SECBUFFER_READONLY-style attribute bits)")
    assert.has_error(function() sspi.buffer(2, 4):set({}) end)
    -- numbers coerce to strings, as everywhere in Lua's C API
    assert.are.equal("5", sspi.buffer(2, 4):set(5):data())
  end)

  it("closes once, wipes, and refuses use after close", function()
    local b = sspi.buffer(sspi.SECBUFFER_TOKEN, "secret")
    b:close()
    b:close()
    assert.are.equal("sspi.buffer (closed)", tostring(b))
    assert.has_error(function() b:data() end, "attempt to use a closed sspi.buffer")
    assert.has_error(function() return #b end, "attempt to use a closed sspi.buffer")
    assert.has_error(function() return b.type end, "attempt to use a closed sspi.buffer")
    assert.has_error(function() b:set("x") end, "attempt to use a closed sspi.buffer")
    assert.has_error(function() b:capacity() end, "attempt to use a closed sspi.buffer")
  end)

  it("closes at the end of a <close> scope", function()
    local outer
    do
      local b <close> = sspi.buffer(sspi.SECBUFFER_TOKEN, "scoped")
      outer = b
      assert.are.equal("scoped", b:data())
    end
    assert.are.equal("sspi.buffer (closed)", tostring(outer))
  end)

  it("returns nil for fields it does not have", function()
    local b = sspi.buffer(sspi.SECBUFFER_TOKEN, 1)
    assert.is_nil(b.nothing)
    assert.is_nil(b[1])
  end)

  it("survives many allocations and collections", function()
    for i = 1, 2000 do
      local b = sspi.buffer(sspi.SECBUFFER_DATA, i)
      b:set(("a"):rep(i))
    end
    collectgarbage()
    collectgarbage()
    assert.are.equal("ok", sspi.buffer(1, "ok"):data())
  end)
end)

describe("sspi.channel_bindings", function()
  local function le32(s, pos) return string.unpack("<I4", s, pos) end

  it("serialises application data alone as Windows does", function()
    local b = sspi.channel_bindings { application_data = "test" }
    local data = b:data()
    assert.are.equal(sspi.SECBUFFER_CHANNEL_BINDINGS, b.type)
    assert.are.equal(36, #data)
    assert.are.equal(36, #b)
    -- zeros, except length 4 at byte 24 and offset 32 at byte 28, then "test"
    assert.are.equal(("\0"):rep(24) .. "\4\0\0\0" .. "\32\0\0\0" .. "test", data)
  end)

  it("lays out every field with its length and offset", function()
    local b = sspi.channel_bindings {
      initiator_addrtype = 2, initiator_address = "\127\0\0\1",
      acceptor_addrtype = 2, acceptor_address = "\10\0\0\2\0",
      application_data = "tls-server-end-point:xyz",
    }
    local d = b:data()
    assert.are.equal(32 + 4 + 5 + 24, #d)
    assert.are.equal(2, le32(d, 1))
    assert.are.equal(4, le32(d, 5))
    assert.are.equal(32, le32(d, 9))
    assert.are.equal(2, le32(d, 13))
    assert.are.equal(5, le32(d, 17))
    assert.are.equal(36, le32(d, 21))
    assert.are.equal(24, le32(d, 25))
    assert.are.equal(41, le32(d, 29))
    assert.are.equal("\127\0\0\1", d:sub(33, 36))
    assert.are.equal("\10\0\0\2\0", d:sub(37, 41))
    assert.are.equal("tls-server-end-point:xyz", d:sub(42))
  end)

  it("is a 32-byte header of zeros when empty", function()
    assert.are.equal(("\0"):rep(32), sspi.channel_bindings {}:data())
  end)

  it("raises on unknown keys and wrong types, naming the key", function()
    assert.has_error(function() sspi.channel_bindings { application = "x" } end,
      "bad argument #1 to 'channel_bindings' (unknown option 'application')")
    assert.has_error(function() sspi.channel_bindings { application_data = 5 } end,
      "bad argument #1 to 'channel_bindings' (bad option 'application_data' (string expected, got number))")
    assert.has_error(function() sspi.channel_bindings { initiator_addrtype = "2" } end,
      "bad argument #1 to 'channel_bindings' (bad option 'initiator_addrtype' (number expected, got string))")
    assert.has_error(function() sspi.channel_bindings { acceptor_addrtype = -1 } end,
      "bad argument #1 to 'channel_bindings' (bad option 'acceptor_addrtype' (-1 out of range 0..4294967295))")
    assert.has_error(function() sspi.channel_bindings { acceptor_addrtype = 2.5 } end,
      "bad argument #1 to 'channel_bindings' (bad option 'acceptor_addrtype' (number has no integer representation))")
    assert.has_error(function() sspi.channel_bindings "x" end)
    assert.has_error(function() sspi.channel_bindings { "positional" } end,
      "bad argument #1 to 'channel_bindings' (options take string keys, got a number key)")
  end)

  it("accepts an integral float as an integer", function()
    local b = sspi.channel_bindings { initiator_addrtype = 2.0 }
    assert.are.equal(2, le32(b:data(), 1))
  end)
end)
