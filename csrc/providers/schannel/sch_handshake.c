/*
 * sch_handshake.c - InitializeSecurityContext / AcceptSecurityContext for
 * Schannel: the records of the input are fed to OpenSSL one whole record at
 * a time, and only as long as the handshake wants them, so that what
 * follows the handshake stays the caller's (EXTRA).  A step after
 * completion hands out what is owed (a KeyUpdate answer, close_notify after
 * SCHANNEL_SHUTDOWN) and skips the post-handshake records that
 * decrypt_message already processed.
 */
#include <arpa/inet.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "schannel.h"

static int accept_any(int ok, X509_STORE_CTX *store)
{
    (void)ok;
    (void)store;
    return 1; /* asked for, not required: the script inspects remote_cert */
}

static int is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* An input SECBUFFER_APPLICATION_PROTOCOLS: this context's ALPN list
 * instead of the credential's (a client offers it, a server chooses from it). */
static sspi_status take_alpn(sch_conn *c, const sch_step_io *io, sspi_error *err)
{
    const unsigned char *wire;
    size_t wire_len;
    sspi_status st = sch_alpn_parse(io->app_protocols, io->app_protocols_len, &wire, &wire_len, err);
    if (st != SEC_E_OK || wire == NULL)
        return st;
    if (c->server ? sspi_bytes_set(&c->alpn, wire, wire_len) != 0
                  : SSL_set_alpn_protos(c->ssl, wire, (unsigned)wire_len) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
    return SEC_E_OK;
}

/* First step: SNI and name check (client), client-certificate policy (server). */
static sspi_status start(sch_conn *c, const sch_step_io *io, sspi_error *err)
{
    sch_cred *cred = c->cred;
    c->started = 1;
    if (io->app_protocols) {
        sspi_status st = take_alpn(c, io, err);
        if (st != SEC_E_OK)
            return st;
    }
    if (c->server) {
        if (cred->verify)
            SSL_set_verify(c->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        else if (cred->request_client_cert || (io->context_req & ASC_REQ_MUTUAL_AUTH))
            SSL_set_verify(c->ssl, SSL_VERIFY_PEER, accept_any);
        else
            SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
        return SEC_E_OK;
    }
    {
        int verify = cred->verify && !(io->context_req & ISC_REQ_MANUAL_CRED_VALIDATION);
        SSL_set_verify(c->ssl, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
        if (io->target && io->target[0]) {
            int ok = 1, ip = is_ip(io->target);
            c->target = sspi_mem_strdup(c->alloc, io->target, &ok);
            if (!ok)
                return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
            if (!ip && SSL_set_tlsext_host_name(c->ssl, io->target) != 1)
                return sspi_error_set(err, SEC_E_TARGET_UNKNOWN,
                                      "Schannel: %s cannot be sent as a server name (SNI)",
                                      io->target);
            if (verify && cred->check_name) {
                X509_VERIFY_PARAM *p = SSL_get0_param(c->ssl);
                X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
                if ((ip ? X509_VERIFY_PARAM_set1_ip_asc(p, io->target)
                        : SSL_set1_host(c->ssl, io->target)) != 1)
                    return sspi_error_set(err, SEC_E_TARGET_UNKNOWN,
                                          "Schannel: cannot check the name %s", io->target);
            }
            sch_cache_resume(cred, c->ssl, io->target);
        }
    }
    return SEC_E_OK;
}

/* Hands out what is owed, then what OpenSSL just wrote. */
static sspi_status flush(sch_conn *c, sspi_bytes *out, sspi_error *err)
{
    if ((c->pending.len && sspi_bytes_append(out, c->pending.data, c->pending.len) != 0) ||
        sch_conn_drain(c, out) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
    c->pending.len = 0;
    return SEC_E_OK;
}

static sspi_status handshake_failed(sch_conn *c, int e, sspi_error *err)
{
    sspi_status st = sch_status_from_ssl(c, "handshake", e, SEC_E_ILLEGAL_MESSAGE, err);
    c->failed = 1;
    c->alert.len = 0;
    sch_conn_drain(c, &c->alert); /* the alert OpenSSL wrote, for the peer */
    return st;
}

static sspi_status handshake(sch_conn *c, sch_step_io *io, size_t pos, sspi_error *err)
{
    const unsigned char *in = io->in;
    size_t len = io->in_len, whole, count, missing = 0;
    sspi_status st;
    int done = 0;

    for (;;) {
        int r, e;
        sch_errors_reset();
        r = SSL_do_handshake(c->ssl);
        if (r == 1) {
            done = 1;
            break;
        }
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ) {
            st = sch_record_scan(in + pos, len - pos, 1, &whole, &count, &missing, err);
            if (st != SEC_E_OK) {
                c->failed = 1;
                return st;
            }
            if (count == 0)
                break;
            st = sch_conn_feed(c, in + pos, whole, err);
            if (st != SEC_E_OK)
                return st;
            pos += whole;
            continue;
        }
        if (e == SSL_ERROR_WANT_X509_LOOKUP && !c->cert_prompted) {
            /* The server asked for a certificate and we have none: nothing
             * is consumed as far as the caller knows (the same input comes
             * again and is skipped), the flight so far waits in pending. */
            if (sspi_bytes_set(&c->replay, in, pos) != 0 || sch_conn_drain(c, &c->pending) != 0)
                return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "Schannel: out of memory");
            c->replay_event = SCH_EVENT_NONE;
            c->cert_prompted = 1;
            c->cert_awaited = 1;
            io->consumed = 0;
            return sspi_error_set(err, SEC_I_INCOMPLETE_CREDENTIALS,
                                  "Schannel: the server asks for a client certificate and the "
                                  "credential has none; step again to go on without one");
        }
        return handshake_failed(c, e, err);
    }
    if (!done && pos == 0 && c->pending.len == 0 && BIO_ctrl_pending(c->wbio) == 0) {
        io->missing = missing ? missing : SCH_RECORD_HEADER;
        io->consumed = 0;
        return sspi_error_set(err, SEC_E_INCOMPLETE_MESSAGE,
                              "Schannel: %zu more byte(s) needed for a whole TLS record",
                              io->missing);
    }
    st = flush(c, io->out, err);
    if (st != SEC_E_OK)
        return st;
    io->consumed = pos;
    if (!done)
        return SEC_I_CONTINUE_NEEDED;
    c->complete = 1;
    return SEC_E_OK;
}

/* After SEC_I_INCOMPLETE_CREDENTIALS the caller may step again with another
 * credential that holds a client certificate, as Windows' callers pass a
 * new credential handle to InitializeSecurityContext: its certificate, key
 * and chain go into this connection (the context keeps its own credential),
 * and the client-certificate callback (sch_cred.c) hands them to OpenSSL. */
static sspi_status take_client_cert(sch_conn *c, sch_cred *from, sspi_error *err)
{
    STACK_OF(X509) *chain = NULL;
    X509 *cert;
    EVP_PKEY *key;
    if (c->server || !c->cert_awaited)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                              "Schannel: a step takes another credential only on a client, "
                              "right after IncompleteCredentials (to bring a client certificate)");
    cert = SSL_CTX_get0_certificate(from->ctx);
    key = SSL_CTX_get0_privatekey(from->ctx);
    if (!from->has_certificate || cert == NULL || key == NULL)
        return SEC_E_OK; /* none in it either: go on without */
    ERR_clear_error();
    if (SSL_CTX_get0_chain_certs(from->ctx, &chain) != 1 || SSL_use_certificate(c->ssl, cert) != 1 ||
        SSL_use_PrivateKey(c->ssl, key) != 1 || (chain && SSL_set1_chain(c->ssl, chain) != 1)) {
        ERR_clear_error();
        return sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                              "Schannel: the client certificate of the step's credential cannot "
                              "be used");
    }
    return SEC_E_OK;
}

/* A step on a complete context. */
static sspi_status after_handshake(sch_conn *c, sch_step_io *io, size_t pos, sspi_error *err)
{
    if (c->shutdown_requested && !c->shutdown_sent) {
        sch_errors_reset();
        SSL_shutdown(c->ssl); /* writes close_notify; 0 or 1, either is fine here */
        ERR_clear_error();
        c->shutdown_sent = 1;
    }
    io->consumed = pos;
    return flush(c, io->out, err);
}

sspi_status sch_step(sch_conn *c, sch_step_io *io, sspi_error *err)
{
    static const unsigned char nothing[1] = {0};
    size_t pos;
    sspi_status st;
    if (io->in == NULL) {
        io->in = nothing; /* no pointer arithmetic on NULL */
        io->in_len = 0;
    }
    io->consumed = 0;
    io->missing = 0;
    if (c->failed)
        return sspi_error_set(err, SEC_E_INVALID_HANDLE,
                              "Schannel: the connection failed earlier and refuses further steps");
    if (io->step_cred) {
        st = take_client_cert(c, io->step_cred, err);
        if (st != SEC_E_OK) {
            c->failed = 1;
            return st;
        }
    }
    c->cert_awaited = 0;
    pos = sch_conn_skip_replay(c, io->in, io->in_len);
    c->replay.len = 0;
    c->replay_event = SCH_EVENT_NONE;
    if (!c->started) {
        st = start(c, io, err);
        if (st != SEC_E_OK) {
            c->failed = 1;
            return st;
        }
    }
    if (c->complete)
        return after_handshake(c, io, pos, err);
    if (c->shutdown_requested) {
        c->failed = 1;
        return sspi_error_set(err, SEC_E_CONTEXT_EXPIRED,
                              "Schannel: the context was shut down before its handshake completed");
    }
    return handshake(c, io, pos, err);
}

uint32_t sch_ret_flags(const sch_conn *c, uint32_t context_req)
{
    if (c->server) {
        uint32_t f = ASC_RET_REPLAY_DETECT | ASC_RET_SEQUENCE_DETECT | ASC_RET_CONFIDENTIALITY |
                     ASC_RET_STREAM;
        X509 *peer = c->complete ? SSL_get0_peer_certificate(c->ssl) : NULL;
        if (peer)
            f |= ASC_RET_MUTUAL_AUTH;
        return f;
    }
    {
        uint32_t f = ISC_RET_REPLAY_DETECT | ISC_RET_SEQUENCE_DETECT | ISC_RET_CONFIDENTIALITY |
                     ISC_RET_STREAM;
        if ((context_req & ISC_REQ_MANUAL_CRED_VALIDATION) || !c->cred->verify)
            f |= ISC_RET_MANUAL_CRED_VALIDATION;
        if (context_req & ISC_REQ_INTEGRITY)
            f |= ISC_RET_INTEGRITY;
        return f;
    }
}

sspi_status sch_apply_control(sch_conn *c, uint32_t token, sspi_error *err)
{
    if (token == SCHANNEL_SHUTDOWN) {
        c->shutdown_requested = 1;
        return SEC_E_OK;
    }
    return sspi_error_set(err, SEC_E_UNSUPPORTED_FUNCTION,
                          "Schannel: control token %u is not supported (SCHANNEL_SHUTDOWN is; "
                          "renegotiation is refused by design)", (unsigned)token);
}
