--- A Lua script run in child processes with the interpreter of the build,
-- so a crash inside a library (a segfault in gss-ntlmssp) fails the one
-- case that ran it instead of killing busted.
--
--   local script = child.script("name", [[ ... lua source, arg[1].. ]])
--   local out = script.run("env -u NTLM_USER_FILE", "mode", "a file")
--   script.remove()
-- or, inside a describe block, child.suite (its setup and teardown).
local build = require "helpers.build"
local sh = require "helpers.sh"

local child = {}

-- Writes `source` into a new temp dir (sspi-<name>.XXXXXX).  The child
-- inherits the environment, so a realm started before reaches it.
function child.script(name, source)
  local dir = sh.tmpdir(name)
  local path = dir .. "/child.lua"
  sh.write_file(path, source)
  local script = { dir = dir }

  -- Runs the script with the quoted arguments after `env_prefix` (a
  -- command such as "env -u NAME", or ""); returns its output, raising
  -- when it ended other than by exit 0 (a crash shows as a signal).
  function script.run(env_prefix, ...)
    local args = {}
    for i = 1, select("#", ...) do args[i] = sh.quote(select(i, ...)) end
    local text, ok, code, how = sh.run(("%s %s %s %s"):format(env_prefix or "", build.lua,
      sh.quote(path), table.concat(args, " ")))
    assert(ok, ("the child ended by %s %s (a crash?): %s"):format(tostring(how), tostring(code), text))
    return text
  end

  function script.remove()
    if dir:match("/sspi%-[%w_-]+%.%w+$") then os.execute("rm -rf " .. sh.quote(dir)) end
  end

  return script
end

-- child.script for a describe block: setup(suite.setup) writes it (with
-- `files`, a name -> text table written beside the script: suite.files[name]
-- is the path), teardown(suite.teardown) removes it.
function child.suite(name, source, files)
  local suite = { files = {} }
  function suite.setup()
    for k, v in pairs(child.script(name, source)) do suite[k] = v end
    for file, text in pairs(files or {}) do
      suite.files[file] = suite.dir .. "/" .. file
      sh.write_file(suite.files[file], text)
    end
  end
  function suite.teardown()
    if suite.remove then suite.remove() end
  end
  return suite
end

return child
