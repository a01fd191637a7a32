-- Constants, flag names and status names: Windows' names and values, from
-- the core's tables, and the conversions between masks and names.
local sspi = require "sspi"

-- The names PSSPI's Step-InitSecContext accepts for -ContextReq (the seed
-- document), all of which must exist with these values.
local ISC_REQ = {
  ISC_REQ_DELEGATE = 0x1, ISC_REQ_MUTUAL_AUTH = 0x2, ISC_REQ_REPLAY_DETECT = 0x4,
  ISC_REQ_SEQUENCE_DETECT = 0x8, ISC_REQ_CONFIDENTIALITY = 0x10, ISC_REQ_USE_SESSION_KEY = 0x20,
  ISC_REQ_PROMPT_FOR_CREDS = 0x40, ISC_REQ_USE_SUPPLIED_CREDS = 0x80, ISC_REQ_ALLOCATE_MEMORY = 0x100,
  ISC_REQ_USE_DCE_STYLE = 0x200, ISC_REQ_DATAGRAM = 0x400, ISC_REQ_CONNECTION = 0x800,
  ISC_REQ_CALL_LEVEL = 0x1000, ISC_REQ_FRAGMENT_SUPPLIED = 0x2000, ISC_REQ_EXTENDED_ERROR = 0x4000,
  ISC_REQ_STREAM = 0x8000, ISC_REQ_INTEGRITY = 0x10000, ISC_REQ_IDENTIFY = 0x20000,
  ISC_REQ_NULL_SESSION = 0x40000, ISC_REQ_MANUAL_CRED_VALIDATION = 0x80000, ISC_REQ_RESERVED1 = 0x100000,
  ISC_REQ_FRAGMENT_TO_FIT = 0x200000, ISC_REQ_FORWARD_CREDENTIALS = 0x400000,
  ISC_REQ_NO_INTEGRITY = 0x800000, ISC_REQ_USE_HTTP_STYLE = 0x1000000,
  ISC_REQ_UNVERIFIED_TARGET_NAME = 0x20000000, ISC_REQ_CONFIDENTIALITY_ONLY = 0x40000000,
}

describe("constants", function()
  it("has every -ContextReq name of PSSPI with Windows' value", function()
    for name, value in pairs(ISC_REQ) do
      assert.are.equal(value, sspi[name], name)
    end
  end)

  it("keeps the ISC and ASC values apart where Windows does", function()
    assert.are.equal(0x10000, sspi.ISC_REQ_INTEGRITY)
    assert.are.equal(0x20000, sspi.ASC_REQ_INTEGRITY)
    assert.are.equal(0x8000, sspi.ISC_REQ_STREAM)
    assert.are.equal(0x10000, sspi.ASC_REQ_STREAM)
    assert.are.equal(0x4000, sspi.ASC_RET_THIRD_LEG_FAILED)
    assert.are.equal(0x100, sspi.ISC_RET_ALLOCATED_MEMORY)
    assert.are.equal(0x100, sspi.ASC_REQ_ALLOCATE_MEMORY)
    assert.are.equal(0x2000000, sspi.ISC_RET_NO_ADDITIONAL_TOKEN)
  end)

  it("has the status codes", function()
    assert.are.equal(0, sspi.SEC_E_OK)
    assert.are.equal(0x00090312, sspi.SEC_I_CONTINUE_NEEDED)
    assert.are.equal(0x00090313, sspi.SEC_I_COMPLETE_NEEDED)
    assert.are.equal(0x00090314, sspi.SEC_I_COMPLETE_AND_CONTINUE)
    assert.are.equal(0x8009030C, sspi.SEC_E_LOGON_DENIED)
    assert.are.equal(0x8009030F, sspi.SEC_E_MESSAGE_ALTERED)
    assert.are.equal(0x80090305, sspi.SEC_E_SECPKG_NOT_FOUND)
    assert.are.equal(0x80090321, sspi.SEC_E_BUFFER_TOO_SMALL)
    assert.are.equal(0x80090346, sspi.SEC_E_BAD_BINDINGS)
    assert.are.equal(0x80090301, sspi.SEC_E_INVALID_HANDLE)
  end)

  it("has the buffer types, attribute flags and data representations", function()
    assert.are.equal(0, sspi.SECBUFFER_EMPTY)
    assert.are.equal(1, sspi.SECBUFFER_DATA)
    assert.are.equal(2, sspi.SECBUFFER_TOKEN)
    assert.are.equal(9, sspi.SECBUFFER_PADDING)
    assert.are.equal(10, sspi.SECBUFFER_STREAM)
    assert.are.equal(14, sspi.SECBUFFER_CHANNEL_BINDINGS)
    assert.are.equal(0x80000000, sspi.SECBUFFER_READONLY)
    assert.are.equal(0x10000000, sspi.SECBUFFER_READONLY_WITH_CHECKSUM)
    assert.are.equal(0xF0000000, sspi.SECBUFFER_ATTRMASK)
    assert.are.equal(0x10, sspi.SECURITY_NATIVE_DREP)
    assert.are.equal(0, sspi.SECURITY_NETWORK_DREP)
    assert.are.equal(0x80000001, sspi.SECQOP_WRAP_NO_ENCRYPT)
    assert.are.equal(0x2, sspi.SECPKG_FLAG_PRIVACY)
    assert.are.equal(0, sspi.SECPKG_NEGOTIATION_COMPLETE)
  end)

  it("makes every constant a non-negative integer", function()
    local count = 0
    for name, value in pairs(sspi) do
      if type(name) == "string" and name:match("^[A-Z][A-Z0-9_]+$") then
        assert.are.equal("integer", math.type(value), name)
        assert.is_true(value >= 0 and value <= 0xFFFFFFFF, name)
        count = count + 1
      end
    end
    assert.is_true(count > 250, "only " .. count .. " constants")
  end)
end)

describe("sspi.flag_names", function()
  it("names the bits of a mask in table order", function()
    local names = sspi.flag_names(sspi.ISC_RET_CONFIDENTIALITY | sspi.ISC_RET_MUTUAL_AUTH, "ISC_RET")
    assert.are.same({ "ISC_RET_MUTUAL_AUTH", "ISC_RET_CONFIDENTIALITY" }, names)
  end)

  it("reports bits no name covers as hex, one per bit", function()
    assert.are.same({ "ISC_RET_DELEGATE", "0x00800000", "0x80000000" },
      sspi.flag_names(0x80800001, "ISC_RET"))
    assert.are.same({ "0x00000080" }, sspi.flag_names(0x80, "ASC_REQ"))
  end)

  it("gives an empty list for 0", function()
    assert.are.same({}, sspi.flag_names(0, "ASC_RET"))
  end)

  it("names Schannel's credential flags, the table its flags option takes", function()
    assert.are.same({ "SCH_CRED_MANUAL_CRED_VALIDATION", "SCH_CRED_DISABLE_RECONNECTS" },
      sspi.flag_names(sspi.SCH_CRED_MANUAL_CRED_VALIDATION | sspi.SCH_CRED_DISABLE_RECONNECTS,
        "SCH_CRED"))
    assert.are.same({ "SCH_USE_STRONG_CRYPTO" }, sspi.flag_names(sspi.SCH_USE_STRONG_CRYPTO, "SCH_CRED"))
  end)

  it("turns every single flag back into its own name, for all four kinds", function()
    for _, kind in ipairs { "ISC_REQ", "ISC_RET", "ASC_REQ", "ASC_RET" } do
      local seen = 0
      for name, value in pairs(sspi) do
        if type(name) == "string" and name:sub(1, #kind + 1) == kind .. "_" then
          assert.are.same({ name }, sspi.flag_names(value, kind))
          seen = seen + 1
        end
      end
      assert.is_true(seen >= 24, kind)
    end
  end)

  it("raises on an unknown kind or a mask out of range", function()
    assert.has_error(function() sspi.flag_names(1, "ISC_FOO") end,
      "bad argument #2 to 'flag_names' (invalid option 'ISC_FOO')")
    assert.has_error(function() sspi.flag_names(-1, "ISC_REQ") end,
      "bad argument #1 to 'flag_names' (flag mask out of 32-bit range)")
    assert.has_error(function() sspi.flag_names(0x100000000, "ISC_REQ") end,
      "bad argument #1 to 'flag_names' (flag mask out of 32-bit range)")
    assert.has_error(function() sspi.flag_names("x", "ISC_REQ") end)
  end)
end)

describe("sspi.status_name", function()
  it("names a code and gives its text", function()
    local name, text = sspi.status_name(sspi.SEC_E_LOGON_DENIED)
    assert.are.equal("SEC_E_LOGON_DENIED", name)
    assert.are.equal("string", type(text))
    assert.is_true(#text > 0)
    assert.are.equal("SEC_I_CONTINUE_NEEDED", (sspi.status_name(0x00090312)))
  end)

  it("is the inverse of every SEC_E_/SEC_I_ constant", function()
    for name, value in pairs(sspi) do
      if type(name) == "string" and name:match("^SEC_[EI]_") then
        assert.are.equal(name, (sspi.status_name(value)))
      end
    end
  end)

  it("calls a code not in the table SEC_E_UNKNOWN, with no text", function()
    local name, text = sspi.status_name(0x80091234)
    assert.are.equal("SEC_E_UNKNOWN", name)
    assert.is_nil(text)
  end)

  it("raises on a non-integer or out-of-range code", function()
    assert.has_error(function() sspi.status_name("SEC_E_OK") end)
    assert.has_error(function() sspi.status_name(-5) end,
      "bad argument #1 to 'status_name' (status out of 32-bit range)")
  end)
end)
