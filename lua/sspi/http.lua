--- HTTP Negotiate (RFC 4559) and NTLM authentication, framework-agnostic.
--
-- `require "sspi.http"` is a facade over four modules, each usable alone:
--
--  * `sspi.http.headers`: header syntax, RFC 7235 challenges and
--    credentials (several schemes, several challenges in one field,
--    token68 and auth-params): `parse_challenges`, `parse_credentials`,
--    `format_challenge`, `format_credentials`, `find_challenge`;
--  * `sspi.http.initiator`: the client loop as a state machine over header
--    values (`http.initiator`);
--  * `sspi.http.client`: requests over LuaSocket's socket.http, plugged in
--    through its `create` hook so that a multi-leg handshake (NTLM) stays
--    on one keep-alive connection (`http.client`, `http.request`), whose
--    transport lives in `sspi.http.connection` (replaceable: `connect`);
--  * `sspi.http.server`: the server side, keeping one context per
--    connection object and returning the authenticated name (`http.server`).
--
-- `b64encode` / `b64decode` are the layer's one base64 codec (sspi.base).
-- The security work is done by the core (require "sspi"), loaded on first
-- use so that the header functions work without the C module.
--
-- @module sspi.http

local base = require "sspi.base"
local headers = require "sspi.http.headers"
local initiator = require "sspi.http.initiator"
local client = require "sspi.http.client"
local server = require "sspi.http.server"

local M = {}

--- Base64 (RFC 4648, with padding) of a byte string.
function M.b64encode(data)
  local text = base.b64encode(data, "b64encode")
  return text
end

--- Strict base64 decoding: the RFC 4648 alphabet, padding optional but
-- correct when present, no stray characters.  Returns nil, message when
-- the text is not base64.
function M.b64decode(text)
  return base.b64decode(text)
end

M.MAX_HEADER_VALUE = headers.MAX_HEADER_VALUE
M.parse_challenges = headers.parse_challenges
M.parse_credentials = headers.parse_credentials
M.format_challenge = headers.format_challenge
M.format_credentials = headers.format_credentials
M.find_challenge = headers.find_challenge

M.initiator = initiator.new
M.client = client.new
M.request = client.request
M.server = server.new

return M
