-- The thread-safety check (spec/c/threads.c): 8 threads, each with its own
-- lua_State, credentials and contexts, each doing 1,000 built-in NTLM and
-- 200 Kerberos handshakes with wrap/unwrap both ways, in one process whose
-- core, providers and binding are built with -fsanitize=thread (clang).
-- Any data race is a ThreadSanitizer report, which fails the spec even when
-- every worker finished.
local realm = require "helpers.realm"
local sh = require "helpers.sh"

local THREADS_TEST = "build/tsan/spec/c/threads"
local WORKER = "spec/c/threads_worker.lua"
local NTLM_PASSWORD = "Secret-NTLM-1" -- the worker's client password

local shell_quote, write_file = sh.quote, sh.write_file

-- sh.run: combined output, whether it exited 0, then popen's how / code.
local function run(cmd)
  local out, ok, code, how = sh.run(cmd)
  return out, ok, how, code
end

-- TSan's exit code for a run with reports is 66; halt_on_error stays off so
-- that every race is printed, not just the first.
local TSAN_ENV = "TSAN_OPTIONS='exitcode=66 second_deadlock_stack=1 history_size=4'"

local function threads(nthreads, ntlm, krb, user_file)
  return run(("%s %s %s %d %d %d %s"):format(TSAN_ENV, THREADS_TEST, WORKER, nthreads, ntlm, krb,
    shell_quote(user_file)))
end

describe("threads (TSan build)", function()
  local r, dir, user_file

  setup(function()
    -- built with clang -fsanitize=thread against the TSan-built static
    -- library by the Makefile (targets test and test-threads need threads-test)
    assert(io.open(THREADS_TEST), THREADS_TEST .. " is missing: run `make threads-test`"):close()
    r = realm.start()
    dir = r.dir .. "/threads"
    assert(os.execute("mkdir -m 700 " .. shell_quote(dir)))
    user_file = dir .. "/ntlm_users"
    write_file(user_file, "SSPI:alice:" .. NTLM_PASSWORD .. "\n")
  end)

  it("runs 8 threads of 1,000 NTLM and 200 Kerberos handshakes with no report", function()
    local out, ok, how, code = threads(8, 1000, 200, user_file)
    assert.is_nil(out:find("ThreadSanitizer", 1, true), out)
    assert.is_nil(out:find("failed:", 1, true), out)
    assert.matches("threads: 8 of 8 workers completed", out)
    assert.is_true(ok, ("exit %s %s:\n%s"):format(tostring(how), tostring(code), out))
  end)

  it("fails every worker, naming the status, when NTLM logons are refused", function()
    local wrong = dir .. "/wrong_users"
    write_file(wrong, "SSPI:alice:not-" .. NTLM_PASSWORD .. "\n")
    local out, ok, how, code = threads(2, 1, 0, wrong)
    assert.is_false(ok)
    assert.equal("exit", how)
    assert.equal(1, code)
    assert.matches("thread 1 failed: .*SEC_E_LOGON_DENIED", out)
    assert.matches("thread 2 failed: .*SEC_E_LOGON_DENIED", out)
    assert.matches("threads: 0 of 2 workers completed", out)
    assert.is_nil(out:find("ThreadSanitizer", 1, true), out)
  end)

  it("fails a worker whose script raises", function()
    local out, ok, how, code = threads(1, 0, 0, "/nonexistent/users")
    assert.is_false(ok)
    assert.equal("exit", how)
    assert.equal(1, code)
    assert.matches("thread 1 failed: ", out)
  end)

  it("refuses a bad thread count with exit 2", function()
    for _, n in ipairs({ "0", "65", "x" }) do
      local out, ok, how, code = run(("%s %s %s"):format(THREADS_TEST, WORKER, n))
      assert.is_false(ok)
      assert.equal("exit", how)
      assert.equal(2, code, out)
    end
    local out, ok, _, code = run(THREADS_TEST)
    assert.is_false(ok)
    assert.equal(2, code, out)
    assert.matches("usage:", out)
  end)
end)
