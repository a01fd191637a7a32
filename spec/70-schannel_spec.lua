-- The Schannel package in one process: a client and a server context
-- stepped against each other over strings (TLS 1.2 and 1.3), SSPI's stream
-- rules (whole records, IncompleteMessage with the missing count, EXTRA,
-- records fed one byte at a time), the message functions on stream buffers
-- and strings, the queries, each failure status, close_notify both ways,
-- post-handshake messages and session resumption.
local sspi = require "sspi"
local tls = require "helpers.tls"
local sh = require "helpers.sh"

local suite = tls.suite()
local pki, server_cred, client_cred = suite.pki, suite.server_cred, suite.client_cred
setup(suite.setup)
teardown(suite.teardown)

-- Steps ctx with input until it is consumed, completes or needs more.
-- Returns the bytes to send, the last result and the bytes left over, or
-- nil, err, status.
local function pump(ctx, initiator, input, target, req)
  local out = {}
  local res, err, status
  repeat
    local args = { input = input ~= "" and input or nil, context_req = req }
    if initiator then
      args.target = target
      res, err, status = ctx:step_init(args)
    else
      res, err, status = ctx:step_accept(args)
    end
    if not res then return nil, err, status end
    if res.token then out[#out + 1] = res.token end
    if res.result == "IncompleteMessage" or res.result == "IncompleteCredentials" then break end
    input = res.extra or ""
  until res.result == "Ok" or input == ""
  return table.concat(out), res, input
end

-- A whole handshake.  Returns client, server, and the bytes the server sent
-- after the client completed (TLS 1.3 session tickets), or nil, err,
-- status, side.
local function handshake(cc, sc, opts)
  opts = opts or {}
  local client, server = sspi.context(cc), sspi.context(sc)
  local target = opts.target or "localhost"
  local to_server, cres = pump(client, true, "", target, opts.req)
  local sres, to_client, status
  for _ = 1, 10 do
    to_client, sres, status = pump(server, false, to_server, nil, opts.accept_req)
    if not to_client then return nil, sres, status, "accept" end
    if cres.result == "Ok" then break end
    to_server, cres, status = pump(client, true, to_client, target, opts.req)
    if not to_server then return nil, cres, status, "init" end
    if sres.result == "Ok" and cres.result == "Ok" then to_client = ""; break end
  end
  assert.same("Ok", cres.result)
  assert.same("Ok", sres.result)
  return client, server, to_client or ""
end

-- Unwraps everything in bytes on ctx, stepping through post-handshake
-- messages; returns the data.
local function read_all(ctx, bytes)
  local parts = {}
  while bytes ~= "" do
    local data, extra, status = ctx:unwrap(bytes)
    if data then
      parts[#parts + 1] = data
      bytes = extra or ""
    elseif status == "SEC_I_RENEGOTIATE" then
      local res = assert(ctx:step_init { input = extra.extra })
      assert.same("Ok", res.result)
      bytes = res.extra or ""
    else
      error(tostring(extra))
    end
  end
  return table.concat(parts)
end

describe("Schannel", function()
  it("is a package", function()
    local found
    for _, p in ipairs(sspi.packages()) do
      if p.name == "Schannel" then found = p end
    end
    assert.is_table(found)
    assert.same("builtin", found.backend)
    assert.same(0x107B3, found.capabilities)
    assert.same(14, found.rpcid)
  end)

  it("has the Windows constants", function()
    assert.same(1, sspi.SCHANNEL_SHUTDOWN)
    assert.same(7, sspi.SECBUFFER_STREAM_HEADER)
    assert.same(6, sspi.SECBUFFER_STREAM_TRAILER)
    assert.same(17, sspi.SECBUFFER_ALERT)
    assert.same(18, sspi.SECBUFFER_APPLICATION_PROTOCOLS)
    assert.same(0x00090321, sspi.SEC_I_RENEGOTIATE)
    assert.same(0x00090317, sspi.SEC_I_CONTEXT_EXPIRED)
    assert.same(0x00000800, sspi.SP_PROT_TLS1_2_CLIENT)
    assert.same(0x00003000, sspi.SP_PROT_TLS1_3)
    assert.same(0x00000008, sspi.SCH_CRED_MANUAL_CRED_VALIDATION)
    assert.same(0x00000080, sspi.SCH_CRED_DISABLE_RECONNECTS)
  end)

  for _, proto in ipairs({ "TLSv1.2", "TLSv1.3" }) do
    describe("over " .. proto, function()
      it("completes a handshake and carries data both ways", function()
        local client, server, tickets = handshake(client_cred { protocols = { proto } }, server_cred())
        assert.same(proto, client:query("connection_info").protocol)
        assert.same(proto, server:query("connection_info").protocol)
        if proto == "TLSv1.3" then assert.is_true(#tickets > 0) end
        assert.same("", read_all(client, tickets))
        local msg = ("hello TLS "):rep(100)
        assert.same(msg, read_all(server, assert(client:wrap(msg))))
        assert.same(msg, read_all(client, assert(server:wrap(msg))))
        -- 100 KiB: several records in one wrap
        local big = ("x"):rep(100 * 1024)
        assert.same(big, read_all(server, assert(client:wrap(big))))
      end)

      it("reports the stream sizes of the suite", function()
        local client = handshake(client_cred { protocols = { proto },
          cipher_suites = { proto == "TLSv1.3" and "TLS_AES_128_GCM_SHA256"
            or "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" } }, server_cred())
        local s = client:query("stream_sizes")
        assert.same(proto == "TLSv1.3" and 5 or 13, s.header)
        assert.same(proto == "TLSv1.3" and 17 or 16, s.trailer)
        assert.same(16384, s.max_message)
        assert.same(4, s.buffers)
        local info = client:query("cipher_info")
        assert.same(proto == "TLSv1.3" and "TLS_AES_128_GCM_SHA256"
          or "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", info.cipher_suite)
        assert.same(info.cipher_suite, client:query("connection_info").cipher)
        assert.same(128, client:query("connection_info").cipher_strength)
        -- the record wrap writes has exactly that layout
        local rec = assert(client:wrap("abc"))
        assert.same(s.header + 3 + s.trailer, #rec)
      end)

      it("encrypts and decrypts on stream buffers as Windows does", function()
        local client, server, tickets = handshake(client_cred { protocols = { proto } }, server_cred())
        read_all(client, tickets)
        local s = client:query("stream_sizes")
        local hdr = sspi.buffer(sspi.SECBUFFER_STREAM_HEADER, s.header)
        local data = sspi.buffer(sspi.SECBUFFER_DATA, "secret message")
        local trl = sspi.buffer(sspi.SECBUFFER_STREAM_TRAILER, s.trailer)
        assert(client:encrypt_message { hdr, data, trl, sspi.buffer(sspi.SECBUFFER_EMPTY, 0) })
        local wire = hdr:data() .. data:data() .. trl:data()
        assert.are_not.same("secret message", data:data())
        -- the record and the start of another behind it
        local next_rec = assert(client:wrap("second"))
        local inbuf = sspi.buffer(sspi.SECBUFFER_DATA, wire .. next_rec:sub(1, 3))
        local e1, e2, e3 = sspi.buffer(sspi.SECBUFFER_EMPTY, 0), sspi.buffer(sspi.SECBUFFER_EMPTY, 0),
          sspi.buffer(sspi.SECBUFFER_EMPTY, 0)
        assert(server:decrypt_message { inbuf, e1, e2, e3 })
        assert.same(sspi.SECBUFFER_STREAM_HEADER, inbuf.type)
        assert.same(sspi.SECBUFFER_DATA, e1.type)
        assert.same("secret message", e1:data())
        assert.same(sspi.SECBUFFER_STREAM_TRAILER, e2.type)
        assert.same(sspi.SECBUFFER_EXTRA, e3.type)
        assert.same(next_rec:sub(1, 3), e3:data())
        -- the partial record: incomplete, with the missing count
        local part = sspi.buffer(sspi.SECBUFFER_DATA, next_rec:sub(1, 3))
        local ok, err, status = server:decrypt_message { part, sspi.buffer(sspi.SECBUFFER_EMPTY, 0),
          sspi.buffer(sspi.SECBUFFER_EMPTY, 0), sspi.buffer(sspi.SECBUFFER_EMPTY, 0) }
        assert.is_nil(ok)
        assert.same("SEC_E_INCOMPLETE_MESSAGE", status)
        assert.same(2, err.missing)
        assert.same("second", read_all(server, next_rec))
      end)

      it("consumes whole records only, fed one byte at a time", function()
        local cc, sc = client_cred { protocols = { proto } }, server_cred()
        local client, server = sspi.context(cc), sspi.context(sc)
        local function feed(ctx, initiator, bytes)
          local out, buf, res = {}, "", nil
          local i = 1
          while i <= #bytes do
            buf = buf .. bytes:sub(i, i)
            i = i + 1
            local args = { input = buf }
            if initiator then args.target = "localhost" end
            res = assert((initiator and ctx.step_init or ctx.step_accept)(ctx, args))
            if res.result == "IncompleteMessage" then
              assert.is_true(res.missing >= 1)
              -- never more than what the record still needs
              local need = #buf < 5 and 5 - #buf
                or (buf:byte(4) * 256 + buf:byte(5) + 5 - #buf)
              assert.same(need, res.missing)
            else
              if res.token then out[#out + 1] = res.token end
              buf = res.extra or ""
              if res.result == "Ok" then break end
            end
          end
          return table.concat(out), res, buf .. bytes:sub(i)
        end
        local to_server = assert(client:step_init { target = "localhost" }).token
        local cdone, sdone, tickets = false, false, ""
        for _ = 1, 6 do
          local to_client, sres, srest = feed(server, false, to_server)
          assert.same("", srest)
          sdone = sres.result == "Ok"
          if cdone then tickets = to_client; break end
          local cres, crest
          to_server, cres, crest = feed(client, true, to_client)
          assert.same("", crest)
          cdone = cres.result == "Ok"
          if cdone and sdone then break end
        end
        assert.is_true(cdone and sdone)
        local msg = assert(client:wrap("after"))
        assert.same("after", read_all(server, msg))
        assert.same("", read_all(client, tickets))
      end)

      -- From 4 KiB up to one record, wrap makes the record's string while
      -- OpenSSL writes it (sspi_wrap_stream); below and above, from the
      -- context's buffer.  Both ways, each size, whole records in order.
      it("wraps the sizes around the hand-over of the record as OpenSSL writes it", function()
        local client, server, tickets = handshake(client_cred { protocols = { proto } }, server_cred())
        assert.same("", read_all(client, tickets))
        local sizes = assert(client:query("stream_sizes"))
        local overhead = sizes.header + sizes.trailer
        for _, n in ipairs { 1, 4095, 4096, 4097, 16383, 16384, 16385, 40000 } do
          local bytes = {}
          for i = 1, n do bytes[i] = string.char((i * 7 + n) % 256) end
          local msg = table.concat(bytes)
          for _, pair in ipairs { { client, server }, { server, client } } do
            local rec = assert(pair[1]:wrap(msg))
            local records = math.ceil(n / 16384)
            assert.same(n + records * overhead, #rec)
            assert.same(msg, read_all(pair[2], rec))
          end
        end
      end)
    end)
  end

  describe("Lua run while wrap makes a record's string (a call hook)", function()
    local big = ("h"):rep(8192)

    it("cannot use or close that context, and the record is whole", function()
      local client, server, tickets = handshake(client_cred(), server_cred())
      assert.same("", read_all(client, tickets))
      local refused = {}
      debug.sethook(function()
        local ok, e = pcall(client.query, client, "stream_sizes")
        if not ok then
          refused[#refused + 1] = e
          refused[#refused + 1] = select(2, pcall(client.close, client))
        end
      end, "c")
      local rec = client:wrap(big)
      debug.sethook()
      assert.is_string(rec)
      assert.same(2, #refused)
      assert.matches("attempt to use a sspi.context inside its own step", refused[1], 1, true)
      assert.matches("attempt to close a sspi.context inside its own step", refused[2], 1, true)
      assert.same(big, read_all(server, rec))
      assert.same("next", read_all(server, assert(client:wrap("next"))))
    end)

    it("that raises: wrap raises it, and the context fails rather than skip a record", function()
      local client, server, tickets = handshake(client_cred(), server_cred())
      assert.same("", read_all(client, tickets))
      debug.sethook(function()
        if not pcall(client.query, client, "stream_sizes") then error("the hook says no", 0) end
      end, "c")
      local ok, e = pcall(client.wrap, client, big)
      debug.sethook()
      assert.is_false(ok)
      assert.same("the hook says no", e)
      local rec, err, status = client:wrap("more")
      assert.is_nil(rec)
      assert.same("SEC_E_INVALID_HANDLE", status)
      assert.matches("failed earlier", tostring(err), 1, true)
      local data, err2, status2 = client:unwrap(assert(server:wrap("reply")))
      assert.is_nil(data)
      assert.same("SEC_E_INVALID_HANDLE", status2)
      assert.matches("failed earlier", tostring(err2), 1, true)
    end)
  end)

  it("gives back bytes past the handshake as EXTRA", function()
    local cc, sc = client_cred { protocols = { "TLSv1.2" } }, server_cred()
    local client, server = sspi.context(cc), sspi.context(sc)
    local hello = assert(client:step_init { target = "localhost" }).token
    local flight = assert(server:step_accept { input = hello }).token
    local fin = assert(client:step_init { target = "localhost", input = flight })
    assert.same("ContinueNeeded", fin.result)
    -- the server's last flight and application data in one read
    local last = assert(server:step_accept { input = fin.token })
    assert.same("Ok", last.result)
    local data = assert(server:wrap("early data"))
    local res = assert(client:step_init { target = "localhost", input = last.token .. data })
    assert.same("Ok", res.result)
    assert.same(data, res.extra)
    assert.same("early data", read_all(client, res.extra))
  end)

  it("refuses bytes that are not TLS at once", function()
    local server = sspi.context(server_cred())
    local res, err, status = server:step_accept { input = "GET / HTTP/1.1\r\n" }
    assert.is_nil(res)
    assert.same("SEC_E_ILLEGAL_MESSAGE", status)
    assert.matches("not a TLS record", err.message)
    assert.is_nil(err.token) -- no alert for bytes that are not TLS
    -- even one byte of it
    server = sspi.context(server_cred())
    res, err, status = server:step_accept { input = "G" }
    assert.matches("not a TLS record", err.message)
    assert.is_nil(res)
    assert.same("SEC_E_ILLEGAL_MESSAGE", status)
  end)

  it("says how much of a record header is missing", function()
    local server = sspi.context(server_cred())
    local res = assert(server:step_accept { input = "\22\3" })
    assert.same("IncompleteMessage", res.result)
    assert.same(3, res.missing)
    -- nothing consumed: the same context goes on
    local client = sspi.context(client_cred())
    local hello = assert(client:step_init { target = "localhost" }).token
    res = assert(server:step_accept { input = hello:sub(1, 10) })
    assert.same("IncompleteMessage", res.result)
    assert.same(#hello - 10, res.missing)
    res = assert(server:step_accept { input = hello })
    assert.same("ContinueNeeded", res.result)
  end)

  describe("failures", function()
    it("an untrusted root is SEC_E_UNTRUSTED_ROOT", function()
      local _, err, status, side = handshake(client_cred { ca = pki.other }, server_cred())
      assert.same("SEC_E_UNTRUSTED_ROOT", status, tostring(err))
      assert.same("init", side)
      _, err, status = handshake(client_cred(), server_cred { certificate = pki.selfsigned,
        private_key = pki.selfsigned_key })
      assert.same("SEC_E_UNTRUSTED_ROOT", status, tostring(err))
    end)

    it("a name mismatch is SEC_E_WRONG_PRINCIPAL", function()
      local _, err, status = handshake(client_cred(), server_cred(), { target = "www.example.org" })
      assert.same("SEC_E_WRONG_PRINCIPAL", status, tostring(err))
      _, err, status = handshake(client_cred(), server_cred { certificate = pki.other,
        private_key = pki.other_key })
      assert.same("SEC_E_WRONG_PRINCIPAL", status, tostring(err))
      -- an IP address target is checked against the IP SANs
      assert.truthy(handshake(client_cred(), server_cred(), { target = "127.0.0.1" }))
    end)

    it("an expired certificate is SEC_E_CERT_EXPIRED", function()
      local _, err, status = handshake(client_cred(), server_cred { certificate = pki.expired,
        private_key = pki.expired_key })
      assert.same("SEC_E_CERT_EXPIRED", status, tostring(err))
    end)

    it("verify = false and SCH_CRED_MANUAL_CRED_VALIDATION accept any certificate", function()
      assert.truthy(handshake(client_cred { verify = false }, server_cred { certificate = pki.expired,
        private_key = pki.expired_key }))
      local c = handshake(client_cred { flags = sspi.SCH_CRED_MANUAL_CRED_VALIDATION },
        server_cred { certificate = pki.selfsigned, private_key = pki.selfsigned_key })
      assert.truthy(c)
      assert.is_true(c:query("flags") & sspi.ISC_RET_MANUAL_CRED_VALIDATION ~= 0)
      -- SCH_CRED_NO_SERVERNAME_CHECK: the chain still, not the name
      assert.truthy(handshake(client_cred { flags = sspi.SCH_CRED_NO_SERVERNAME_CHECK }, server_cred(),
        { target = "www.example.org" }))
    end)

    it("no common protocol is SEC_E_ALGORITHM_MISMATCH on our side, an alert on the other", function()
      local _, err, status, side = handshake(client_cred { protocols = { "TLSv1.3" } },
        server_cred { protocols = { "TLSv1.2" } })
      assert.same("accept", side)
      assert.same("SEC_E_ALGORITHM_MISMATCH", status, tostring(err))
      -- the client that receives the alert
      local client = sspi.context(client_cred { protocols = { "TLSv1.3" } })
      local server = sspi.context(server_cred { protocols = { "TLSv1.2" } })
      local hello = assert(client:step_init { target = "localhost" }).token
      local res, serr = server:step_accept { input = hello, output = { sspi.SECBUFFER_TOKEN,
        sspi.SECBUFFER_ALERT } }
      assert.is_nil(res)
      assert.matches("no protocol or cipher suite in common", serr.message)
      _ = err
    end)

    it("no common cipher suite is SEC_E_ALGORITHM_MISMATCH", function()
      local _, err, status = handshake(
        client_cred { cipher_suites = { "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" } },
        server_cred { cipher_suites = { "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" } })
      assert.same("SEC_E_ALGORITHM_MISMATCH", status, tostring(err))
    end)

    it("an alert from the peer is SEC_E_ILLEGAL_MESSAGE with its description", function()
      -- the server refuses the client's hello (no common protocol) and
      -- sends protocol_version: the client gets it
      local client = sspi.context(client_cred { protocols = { "TLSv1.3" } })
      local hello = assert(client:step_init { target = "localhost" }).token
      -- a hand-made fatal alert: handshake_failure (40)
      local res, err, status = client:step_init { target = "localhost", input = "\21\3\3\0\2\2\40" }
      assert.is_nil(res)
      assert.same("SEC_E_ILLEGAL_MESSAGE", status)
      assert.matches("handshake failure", err.message)
      assert.is_string(hello)
    end)

    it("a truncated or malformed handshake record is refused, never a crash", function()
      local server = sspi.context(server_cred())
      -- a handshake message longer than its record is legal (it goes on in
      -- the next record): the step waits for it
      local res = server:step_accept { input = "\22\3\1\0\4\1\0\0\200" }
      assert.same("ContinueNeeded", res.result)
      -- a ClientHello too short to hold its fields is not
      server = sspi.context(server_cred())
      local _, status
      res, _, status = server:step_accept { input = "\22\3\1\0\6\1\0\0\2\3\3" }
      assert.is_nil(res)
      assert.same("SEC_E_ILLEGAL_MESSAGE", status)
      -- an oversized record header
      server = sspi.context(server_cred())
      res, _, status = server:step_accept { input = "\22\3\3\255\255" }
      assert.is_nil(res)
      assert.same("SEC_E_ILLEGAL_MESSAGE", status)
    end)

    it("a tampered record is SEC_E_DECRYPT_FAILURE", function()
      local client, server, tickets = handshake(client_cred(), server_cred())
      read_all(client, tickets)
      local rec = assert(client:wrap("payload"))
      local bad = rec:sub(1, 8) .. string.char(rec:byte(9) ~ 1) .. rec:sub(10)
      local data, err, status = server:unwrap(bad)
      assert.is_nil(data)
      assert.same("SEC_E_DECRYPT_FAILURE", status, tostring(err))
    end)
  end)

  describe("client certificates", function()
    it("a server with ca requires one: SEC_E_NO_CREDENTIALS when none came", function()
      -- TLS 1.2: the server learns it in the handshake
      local client, server = sspi.context(client_cred { protocols = { "TLSv1.2" } }),
        sspi.context(server_cred { ca = pki.ca })
      local res = assert(client:step_init { target = "localhost" })
      res = assert(server:step_accept { input = res.token })
      local cres = assert(client:step_init { target = "localhost", input = res.token })
      -- the client has none to offer: retryable, nothing consumed
      assert.same("IncompleteCredentials", cres.result)
      cres = assert(client:step_init { target = "localhost", input = res.token })
      assert.same("ContinueNeeded", cres.result)
      local sres, err, status = server:step_accept { input = cres.token }
      assert.is_nil(sres)
      assert.same("SEC_E_NO_CREDENTIALS", status, tostring(err))
    end)

    it("one given is verified and named", function()
      local client, server = handshake(client_cred { certificate = pki.client,
        private_key = pki.client_key }, server_cred { ca = pki.ca })
      assert.truthy(client)
      assert.same("CN=alice,O=sspi", server:query("names").user)
      assert.same("CN=alice,O=sspi", server:query("remote_cert").subject)
      assert.is_true(server:query("flags") & sspi.ASC_RET_MUTUAL_AUTH ~= 0)
    end)

    it("an untrusted one is refused", function()
      local _, err, status = handshake(client_cred { certificate = pki.selfsigned,
        private_key = pki.selfsigned_key }, server_cred { ca = pki.ca })
      assert.same("SEC_E_UNTRUSTED_ROOT", status, tostring(err))
    end)
  end)

  describe("queries", function()
    it("remote_cert, names, lifespan", function()
      local client = handshake(client_cred(), server_cred())
      local cert = client:query("remote_cert")
      assert.same("CN=localhost,O=sspi", cert.subject)
      assert.same("CN=sspi test CA", cert.issuer)
      assert.matches("^%-%-%-%-%-BEGIN CERTIFICATE", cert.pem)
      assert.same(0x30, cert.der:byte(1))
      local f = io.popen("openssl x509 -in " .. sh.quote(pki.server) .. " -noout -enddate")
      local enddate = f:read("l"); f:close()
      assert.is_true(cert.not_after > os.time())
      assert.is_true(cert.not_before <= os.time())
      assert.is_string(enddate)
      assert.same("CN=localhost,O=sspi", client:query("names").user)
      local life = client:query("lifespan")
      assert.same(cert.not_after, life.expiry)
      -- the DER is the server's certificate, as openssl reads it
      f = io.popen("openssl x509 -in " .. sh.quote(pki.server) .. " -outform DER | od -An -tx1 | tr -d ' \\n'")
      local hex = f:read("a"); f:close()
      assert.same(hex, (cert.der:gsub(".", function(c) return ("%02x"):format(c:byte()) end)))
    end)

    it("endpoint_bindings is tls-server-end-point with the certificate's hash, on both sides", function()
      local client, server = handshake(client_cred(), server_cred())
      local cb = client:query("endpoint_bindings")
      assert.same(cb, server:query("endpoint_bindings"))
      local f = io.popen("openssl x509 -in " .. sh.quote(pki.server) .. " -outform DER | openssl dgst -sha256 -binary")
      local hash = f:read("a"); f:close()
      assert.same("tls-server-end-point:" .. hash, cb)
    end)

    it("unique_bindings is tls-unique on TLS 1.2 (the same both sides), refused on TLS 1.3", function()
      local client, server = handshake(client_cred { protocols = { "TLSv1.2" } }, server_cred())
      local u = client:query("unique_bindings")
      assert.same(u, server:query("unique_bindings"))
      assert.same("tls-unique:", u:sub(1, 11))
      assert.same(11 + 12, #u)
      client = handshake(client_cred { protocols = { "TLSv1.3" } }, server_cred())
      local ok, err, status = client:query("unique_bindings")
      assert.is_nil(ok)
      assert.same("SEC_E_UNSUPPORTED_FUNCTION", status, tostring(err))
    end)

    it("application_protocol is the ALPN choice", function()
      local client, server = handshake(client_cred { alpn = { "h2", "http/1.1" } },
        server_cred { alpn = { "http/1.1" } })
      assert.same("http/1.1", client:query("application_protocol"))
      assert.same("http/1.1", server:query("application_protocol"))
      client = handshake(client_cred(), server_cred())
      assert.is_nil(client:query("application_protocol"))
    end)
  end)

  describe("the end of a connection", function()
    it("close_notify: SCHANNEL_SHUTDOWN then a step on one side, SEC_I_CONTEXT_EXPIRED on the other",
      function()
        for _, dir in ipairs({ "client", "server" }) do
          local client, server, tickets = handshake(client_cred(), server_cred())
          read_all(client, tickets)
          local closer, peer = client, server
          if dir == "server" then closer, peer = server, client end
          assert.is_true(closer:apply_control_token(sspi.SCHANNEL_SHUTDOWN))
          local res = assert((dir == "client" and closer.step_init or closer.step_accept)(closer, {}))
          assert.same("Ok", res.result)
          assert.is_string(res.token)
          local data, err, status = peer:unwrap(res.token)
          assert.is_nil(data)
          assert.same("SEC_I_CONTEXT_EXPIRED", status, tostring(err))
          -- and nothing more is sent after it
          local _, _, st2 = closer:wrap("late")
          assert.same("SEC_E_CONTEXT_EXPIRED", st2)
        end
      end)

    it("data followed by close_notify in one read: the data, then the status", function()
      local client, server, tickets = handshake(client_cred(), server_cred())
      read_all(client, tickets)
      local rec = assert(server:wrap("bye"))
      assert.is_true(server:apply_control_token(sspi.SCHANNEL_SHUTDOWN))
      local close = assert(server:step_accept {}).token
      local data, extra = client:unwrap(rec .. close)
      assert.same("bye", data)
      assert.same(close, extra)
      local _, _, status = client:unwrap(extra)
      assert.same("SEC_I_CONTEXT_EXPIRED", status)
    end)
  end)

  it("a TLS 1.3 session ticket is SEC_I_RENEGOTIATE with the record in err.extra", function()
    local client, _, tickets = handshake(client_cred { protocols = { "TLSv1.3" } }, server_cred())
    local data, err, status = client:unwrap(tickets)
    assert.is_nil(data)
    assert.same("SEC_I_RENEGOTIATE", status)
    assert.same(tickets, err.extra)
    local res = assert(client:step_init { input = err.extra })
    assert.same("Ok", res.result)
    assert.is_nil(res.extra)
  end)

  it("resumes a session on the same credential and target", function()
    for _, proto in ipairs({ "TLSv1.2", "TLSv1.3" }) do
      local cc, sc = client_cred { protocols = { proto } }, server_cred()
      local client, _, tickets = handshake(cc, sc)
      read_all(client, tickets)
      assert.is_false(client:query("connection_info").resumed)
      client:close()
      local again = handshake(cc, sc)
      assert.is_true(again:query("connection_info").resumed, proto)
      -- SCH_CRED_DISABLE_RECONNECTS: never
      local nc = client_cred { protocols = { proto }, flags = sspi.SCH_CRED_DISABLE_RECONNECTS }
      local c1, _, t1 = handshake(nc, sc)
      read_all(c1, t1)
      c1:close()
      assert.is_false(handshake(nc, sc):query("connection_info").resumed)
    end
  end)

  describe("credentials", function()
    it("take PEM text as well as paths", function()
      local sc = server_cred { certificate = sh.read_file(pki.server), private_key = sh.read_file(pki.server_key) }
      assert.truthy(handshake(client_cred { ca = sh.read_file(pki.ca) }, sc))
    end)

    it("refuse what cannot work", function()
      local ok, err, status = sspi.credential { package = "Schannel", usage = "inbound" }
      assert.is_nil(ok)
      assert.same("SEC_E_NO_CREDENTIALS", status)
      assert.matches("certificate", err.message)
      ok, err, status = sspi.credential { package = "Schannel", usage = "inbound",
        certificate = pki.server, private_key = pki.other_key }
      assert.is_nil(ok)
      assert.same("SEC_E_NO_CREDENTIALS", status)
      assert.matches("does not match", err.message)
      ok, err, status = sspi.credential { package = "Schannel", usage = "outbound",
        cipher_suites = { "TLS_NO_SUCH_SUITE" } }
      assert.is_nil(ok)
      assert.matches("TLS_NO_SUCH_SUITE", err.message)
      assert.same("SEC_E_ALGORITHM_MISMATCH", status)
      ok, err, status = sspi.credential { package = "Schannel", usage = "outbound",
        protocols = { "TLSv1.2" }, disabled_protocols = { "TLSv1.2" } }
      assert.is_nil(ok)
      assert.matches("no protocol is left enabled", err.message)
      assert.same("SEC_E_ALGORITHM_MISMATCH", status)
      ok, err, status = sspi.credential { package = "Schannel", usage = "outbound",
        certificate = "/nonexistent.pem" }
      assert.is_nil(ok)
      assert.matches("/nonexistent.pem", err.message, 1, true)
      assert.same("SEC_E_NO_CREDENTIALS", status)
    end)

    it("refuse TLS 1.0 and 1.1 unless asked for", function()
      local _, err, status, side = handshake(client_cred { protocols = { "TLSv1.1" } }, server_cred())
      assert.same("SEC_E_ALGORITHM_MISMATCH", status, tostring(err))
      assert.same("accept", side)
      -- asked for on both sides, TLS 1.1 works (CBC: explicit IV, MAC and padding)
      local client = handshake(client_cred { protocols = { "TLSv1.1" } }, server_cred { protocols = { "TLSv1.1" } })
      assert.same("TLSv1.1", client:query("connection_info").protocol)
      local s = client:query("stream_sizes")
      assert.same(5 + 16, s.header)
      assert.same(16, s.block_size)
      local rec = assert(client:wrap("abc"))
      assert.is_true(#rec > s.header + 3 and #rec <= s.header + 3 + s.trailer)
    end)
  end)
end)
