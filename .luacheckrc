std = "lua54"
max_line_length = 120
files["spec"] = { std = "+busted" }
files["bench"] = { globals = {} }
exclude_files = { "build/**" }
-- the Lua 5.3 hosts' own globals
files["examples/haproxy"] = { std = "lua53", read_globals = { "core" } }
files["examples/apache-mod-lua"] = { std = "lua53", read_globals = { "apache2" }, globals = { "authenticate", "handle" } }
