/*
 * spnego_token.c - decoding and encoding of the SPNEGO messages (layout in
 * spnego_token.h).  The decoder walks the fixed structure level by level
 * with sspi_der_read; it neither allocates nor recurses.
 */
#include <string.h>

#include "spnego_token.h"
#include "../../core/oids.h"

static const unsigned char spnego_oid_bytes[] = {SSPI_OID_SPNEGO};
static const unsigned char krb5_oid_bytes[] = {SSPI_OID_KRB5};
static const unsigned char mskrb_oid_bytes[] = {SSPI_OID_MS_KRB5};
static const unsigned char ntlm_oid_bytes[] = {SSPI_OID_NTLM};

const sspi_der sspi_spnego_oid = {spnego_oid_bytes, sizeof spnego_oid_bytes};
const sspi_der sspi_spnego_krb5_oid = {krb5_oid_bytes, sizeof krb5_oid_bytes};
const sspi_der sspi_spnego_mskrb_oid = {mskrb_oid_bytes, sizeof mskrb_oid_bytes};
const sspi_der sspi_spnego_ntlm_oid = {ntlm_oid_bytes, sizeof ntlm_oid_bytes};

static const unsigned char ntlmssp_signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

static int oid_equal(const sspi_der *a, const sspi_der *b)
{
    return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

static int is_kerberos(const sspi_der *oid)
{
    return oid_equal(oid, &sspi_spnego_krb5_oid) || oid_equal(oid, &sspi_spnego_mskrb_oid);
}

int sspi_spnego_same_mech(const sspi_der *a, const sspi_der *b)
{
    if (oid_equal(a, b))
        return 1;
    return is_kerberos(a) && is_kerberos(b);
}

/* Every decoding failure: SEC_E_INVALID_TOKEN, with why saying what. */
static sspi_status refuse(const char **why, const char *what)
{
    *why = what;
    return SEC_E_INVALID_TOKEN;
}

/* Reads an explicitly tagged [n] whose single inner element has `inner`
 * tag; the [n] must hold exactly that element. */
static sspi_status read_explicit(sspi_der *in, unsigned n, unsigned inner, sspi_der *content,
                                 sspi_der *whole, const char **why)
{
    sspi_der wrapper;
    sspi_status st = sspi_der_read(in, SSPI_DER_CONTEXT(n), &wrapper, NULL, why);
    if (st != SEC_E_OK)
        return st;
    st = sspi_der_read(&wrapper, inner, content, whole, why);
    if (st != SEC_E_OK)
        return st;
    if (wrapper.len != 0)
        return refuse(why, "bytes after the element inside an explicit tag");
    return SEC_E_OK;
}

static void set_opt(sspi_spnego_opt *o, const sspi_der *d)
{
    o->present = 1;
    o->p = d->p;
    o->len = d->len;
}

/* The end of a SEQUENCE's fields: st, or a refusal when bytes are left. */
static sspi_status at_end(sspi_status st, const sspi_der *rest, const char *what,
                          const char **why)
{
    if (st != SEC_E_OK)
        return st;
    return rest->len != 0 ? refuse(why, what) : SEC_E_OK;
}

/* An OPTIONAL [n] { tag ... }: read when it is the next field. */
static sspi_status read_opt(sspi_der *in, unsigned n, unsigned tag, sspi_spnego_opt *o,
                            const char **why)
{
    sspi_der c;
    sspi_status st;
    if (sspi_der_peek(in) != (int)SSPI_DER_CONTEXT(n))
        return SEC_E_OK;
    st = read_explicit(in, n, tag, &c, NULL, why);
    if (st == SEC_E_OK)
        set_opt(o, &c);
    return st;
}

static sspi_status check_mech_list(const sspi_der *list_content, size_t *count, const char **why)
{
    sspi_der rest = *list_content, oid;
    size_t n = 0;
    while (rest.len > 0) {
        sspi_status st = sspi_der_read(&rest, SSPI_DER_OID, &oid, NULL, why);
        if (st != SEC_E_OK) {
            if (rest.p[0] != SSPI_DER_OID)
                *why = "mechTypes holds something other than an object identifier";
            return st;
        }
        st = sspi_der_check_oid(&oid, why);
        if (st != SEC_E_OK)
            return st;
        n++;
    }
    *count = n;
    return SEC_E_OK;
}

static sspi_status decode_hints(const sspi_der *hints_seq, sspi_spnego_init *init, const char **why)
{
    sspi_der rest = *hints_seq;
    sspi_status st = read_opt(&rest, 0, SSPI_DER_GENERAL_STRING, &init->hint_name, why);
    if (st == SEC_E_OK)
        st = read_opt(&rest, 1, SSPI_DER_OCTET_STRING, &init->hint_address, why);
    return at_end(st, &rest, "unexpected field in negHints", why);
}

/* NegTokenInit or NegTokenInit2: the content of the [0] choice. */
static sspi_status decode_init(sspi_der choice, sspi_spnego_init *init, const char **why)
{
    sspi_der seq, list, c, probe;
    sspi_status st;

    st = sspi_der_read(&choice, SSPI_DER_SEQUENCE, &seq, NULL, why);
    if (st != SEC_E_OK)
        return st;
    if (choice.len != 0)
        return refuse(why, "bytes after NegTokenInit");
    /* mechTypes is mandatory; keep the element as sent for mechListMIC. */
    st = read_explicit(&seq, 0, SSPI_DER_SEQUENCE, &list, &init->mech_types, why);
    if (st != SEC_E_OK) {
        if (*why && strcmp(*why, "unexpected tag") == 0)
            *why = "NegTokenInit without mechTypes";
        return st;
    }
    st = check_mech_list(&list, &init->mech_count, why);
    if (st != SEC_E_OK)
        return st;
    if (sspi_der_peek(&seq) == (int)SSPI_DER_CONTEXT(1)) {
        st = read_explicit(&seq, 1, SSPI_DER_BIT_STRING, &c, NULL, why);
        if (st != SEC_E_OK)
            return st;
        if (c.len == 0 || c.p[0] > 7 || (c.len == 1 && c.p[0] != 0))
            return refuse(why, "malformed reqFlags bit string");
        set_opt(&init->req_flags, &c);
    }
    st = read_opt(&seq, 2, SSPI_DER_OCTET_STRING, &init->mech_token, why);
    if (st != SEC_E_OK)
        return st;
    if (sspi_der_peek(&seq) == (int)SSPI_DER_CONTEXT(3)) {
        /* [3] is mechListMIC in NegTokenInit, negHints in NegTokenInit2. */
        probe = seq;
        st = sspi_der_read(&probe, SSPI_DER_CONTEXT(3), &c, NULL, why);
        if (st != SEC_E_OK)
            return st;
        if (sspi_der_peek(&c) == (int)SSPI_DER_SEQUENCE) {
            sspi_der hints;
            st = read_explicit(&seq, 3, SSPI_DER_SEQUENCE, &hints, NULL, why);
            if (st != SEC_E_OK)
                return st;
            init->init2 = 1;
            st = decode_hints(&hints, init, why);
            if (st != SEC_E_OK)
                return st;
            st = read_opt(&seq, 4, SSPI_DER_OCTET_STRING, &init->mech_list_mic, why);
        } else {
            st = read_opt(&seq, 3, SSPI_DER_OCTET_STRING, &init->mech_list_mic, why);
        }
    }
    return at_end(st, &seq, "unexpected or out-of-order field in NegTokenInit", why);
}

/* NegTokenResp: the content of the [1] choice. */
static sspi_status decode_resp(sspi_der choice, sspi_spnego_resp *resp, const char **why)
{
    sspi_der seq, c;
    sspi_status st;

    resp->neg_state = SSPI_SPNEGO_NO_STATE;
    st = sspi_der_read(&choice, SSPI_DER_SEQUENCE, &seq, NULL, why);
    if (st != SEC_E_OK)
        return st;
    if (choice.len != 0)
        return refuse(why, "bytes after NegTokenResp");
    if (sspi_der_peek(&seq) == (int)SSPI_DER_CONTEXT(0)) {
        st = read_explicit(&seq, 0, SSPI_DER_ENUMERATED, &c, NULL, why);
        if (st != SEC_E_OK)
            return st;
        if (c.len != 1 || c.p[0] > SSPI_SPNEGO_REQUEST_MIC)
            return refuse(why, "negState is not one of accept-completed, accept-incomplete, "
                               "reject, request-mic");
        resp->neg_state = c.p[0];
    }
    st = read_opt(&seq, 1, SSPI_DER_OID, &resp->supported_mech, why);
    if (st == SEC_E_OK && resp->supported_mech.present) {
        c = sspi_der_view(resp->supported_mech.p, resp->supported_mech.len);
        st = sspi_der_check_oid(&c, why);
    }
    if (st == SEC_E_OK)
        st = read_opt(&seq, 2, SSPI_DER_OCTET_STRING, &resp->response_token, why);
    if (st == SEC_E_OK)
        st = read_opt(&seq, 3, SSPI_DER_OCTET_STRING, &resp->mech_list_mic, why);
    return at_end(st, &seq, "unexpected or out-of-order field in NegTokenResp", why);
}

sspi_status sspi_spnego_decode(const unsigned char *data, size_t len, sspi_spnego_msg *msg,
                               const char **why)
{
    sspi_der in = sspi_der_view(data, len), body, oid, choice;
    sspi_status st;

    memset(msg, 0, sizeof *msg);
    msg->resp.neg_state = SSPI_SPNEGO_NO_STATE;
    *why = NULL;
    switch (sspi_der_peek(&in)) {
    case SSPI_DER_APPLICATION0:
        st = sspi_der_read(&in, SSPI_DER_APPLICATION0, &body, NULL, why);
        if (st != SEC_E_OK)
            return st;
        if (in.len != 0)
            return refuse(why, "bytes after the token");
        st = sspi_der_read(&body, SSPI_DER_OID, &oid, NULL, why);
        if (st != SEC_E_OK)
            return st;
        if (!oid_equal(&oid, &sspi_spnego_oid))
            return refuse(why, "not a SPNEGO token (another mechanism's OID)");
        st = sspi_der_read(&body, SSPI_DER_CONTEXT(0), &choice, NULL, why);
        if (st != SEC_E_OK) {
            if (sspi_der_peek(&body) != (int)SSPI_DER_CONTEXT(0))
                *why = "the initial SPNEGO token does not carry a NegTokenInit";
            return st;
        }
        if (body.len != 0)
            return refuse(why, "bytes after NegTokenInit");
        msg->kind = SSPI_SPNEGO_MSG_INIT;
        return decode_init(choice, &msg->init, why);
    case SSPI_DER_CONTEXT(1):
        st = sspi_der_read(&in, SSPI_DER_CONTEXT(1), &choice, NULL, why);
        if (st != SEC_E_OK)
            return st;
        if (in.len != 0)
            return refuse(why, "bytes after the token");
        msg->kind = SSPI_SPNEGO_MSG_RESP;
        return decode_resp(choice, &msg->resp, why);
    case -1:
        return refuse(why, "empty token");
    default:
        return refuse(why, "not a SPNEGO token (neither an initial token nor a NegTokenResp)");
    }
}

sspi_token_class sspi_spnego_classify(const unsigned char *data, size_t len, sspi_der *mech)
{
    sspi_der in = sspi_der_view(data, len), body, oid;
    const char *why;

    if (len >= sizeof ntlmssp_signature && memcmp(data, ntlmssp_signature, sizeof ntlmssp_signature) == 0)
        return SSPI_TOKEN_NTLMSSP;
    switch (sspi_der_peek(&in)) {
    case SSPI_DER_CONTEXT(1):
        return SSPI_TOKEN_SPNEGO_RESP;
    case SSPI_DER_APPLICATION0:
        if (sspi_der_read(&in, SSPI_DER_APPLICATION0, &body, NULL, &why) != SEC_E_OK || in.len != 0)
            return SSPI_TOKEN_UNKNOWN;
        if (sspi_der_read(&body, SSPI_DER_OID, &oid, NULL, &why) != SEC_E_OK ||
            sspi_der_check_oid(&oid, &why) != SEC_E_OK)
            return SSPI_TOKEN_UNKNOWN;
        if (oid_equal(&oid, &sspi_spnego_oid))
            return SSPI_TOKEN_SPNEGO_INIT;
        if (mech)
            *mech = oid;
        return SSPI_TOKEN_GSS_MECH;
    default:
        return SSPI_TOKEN_UNKNOWN;
    }
}

int sspi_spnego_next_mech(const sspi_der *mech_types, sspi_der *it, sspi_der *oid)
{
    const char *why;
    if (it->p == NULL) {
        sspi_der list = *mech_types, content;
        if (sspi_der_read(&list, SSPI_DER_SEQUENCE, &content, NULL, &why) != SEC_E_OK)
            return 0;
        *it = content;
    }
    if (it->len == 0)
        return 0;
    return sspi_der_read(it, SSPI_DER_OID, oid, NULL, &why) == SEC_E_OK;
}

int sspi_spnego_encode_mech_list(sspi_bytes *out, const sspi_der *oids, size_t n)
{
    size_t i, total = 0;
    for (i = 0; i < n; i++) {
        if (oids[i].len > SSPI_DER_MAX_LEN)
            return -1;
        total += sspi_der_element_size(oids[i].len);
        if (total > SSPI_DER_MAX_LEN)
            return -1;
    }
    if (sspi_der_put_header(out, SSPI_DER_SEQUENCE, total) != 0)
        return -1;
    for (i = 0; i < n; i++)
        if (sspi_der_put_element(out, SSPI_DER_OID, oids[i].p, oids[i].len) != 0)
            return -1;
    return 0;
}

/* Size of [n] { element of len bytes } */
static size_t explicit_size(size_t len)
{
    return sspi_der_element_size(sspi_der_element_size(len));
}

/* Size of an OPTIONAL field: nothing when absent. */
static size_t opt_size(const sspi_spnego_opt *o)
{
    return o->present ? explicit_size(o->len) : 0;
}

/* [n] { tag len p } */
static int put_explicit(sspi_bytes *out, unsigned n, unsigned tag, const unsigned char *p,
                        size_t len)
{
    if (sspi_der_put_header(out, SSPI_DER_CONTEXT(n), sspi_der_element_size(len)) != 0)
        return -1;
    return sspi_der_put_element(out, tag, p, len);
}

/* An OPTIONAL [n] { tag ... }: written when present. */
static int put_opt(sspi_bytes *out, unsigned n, unsigned tag, const sspi_spnego_opt *o)
{
    return o->present ? put_explicit(out, n, tag, o->p, o->len) : 0;
}

static int too_large(const sspi_spnego_opt *o)
{
    return o->present && o->len > SSPI_DER_MAX_LEN / 4;
}

int sspi_spnego_encode_init(sspi_bytes *out, const sspi_spnego_init *init)
{
    size_t seq, hints = 0, choice, body;
    const int with_hints = init->init2;

    if (init->mech_types.len > SSPI_DER_MAX_LEN / 4 || too_large(&init->mech_token) ||
        too_large(&init->req_flags) ||
        too_large(&init->mech_list_mic) || too_large(&init->hint_name) ||
        too_large(&init->hint_address))
        return -1;
    seq = sspi_der_element_size(init->mech_types.len) + opt_size(&init->req_flags) +
          opt_size(&init->mech_token) + opt_size(&init->mech_list_mic);
    if (with_hints) {
        hints = opt_size(&init->hint_name) + opt_size(&init->hint_address);
        seq += explicit_size(hints);
    }
    choice = sspi_der_element_size(seq);
    body = sspi_der_element_size(sspi_spnego_oid.len) + sspi_der_element_size(choice);

    if (sspi_der_put_header(out, SSPI_DER_APPLICATION0, body) != 0 ||
        sspi_der_put_element(out, SSPI_DER_OID, sspi_spnego_oid.p, sspi_spnego_oid.len) != 0 ||
        sspi_der_put_header(out, SSPI_DER_CONTEXT(0), choice) != 0 ||
        sspi_der_put_header(out, SSPI_DER_SEQUENCE, seq) != 0 ||
        sspi_der_put_header(out, SSPI_DER_CONTEXT(0), init->mech_types.len) != 0 ||
        sspi_bytes_append(out, init->mech_types.p, init->mech_types.len) != 0 ||
        put_opt(out, 1, SSPI_DER_BIT_STRING, &init->req_flags) != 0 ||
        put_opt(out, 2, SSPI_DER_OCTET_STRING, &init->mech_token) != 0)
        return -1;
    if (with_hints &&
        (sspi_der_put_header(out, SSPI_DER_CONTEXT(3), sspi_der_element_size(hints)) != 0 ||
         sspi_der_put_header(out, SSPI_DER_SEQUENCE, hints) != 0 ||
         put_opt(out, 0, SSPI_DER_GENERAL_STRING, &init->hint_name) != 0 ||
         put_opt(out, 1, SSPI_DER_OCTET_STRING, &init->hint_address) != 0))
        return -1;
    return put_opt(out, with_hints ? 4 : 3, SSPI_DER_OCTET_STRING, &init->mech_list_mic);
}

int sspi_spnego_encode_resp(sspi_bytes *out, const sspi_spnego_resp *resp)
{
    const int with_state = resp->neg_state != SSPI_SPNEGO_NO_STATE;
    const unsigned char state = (unsigned char)resp->neg_state;
    size_t seq;

    if (too_large(&resp->supported_mech) || too_large(&resp->response_token) ||
        too_large(&resp->mech_list_mic))
        return -1;
    seq = (with_state ? explicit_size(1) : 0) + opt_size(&resp->supported_mech) +
          opt_size(&resp->response_token) + opt_size(&resp->mech_list_mic);

    if (sspi_der_put_header(out, SSPI_DER_CONTEXT(1), sspi_der_element_size(seq)) != 0 ||
        sspi_der_put_header(out, SSPI_DER_SEQUENCE, seq) != 0 ||
        (with_state && put_explicit(out, 0, SSPI_DER_ENUMERATED, &state, 1) != 0) ||
        put_opt(out, 1, SSPI_DER_OID, &resp->supported_mech) != 0 ||
        put_opt(out, 2, SSPI_DER_OCTET_STRING, &resp->response_token) != 0)
        return -1;
    return put_opt(out, 3, SSPI_DER_OCTET_STRING, &resp->mech_list_mic);
}
