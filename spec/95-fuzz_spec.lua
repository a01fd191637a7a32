-- The libFuzzer targets (fuzz/, docs/fuzzing.md): each one builds with
-- clang, ASan and UBSan, and runs a few seconds from its seed corpus
-- without a crash, a sanitizer report or a broken invariant.  Longer runs
-- are `make fuzz FUZZ_SECONDS=N`.  clang and libFuzzer (clang,
-- libclang-rt-14-dev) missing is a failure, not a skip.

local BUILD = require("helpers.build").dir

local SECONDS = 5

local TARGETS = {
  "ntlm_negotiate", "ntlm_challenge", "ntlm_authenticate", "ntlm_accept", "ntlm_init",
  "ntlm_unwrap", "spnego_decode", "negotiate_accept", "negotiate_init", "channel_bindings",
  "token_lua", "envelope", "schannel", "schannel_alpn", "kdcproxy_lua",
}

local sh = require "helpers.sh"
local sh_quote = sh.quote

-- Runs a shell command; returns success, combined output.
local function run(cmd)
  local out, ok = sh.run(cmd)
  return ok, out
end

local function tail(text, n)
  local lines = {}
  for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return table.concat(lines, "\n", math.max(1, #lines - (n or 30) + 1))
end

describe("fuzz targets", function()
  local tmp

  setup(function()
    -- built by the Makefile (target test needs fuzz-build)
    for _, target in ipairs(TARGETS) do
      local exe = BUILD .. "/fuzz/" .. target
      assert(io.open(exe), exe .. " is missing: run `make fuzz-build`"):close()
    end
    tmp = os.tmpname()
    os.remove(tmp)
    assert(run("mkdir -p " .. sh_quote(tmp)))
  end)

  teardown(function()
    if tmp then run("rm -rf " .. sh_quote(tmp)) end
  end)

  for _, target in ipairs(TARGETS) do
    it(target .. " runs " .. SECONDS .. " s from its seeds without a finding", function()
      local work = tmp .. "/" .. target
      assert(run("mkdir -p " .. sh_quote(work)))
      -- A private working corpus: the seeds stay as committed, and a
      -- concurrent `make fuzz` keeps its own.
      local ok, out = run((BUILD .. "/fuzz/%s -max_total_time=%d -timeout=10 -print_final_stats=1 " ..
                           "-artifact_prefix=%s/ %s fuzz/corpus/%s")
                          :format(target, SECONDS, sh_quote(work), sh_quote(work), target))
      assert(ok, target .. " found something:\n" .. tail(out, 40))
      assert.is_nil(out:find("ERROR: AddressSanitizer", 1, true))
      assert.is_nil(out:find("runtime error:", 1, true))
      assert.is_nil(out:find("invariant broken", 1, true))
      local execs = tonumber(out:match("stat::number_of_executed_units:%s*(%d+)"))
      assert(execs, "no execution count in the output:\n" .. tail(out))
      -- Every seed was read and ran, and the fuzzer went on from there.
      local seeds = select(2, run("ls fuzz/corpus/" .. target .. " | wc -l"))
      assert.is_true(execs > tonumber(seeds), target .. ": " .. execs .. " executions")
    end)
  end

  it("the runner reports a target that does not exist and fails", function()
    local ok, out = run("sh fuzz/run.sh " .. BUILD .. "/fuzz 1 no_such_target")
    assert.is_false(ok)
    assert.truthy(out:find("no_such_target%s+%-%s+%-%s+%-%s+MISSING"))
  end)

  it("the runner fails when a target crashes, naming it and keeping the input", function()
    -- A libFuzzer binary that aborts on any input starting with 'X', built
    -- like the real targets: proves the runner turns a crash into a failure.
    local src, bin = tmp .. "/crasher.c", tmp .. "/crasher"
    local f = assert(io.open(src, "wb"))
    f:write([[
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n > 0 && d[0] == 'X')
        abort();
    return 0;
}
]])
    f:close()
    local ok, out = run("clang -fsanitize=fuzzer,address " .. sh_quote(src) .. " -o " .. sh_quote(bin))
    assert(ok, "clang cannot build a libFuzzer target:\n" .. out)
    -- Its seed corpus is the crashing input itself.
    assert(run("mkdir -p " .. sh_quote(tmp .. "/run/corpus/crasher")))
    assert(run("cp " .. sh_quote(bin) .. " " .. sh_quote(tmp .. "/run/crasher")))
    local s = assert(io.open(tmp .. "/run/corpus/crasher/seed", "wb"))
    s:write("X")
    s:close()
    ok, out = run("sh fuzz/run.sh " .. sh_quote(tmp .. "/run") .. " 2 crasher")
    assert.is_false(ok)
    assert.truthy(out:find("crasher.-CRASH"), out)
    local ls = select(2, run("ls " .. sh_quote(tmp .. "/run/artifacts/crasher")))
    assert.truthy(ls:find("crash%-"), "no crash artifact kept: " .. ls)
  end)
end)
