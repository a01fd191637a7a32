#!/bin/sh
# examples/apache-mod-lua/start.sh DIR PORT
#
# Starts an isolated Apache 2.4 (prefork, mod_lua) on 127.0.0.1:PORT with
# Kerberos and NTLM single sign-on on every path (sspi-auth.lua); /whoami
# answers the authenticated name and nothing else.  Its ServerRoot,
# configuration, pid file, logs, copies of the credentials and replay
# cache live in DIR; nothing else is written.  Credentials come from the
# environment: KRB5_KTNAME (acceptor keytab with HTTP/<host> keys) and/or
# NTLM_USER_FILE ("DOMAIN:USER:PASSWORD" lines), and KRB5_CONFIG when set;
# they are copied into DIR, the secrets readable by Apache's user only.  mod_lua embeds Lua 5.3: the module must be
# built for it (`make LUA_VERSION=5.3`; SSPI_CPATH names another place).
# SSPI_APACHE_WORKERS caps the children (default 25).  Stop: stop.sh DIR.
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 DIR PORT" >&2
  exit 2
fi
dir=$(mkdir -p "$1" && cd "$1" && pwd) port=$2
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cpath=${SSPI_CPATH:-$top/build/5.3/lua/?.so}
lpath=${SSPI_PATH:-$top/lua/?.lua}
workers=${SSPI_APACHE_WORKERS:-25}
apache=${APACHE:-/usr/sbin/apache2}
modules=${APACHE_MODULES:-/usr/lib/apache2/modules}
[ -x "$apache" ] || { echo "$0: $apache not found (apt-get install apache2)" >&2; exit 1; }
[ -f "$modules/mod_lua.so" ] || { echo "$0: $modules/mod_lua.so not found" >&2; exit 1; }
case $cpath in
  "$top"/*) [ -f "${cpath%%\?.so}sspi/core.so" ] || {
    echo "$0: ${cpath%%\?.so}sspi/core.so missing: run make LUA_VERSION=5.3" >&2; exit 1; } ;;
esac
if [ -z "${KRB5_KTNAME:-}" ] && [ -z "${NTLM_USER_FILE:-}" ]; then
  echo "$0: set KRB5_KTNAME and/or NTLM_USER_FILE" >&2
  exit 1
fi

# Apache's children run as www-data when started by root, else as the caller.
if [ "$(id -u)" = 0 ]; then user=www-data group=www-data; else user=$(id -un) group=$(id -gn); fi
mkdir -p "$dir/logs" "$dir/run" "$dir/rcache" "$dir/htdocs"
chmod 755 "$dir"
if [ "$(id -u)" = 0 ] && ! runuser -u "$user" -- test -x "$dir/htdocs"; then
  echo "$0: $user cannot reach $dir (make its parent directories searchable)" >&2
  exit 1
fi
# Apache's children (www-data when started by root) may not reach the
# checkout (a clone under /root is private): the hook scripts, and the
# module and Lua files when they come from the checkout, are copied into
# DIR, readable by all (nothing secret in them).
mkdir -p "$dir/lib/hooks"
cp "$here/sspi-auth.lua" "$here/whoami.lua" "$dir/lib/hooks/"
case $cpath in
  "$top"/*)
    mkdir -p "$dir/lib/c/sspi"
    cp "${cpath%%\?.so}sspi/core.so" "$dir/lib/c/sspi/core.so"
    cpath="$dir/lib/c/?.so" ;;
esac
case $lpath in
  "$top"/*)
    mkdir -p "$dir/lib/lua"
    cp -R "${lpath%%\?.lua}." "$dir/lib/lua/"
    lpath="$dir/lib/lua/?.lua" ;;
esac
chmod -R a+rX "$dir/lib"
hooks="$dir/lib/hooks"
env=""
if [ -n "${KRB5_KTNAME:-}" ]; then
  cp "${KRB5_KTNAME#FILE:}" "$dir/http.keytab"
  env="$env KRB5_KTNAME=FILE:$dir/http.keytab"
fi
if [ -n "${KRB5_CONFIG:-}" ]; then # a krb5.conf of the caller's, maybe in a private dir
  cp "$KRB5_CONFIG" "$dir/krb5.conf"
  chmod 644 "$dir/krb5.conf"
  env="$env KRB5_CONFIG=$dir/krb5.conf"
fi
if [ -n "${NTLM_USER_FILE:-}" ]; then
  cp "$NTLM_USER_FILE" "$dir/ntlm_users"
  env="$env NTLM_USER_FILE=$dir/ntlm_users"
fi
for f in "$dir/http.keytab" "$dir/ntlm_users"; do
  [ -f "$f" ] || continue
  chmod 640 "$f"
  [ "$(id -u)" != 0 ] || chgrp "$group" "$f"
done
# the replay cache: Apache's user only
chmod 700 "$dir/rcache"
[ "$(id -u)" != 0 ] || chown "$user:$group" "$dir/rcache"

cat >"$dir/httpd.conf" <<CFG
ServerRoot $dir
ServerName localhost
Listen 127.0.0.1:$port
PidFile $dir/run/httpd.pid
DefaultRuntimeDir $dir/run
ErrorLog $dir/logs/error.log
LogLevel warn lua:info
LogFormat "%h %u \"%r\" %>s" sso
CustomLog $dir/logs/access.log sso
User $user
Group $group
LoadModule mpm_prefork_module $modules/mod_mpm_prefork.so
LoadModule authn_core_module $modules/mod_authn_core.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule authz_user_module $modules/mod_authz_user.so
LoadModule lua_module $modules/mod_lua.so
StartServers 1
MinSpareServers 1
MaxSpareServers $workers
MaxRequestWorkers $workers
KeepAlive On
KeepAliveTimeout 15
DocumentRoot $dir/htdocs
<Directory />
    AllowOverride None
</Directory>

# --- the lines to copy: Kerberos and NTLM single sign-on ---
LuaPackagePath "$lpath"
LuaPackageCPath "$cpath"
<Location />
    # one Lua state per client connection: NTLM authenticates a connection
    LuaScope conn
    LuaHookCheckUserID $hooks/sspi-auth.lua authenticate
    AuthType SSPI
    AuthName "sspi"
    Require valid-user
</Location>
LuaMapHandler ^/whoami\$ $hooks/whoami.lua handle
CFG

rm -f "$dir/run/httpd.pid"
# shellcheck disable=SC2086
# the Lua search paths are the configuration's, not the caller's
env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_3 -u LUA_CPATH_5_3 -u KRB5_KTNAME -u NTLM_USER_FILE -u KRB5_CONFIG -u KRB5CCNAME KRB5RCACHEDIR="$dir/rcache" $env \
  "$apache" -f "$dir/httpd.conf" -k start || { cat "$dir/logs/error.log" >&2; exit 1; }
i=0
until [ -s "$dir/run/httpd.pid" ]; do
  i=$((i + 1))
  [ $i -lt 200 ] || { echo "$0: apache did not start" >&2; cat "$dir/logs/error.log" >&2; exit 1; }
  sleep 0.05
done
echo "apache $(cat "$dir/run/httpd.pid") on 127.0.0.1:$port"
