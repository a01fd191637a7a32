#!/bin/sh
# examples/haproxy/start.sh DIR PORT BACKEND_HOST:PORT
#
# Starts an isolated HAProxy on 127.0.0.1:PORT in front of BACKEND with
# Kerberos and NTLM single sign-on (sspi-auth.lua): its configuration, pid
# file and replay cache live in DIR, nothing else is written.  Credentials
# come from the environment: KRB5_KTNAME (the acceptor keytab, with
# HTTP/<host> keys) and/or NTLM_USER_FILE ("DOMAIN:USER:PASSWORD" lines).
# The module must be built for Lua 5.3, the Lua HAProxy 2.6 embeds:
# `make LUA_VERSION=5.3` (SSPI_CPATH names another place, e.g. a LuaRocks
# tree's lib/lua/5.3/?.so).  Stop it with stop.sh DIR.
set -eu
if [ $# -ne 3 ]; then
  echo "usage: $0 DIR PORT BACKEND_HOST:PORT" >&2
  exit 2
fi
dir=$1 port=$2 backend=$3
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cpath=${SSPI_CPATH:-$top/build/5.3/lua/?.so}
lpath=${SSPI_PATH:-$top/lua/?.lua}
haproxy=${HAPROXY:-haproxy}
command -v "$haproxy" >/dev/null || { echo "$0: haproxy not found (apt-get install haproxy)" >&2; exit 1; }
case $cpath in
  "$top"/*) [ -f "${cpath%%\?.so}sspi/core.so" ] || {
    echo "$0: ${cpath%%\?.so}sspi/core.so missing: run make LUA_VERSION=5.3" >&2; exit 1; } ;;
esac
if [ -z "${KRB5_KTNAME:-}" ] && [ -z "${NTLM_USER_FILE:-}" ]; then
  echo "$0: set KRB5_KTNAME and/or NTLM_USER_FILE" >&2
  exit 1
fi
mkdir -p "$dir/rcache"
chmod 700 "$dir/rcache"
cat >"$dir/haproxy.cfg" <<CFG
global
    log stderr format short local0 warning
    lua-prepend-path $lpath
    lua-prepend-path $cpath cpath
    lua-load $here/sspi-auth.lua

defaults
    mode http
    log global
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s

frontend sso
    bind 127.0.0.1:$port
    http-request lua.sspi-auth
    # fail closed: a Lua error in the action lets the request through
    # unnamed, so nothing without a name goes on
    http-request return status 401 content-type text/plain string "unauthorized" hdr WWW-Authenticate Negotiate hdr WWW-Authenticate NTLM unless { var(txn.sspi_user) -m found }
    # Kerberos mutual authentication: the server's last token
    http-response set-header WWW-Authenticate %[var(txn.sspi_www_authenticate)] if { var(txn.sspi_www_authenticate) -m found }
    default_backend app

backend app
    server app $backend
CFG
rm -f "$dir/haproxy.pid"
# -D: daemon; its stderr (Lua alerts, errors) goes to DIR/haproxy.log
# the Lua search paths are the configuration's, not the caller's
env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_3 -u LUA_CPATH_5_3 KRB5RCACHEDIR="${KRB5RCACHEDIR:-$dir/rcache}" "$haproxy" -D -f "$dir/haproxy.cfg" \
  -p "$dir/haproxy.pid" >"$dir/haproxy.log" 2>&1 </dev/null || {
  cat "$dir/haproxy.log" >&2; exit 1; }
i=0
until [ -s "$dir/haproxy.pid" ]; do
  i=$((i + 1))
  [ $i -lt 100 ] || { echo "$0: haproxy did not start" >&2; cat "$dir/haproxy.log" >&2; exit 1; }
  sleep 0.05
done
echo "haproxy $(cat "$dir/haproxy.pid") on 127.0.0.1:$port -> $backend"
