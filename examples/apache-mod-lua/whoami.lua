-- examples/apache-mod-lua/whoami.lua: /whoami answers the authenticated
-- name (r.user, set by sspi-auth.lua) and nothing else.
function handle(r) -- mod_lua calls a global
  r.content_type = "text/plain"
  r:puts(r.user, "\n")
  return apache2.OK
end
