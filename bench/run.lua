--- make bench: every contender side by side against one throwaway realm.
--
--   lua5.4 bench/run.lua GSS_RAW_BINARY [RESULTS_MD]
--
-- Starts the MIT realm of spec/helpers/realm.lua (KDC on a free 127.0.0.1
-- port, everything in a temp dir), writes an NTLM user file there, then runs
-- each measure's contenders one after the other (raw C, our Lua module,
-- python-gssapi), BENCH_REPS times round, each run BENCH_SECONDS long, each
-- in a fresh process.  Prints the markdown table (median, spread, ratio to
-- the raw C figure of the same round, as the median of the rounds; target)
-- on stdout and writes it to RESULTS_MD.
-- A benchmark, not a test: a failing contender is reported in the table and
-- the runner still exits 0.
--
-- Knobs (environment): BENCH_SECONDS (1), BENCH_REPS (5),
-- BENCH_MEMORY_COUNT (100000), BENCH_ONLY (Lua patterns on measure names,
-- "|" between alternatives: BENCH_ONLY="TLS|HTTPS").

local realm = require "helpers.realm"
local testenv = require "sspi_testenv"
local sh = require "helpers.sh"
local shell_quote, read_file = sh.quote, sh.read_file

local RAW = arg[1] or "build/bench/gss_raw"
local TLS_RAW = os.getenv("BENCH_TLS_RAW") or "build/bench/tls_raw"
local RESULTS = arg[2]
local SECONDS = tonumber(os.getenv("BENCH_SECONDS") or "") or 1
local REPS = math.tointeger(tonumber(os.getenv("BENCH_REPS") or "")) or 5
local MEMORY_COUNT = math.tointeger(tonumber(os.getenv("BENCH_MEMORY_COUNT") or "")) or 100000
local ONLY = os.getenv("BENCH_ONLY")

-- Whether BENCH_ONLY selects a name (any of its "|"-separated patterns).
local function selected(name)
  if not ONLY then return true end
  for pattern in ONLY:gmatch("[^|]+") do
    if name:find(pattern) then return true end
  end
  return false
end
local TIMEOUT = 60 -- seconds a single timed run may take before it is called hung

local NTLM_DOMAIN, NTLM_USER, NTLM_PASSWORD = "SSPI", "bench", "bench-Secret-1"

local function command_output(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  if not p then return "" end
  local text = p:read("a") or ""
  p:close()
  return (text:gsub("%s+$", ""))
end

local function progress(fmt, ...)
  io.stderr:write(fmt:format(...), "\n")
  io.stderr:flush()
end

-- Contenders: how to start them; the measure's arguments follow.
local C = {
  raw_krb5 = { label = "raw C GSSAPI (MIT krb5)", cmd = shell_quote(RAW) .. " krb5" },
  lua_krb5 = { label = "sspi Lua (Kerberos, gssapi backend)", cmd = "lua5.4 bench/sspi_bench.lua krb5" },
  py_krb5 = { label = "python-gssapi", cmd = "/usr/bin/python3 bench/gss_python.py krb5" },
  raw_ntlm = { label = "raw C GSSAPI + gss-ntlmssp", cmd = shell_quote(RAW) .. " ntlm" },
  lua_ntlm = { label = "sspi Lua, built-in NTLM", cmd = "lua5.4 bench/sspi_bench.lua ntlm-builtin" },
  lua_ntlm_gss = { label = "sspi Lua, NTLM via gss-ntlmssp",
    cmd = "lua5.4 bench/sspi_bench.lua ntlm-gssapi" },
  py_ntlm = { label = "python-gssapi + gss-ntlmssp", cmd = "/usr/bin/python3 bench/gss_python.py ntlm" },
  -- HTTP single sign-on servers (bench/sso_servers.lua): one client, bench/http_login.lua,
  -- its URL filled in once they run
  sso_gssapi = { label = "Apache mod_auth_gssapi, static file", sso = "gssapi" },
  sso_haproxy = { label = "HAProxy gateway (examples/haproxy)", sso = "haproxy" },
  sso_modlua = { label = "Apache mod_lua (examples/apache-mod-lua)", sso = "modlua" },
  raw_tls13 = { label = "raw C libssl, memory BIOs", cmd = shell_quote(TLS_RAW) .. " tls13" },
  lua_tls13 = { label = "sspi Lua, Schannel", cmd = "lua5.4 bench/tls_bench.lua tls13" },
  raw_tls12 = { label = "raw C libssl, memory BIOs", cmd = shell_quote(TLS_RAW) .. " tls12" },
  lua_tls12 = { label = "sspi Lua, Schannel", cmd = "lua5.4 bench/tls_bench.lua tls12" },
  -- loopback HTTPS over LuaSocket (bench/https_transfer.lua): ours against LuaSec
  https_luasec = { label = "LuaSec (lua-sec) over LuaSocket", cmd = "lua5.4 bench/https_transfer.lua luasec" },
  https_sspi = { label = "sspi.tls over LuaSocket", cmd = "lua5.4 bench/https_transfer.lua sspi" },
}

-- kind: "bytes" (MiB/s of payload), "time" (µs per op), "rate" (ops per second).
-- target: the contender held to it, the comparison and the ratio to the base.
local MEASURES = {
  { name = "Kerberos wrap+unwrap 64 KiB", args = "wrap 65536", kind = "bytes", base = C.raw_krb5,
    contenders = { C.raw_krb5, C.lua_krb5, C.py_krb5 }, target = { who = C.lua_krb5, op = ">=", ratio = 0.95 } },
  { name = "Kerberos wrap+unwrap 64 B", args = "wrap 64", kind = "time", base = C.raw_krb5,
    contenders = { C.raw_krb5, C.lua_krb5, C.py_krb5 }, target = { who = C.lua_krb5, op = "<=", ratio = 1.25 } },
  { name = "Kerberos handshake (ticket cached)", args = "handshake", kind = "rate", base = C.raw_krb5,
    contenders = { C.raw_krb5, C.lua_krb5, C.py_krb5 }, target = { who = C.lua_krb5, op = ">=", ratio = 0.9 } },
  { name = "NTLM handshake", args = "handshake", kind = "rate", base = C.raw_ntlm,
    contenders = { C.raw_ntlm, C.lua_ntlm, C.lua_ntlm_gss, C.py_ntlm },
    target = { who = C.lua_ntlm, op = ">=", ratio = 2.0 } },
  { name = "NTLM wrap+unwrap 64 KiB", args = "wrap 65536", kind = "bytes", base = C.raw_ntlm,
    contenders = { C.raw_ntlm, C.lua_ntlm, C.lua_ntlm_gss, C.py_ntlm },
    target = { who = C.lua_ntlm, op = ">=", ratio = 1.0 } },
  { name = "NTLM wrap+unwrap 64 B", args = "wrap 64", kind = "time", base = C.raw_ntlm,
    contenders = { C.raw_ntlm, C.lua_ntlm, C.lua_ntlm_gss, C.py_ntlm } },
  -- the ratio column is to mod_auth_gssapi here
  { name = "HTTP Kerberos logins (ratio to mod_auth_gssapi)", args = "login", kind = "rate", base = C.sso_gssapi,
    contenders = { C.sso_gssapi, C.sso_haproxy, C.sso_modlua }, sso = true,
    target = { who = C.sso_haproxy, op = ">=", ratio = 1.15 } },
  { name = "TLS 1.3 handshake", args = "handshake", kind = "rate", base = C.raw_tls13,
    contenders = { C.raw_tls13, C.lua_tls13 }, target = { who = C.lua_tls13, op = ">=", ratio = 0.9 } },
  { name = "TLS 1.2 handshake", args = "handshake", kind = "rate", base = C.raw_tls12,
    contenders = { C.raw_tls12, C.lua_tls12 }, target = { who = C.lua_tls12, op = ">=", ratio = 0.9 } },
  { name = "TLS 1.3 wrap+unwrap 16 KiB (AES-128-GCM)", args = "wrap 16384", kind = "bytes", base = C.raw_tls13,
    contenders = { C.raw_tls13, C.lua_tls13 }, target = { who = C.lua_tls13, op = ">=", ratio = 0.95 } },
  { name = "TLS 1.2 wrap+unwrap 16 KiB (AES-128-GCM)", args = "wrap 16384", kind = "bytes", base = C.raw_tls12,
    contenders = { C.raw_tls12, C.lua_tls12 }, target = { who = C.lua_tls12, op = ">=", ratio = 0.95 } },
  -- the ratio column is to LuaSec here
  { name = "HTTPS loopback transfer, TLS 1.3 (ratio to LuaSec)", args = "transfer", kind = "bytes",
    base = C.https_luasec, contenders = { C.https_luasec, C.https_sspi },
    target = { who = C.https_sspi, op = ">=", ratio = 1.0 } },
}

local UNITS = { bytes = "MiB/s", time = "µs/op", rate = "/s" }

local function figure_of(kind, ops, secs, bytes)
  if kind == "bytes" then return ops * bytes / secs / (1024 * 1024) end
  if kind == "time" then return secs / ops * 1e6 end
  return ops / secs
end

local errfile = os.tmpname()

-- The first line of an error text, enough to say which contender broke and why.
local function first_line(text)
  local line = text:match("^%s*([^\n]*)") or ""
  if #line > 300 then line = line:sub(1, 300) .. "..." end
  return line
end

-- Runs one contender once; returns the figure, or nil and the reason.
local function run_once(contender, measure)
  local cmd = ("timeout %d %s %s %s 2>%s"):format(TIMEOUT, contender.cmd, measure.args, SECONDS,
    shell_quote(errfile))
  local p = io.popen(cmd)
  if not p then return nil, "could not start: " .. cmd end
  local out = p:read("a") or ""
  local ok, how, code = p:close()
  local ops, secs, bytes = out:match("ops=(%d+) secs=([%d.]+) bytes=(%d+)")
  if not ok or not ops then
    local why = read_file(errfile):gsub("%s+$", "")
    if why == "" then why = out end
    return nil, ("%s %s: %s"):format(how, tostring(code), first_line(why))
  end
  return figure_of(measure.kind, tonumber(ops), tonumber(secs), tonumber(bytes))
end

local function median(list)
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  local n = #s
  if n == 0 then return nil end
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

-- The ratio of a contender to the base: the median over the rounds of the
-- two figures of the same round, which ran one right after the other.  A
-- slow spell of a shared machine that lasts a few seconds moves both
-- figures of one round, or spoils one round's ratio, which the median drops;
-- a ratio of the two medians takes each median from different moments.
local function paired_ratio(cell, base_cell)
  local ratios = {}
  for rep, v in pairs(cell.by_round) do
    local b = base_cell.by_round[rep]
    if b and b > 0 then ratios[#ratios + 1] = v / b end
  end
  return median(ratios)
end

local function fmt_figure(v)
  if v >= 1000 then return ("%.0f"):format(v) end
  if v >= 100 then return ("%.1f"):format(v) end
  return ("%.2f"):format(v)
end

-- All measures, all contenders, REPS times round (alternating, so that a
-- slow moment of the machine hits every contender alike).
local function run_timed(measures)
  local results = {} -- results[measure][contender] = { figures = {}, errors = {} }
  for _, m in ipairs(measures) do
    results[m] = {}
    for _, c in ipairs(m.contenders) do results[m][c] = { figures = {}, by_round = {}, errors = {} } end
  end
  for rep = 1, REPS do
    for _, m in ipairs(measures) do
      for _, c in ipairs(m.contenders) do
        local cell = results[m][c]
        -- A contender that failed twice is not run again: it would fail again.
        if #cell.errors < 2 then
          local v, err = run_once(c, m)
          if v then
            cell.figures[#cell.figures + 1] = v
            cell.by_round[rep] = v
            progress("rep %d/%d  %-36s %-38s %s %s", rep, REPS, m.name, c.label, fmt_figure(v),
              UNITS[m.kind])
          else
            cell.errors[#cell.errors + 1] = err
            progress("rep %d/%d  %-36s %-38s FAILED: %s", rep, REPS, m.name, c.label, err)
          end
        end
      end
    end
  end
  return results
end

local function run_memory()
  local cmd = ("timeout %d lua5.4 bench/sspi_bench.lua memory %d %d 2>%s"):format(600, MEMORY_COUNT, MEMORY_COUNT,
    shell_quote(errfile))
  progress("memory: %d built-in NTLM handshakes, %d NTLM and %d Kerberos wrap/unwrap pairs ...",
    MEMORY_COUNT, MEMORY_COUNT, MEMORY_COUNT)
  local p = io.popen(cmd)
  local out = p and p:read("a") or ""
  local ok, how, code = true, nil, nil
  if p then ok, how, code = p:close() end
  local mem = {}
  for k, v in out:gmatch("([%w_]+)=([%d.]+)") do mem[k] = tonumber(v) end
  if not ok or not mem.rss_end then
    local why = read_file(errfile):gsub("%s+$", "")
    return nil, ("%s %s: %s"):format(tostring(how), tostring(code), first_line(why ~= "" and why or out))
  end
  progress("memory: %s", out:gsub("%s+$", ""))
  return mem
end

local function target_text(m, ratio)
  local t = m.target
  if not t then return "" end
  local want = ("%s %.2f"):format(t.op == ">=" and "≥" or "≤", t.ratio)
  if not ratio then return want .. ": no figure" end
  local met = (t.op == ">=" and ratio >= t.ratio) or (t.op == "<=" and ratio <= t.ratio)
  -- a miss shows three decimals: the ratio column's two can round onto the target
  return want .. (met and ": met" or (": **missed** (%.3f)"):format(ratio))
end

local function table_rows(measures, results, mem, mem_err)
  local rows = {
    "| measure | contender | median | spread (min–max) | ratio to raw C | target |",
    "| --- | --- | ---: | --- | ---: | --- |",
  }
  local failures = {}
  for _, m in ipairs(measures) do
    local base_cell = results[m][m.base]
    for _, c in ipairs(m.contenders) do
      local cell = results[m][c]
      local med = median(cell.figures)
      local fig, spread, ratio_text, ratio = "failed", "", "", nil
      if med then
        local lo, hi = math.min(table.unpack(cell.figures)), math.max(table.unpack(cell.figures))
        fig = fmt_figure(med) .. " " .. UNITS[m.kind]
        spread = ("±%.1f%% (%s–%s, n=%d)"):format((hi - lo) / 2 / med * 100, fmt_figure(lo),
          fmt_figure(hi), #cell.figures)
        ratio = paired_ratio(cell, base_cell)
        if ratio then
          ratio_text = c == m.base and "1.00" or
            (m.kind == "time" and ("%.2fx the time"):format(ratio) or ("%.2f"):format(ratio))
        end
      end
      if #cell.errors > 0 then
        failures[#failures + 1] = ("- %s / %s: %s"):format(m.name, c.label, cell.errors[1])
        if med then fig = fig .. " (some runs failed)" end
      end
      local target = (m.target and m.target.who == c) and target_text(m, ratio) or ""
      rows[#rows + 1] = ("| %s | %s | %s | %s | %s | %s |"):format(m.name, c.label, fig, spread, ratio_text, target)
    end
  end
  if mem or mem_err then
    local label = C.lua_ntlm.label
    local function growth_row(what, before, after, secs, target)
      local grow = after - before
      local t = ""
      if target then t = ("< 1024 KiB growth: %s"):format(grow < 1024 and "met" or "**missed**") end
      rows[#rows + 1] = ("| RSS over %s | %s | %+d KiB (%d → %d KiB) | ran %.1f s | | %s |"):format(what, label, grow,
        before, after, secs, t)
    end
    if mem then
      growth_row(("%d NTLM handshakes"):format(mem.handshakes), mem.rss_before, mem.rss_handshakes,
        mem.secs_handshakes, true)
      growth_row(("%d NTLM wrap/unwrap pairs (64 B)"):format(mem.pairs), mem.ntlm_wraps_before,
        mem.ntlm_wraps_after, mem.secs_ntlm_wraps)
      label = C.lua_krb5.label
      growth_row(("%d Kerberos wrap/unwrap pairs (64 B)"):format(mem.pairs), mem.krb5_wraps_before,
        mem.krb5_wraps_after, mem.secs_krb5_wraps)
      rows[#rows + 1] = ("| RSS of the whole memory run | both | %d KiB → %d KiB | | | |"):format(mem.rss_start,
        mem.rss_end)
    else
      rows[#rows + 1] = ("| RSS over %d NTLM handshakes | %s | failed | | | < 1024 KiB growth: no figure |"):format(
        MEMORY_COUNT, label)
      failures[#failures + 1] = "- memory: " .. mem_err
    end
  end
  return rows, failures
end

local function machine_line()
  local cpu = read_file("/proc/cpuinfo"):match("model name%s*:%s*([^\n]+)") or "unknown CPU"
  local versions = ("MIT krb5 %s, gss-ntlmssp %s, python3-gssapi %s, OpenSSL %s, %s"):format(
    command_output("dpkg-query -W -f '${Version}' libgssapi-krb5-2"),
    command_output("dpkg-query -W -f '${Version}' gss-ntlmssp"),
    command_output("dpkg-query -W -f '${Version}' python3-gssapi"),
    command_output("dpkg-query -W -f '${Version}' libssl3"),
    _VERSION)
  return ("%s; %s CPUs, %s; Linux %s; %s"):format(os.date("!%Y-%m-%d %H:%M UTC"), command_output("nproc"), cpu,
    command_output("uname -r"), versions)
end

local function main()
  local measures = {}
  for _, m in ipairs(MEASURES) do
    if selected(m.name) then measures[#measures + 1] = m end
  end
  local r = realm.start()
  local user_file = r.dir .. "/ntlm_users"
  local f = assert(io.open(user_file, "w"))
  f:write(("%s:%s:%s\n"):format(NTLM_DOMAIN, NTLM_USER, NTLM_PASSWORD))
  f:close()
  testenv.setenv("BENCH_KRB5_TARGET", "host@localhost")
  testenv.setenv("NTLM_USER_FILE", user_file)
  testenv.setenv("BENCH_NTLM_USER", NTLM_DOMAIN .. "\\" .. NTLM_USER)
  testenv.setenv("BENCH_NTLM_PASSWORD", NTLM_PASSWORD)
  -- the Schannel measures: a throwaway PKI (spec/helpers/tls.lua)
  local pki = require("helpers.tls").pki(r.dir .. "/pki")
  testenv.setenv("BENCH_TLS_CERT", pki.server)
  testenv.setenv("BENCH_TLS_KEY", pki.server_key)
  testenv.setenv("BENCH_TLS_CA", pki.ca)

  local servers
  for _, m in ipairs(measures) do
    if m.sso and not servers then
      servers = dofile("bench/sso_servers.lua").start(r, user_file)
      for _, c in ipairs(m.contenders) do
        c.cmd = "lua5.4 bench/http_login.lua " .. shell_quote(servers.url[c.sso])
      end
    end
  end

  local started = os.time()
  local ok, results = pcall(run_timed, measures)
  if servers then servers.stop() end
  if not ok then error(results, 0) end
  local mem, mem_err
  if selected("memory") then mem, mem_err = run_memory() end
  realm.stop_all()

  local rows, failures = table_rows(measures, results, mem, mem_err)
  local out = {
    ("Measured %s."):format(machine_line()),
    ("%d rounds, each run %g s in a fresh process, contenders alternating; median of the rounds, "
      .. "spread = half the min–max range, ratio = median of the rounds' ratios; %d s in all.")
      :format(REPS, SECONDS, os.time() - started),
    "",
  }
  for _, row in ipairs(rows) do out[#out + 1] = row end
  if #failures > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "Failures:"
    for _, line in ipairs(failures) do out[#out + 1] = (line:gsub("\n", " ")) end
  end
  local text = table.concat(out, "\n") .. "\n"
  io.stdout:write("\n", text)
  if RESULTS then
    local rf = io.open(RESULTS, "w")
    if rf then rf:write(text); rf:close() end
  end
end

local ok, err = pcall(main)
os.remove(errfile)
if not ok then
  realm.stop_all()
  io.stdout:write("bench: could not run: ", tostring(err), "\n")
end
os.exit(0)
