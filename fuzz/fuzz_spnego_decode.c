/*
 * fuzz_spnego_decode.c - the SPNEGO DER decoder (sspi_spnego_decode) and
 * the first-token classifier (sspi_spnego_classify).
 *
 * The decoder accepts only DER with the fields in their order, so a
 * message it accepts has exactly one encoding: re-encoding the decoded
 * message with our own encoders must give back the input byte for byte.
 * Every view it hands out lies inside the input, and the mechanism list
 * walk sees as many OIDs as the decoder counted.
 */
#include <string.h>

#include "fuzz_common.h"
#include "providers/negotiate/spnego_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside_opt(const sspi_spnego_opt *o, const uint8_t *data, size_t size)
{
    if (!o->present)
        return 1;
    return o->p >= data && o->p <= data + size && o->len <= (size_t)(data + size - o->p);
}

static void check_init(const sspi_spnego_init *in, const uint8_t *data, size_t size)
{
    sspi_der it = {NULL, 0}, oid;
    size_t n = 0;
    const char *why = NULL;
    FUZZ_CHECK(in->mech_types.p >= data && in->mech_types.len <= size, "mechTypes outside");
    while (sspi_spnego_next_mech(&in->mech_types, &it, &oid)) {
        FUZZ_CHECK(oid.p >= data && oid.p + oid.len <= data + size, "an OID outside the input");
        FUZZ_CHECK(sspi_der_check_oid(&oid, &why) == SEC_E_OK, "a listed OID is invalid");
        n++;
        FUZZ_CHECK(n <= size, "mechanism walk does not end");
    }
    FUZZ_CHECK(n == in->mech_count, "walked %zu mechanisms, decoder counted %zu", n,
               in->mech_count);
    FUZZ_CHECK(inside_opt(&in->req_flags, data, size) && inside_opt(&in->mech_token, data, size) &&
                   inside_opt(&in->hint_name, data, size) &&
                   inside_opt(&in->hint_address, data, size) &&
                   inside_opt(&in->mech_list_mic, data, size),
               "a NegTokenInit field outside the input");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sspi_spnego_msg msg;
    sspi_bytes again;
    const char *why = NULL;
    sspi_der mech = {NULL, 0};
    sspi_token_class cls;
    int rc;

    cls = sspi_spnego_classify(data, size, &mech);
    FUZZ_CHECK(cls <= SSPI_TOKEN_GSS_MECH, "unknown class %d", (int)cls);
    if (cls == SSPI_TOKEN_GSS_MECH)
        FUZZ_CHECK(mech.p >= data && mech.p + mech.len <= data + size,
                   "the mechanism OID lies outside the token");

    if (sspi_spnego_decode(data, size, &msg, &why) != SEC_E_OK) {
        FUZZ_CHECK(why != NULL && why[0], "a refusal without a reason");
        return 0;
    }
    FUZZ_CHECK(msg.kind == SSPI_SPNEGO_MSG_INIT || msg.kind == SSPI_SPNEGO_MSG_RESP, "kind %d",
               (int)msg.kind);
    FUZZ_CHECK(msg.kind == SSPI_SPNEGO_MSG_INIT ? cls == SSPI_TOKEN_SPNEGO_INIT
                                                : cls == SSPI_TOKEN_SPNEGO_RESP,
               "decoded as kind %d, classified as %d", (int)msg.kind, (int)cls);
    sspi_bytes_init(&again, sspi_fuzz_allocator());
    if (msg.kind == SSPI_SPNEGO_MSG_INIT) {
        check_init(&msg.init, data, size);
        rc = sspi_spnego_encode_init(&again, &msg.init);
    } else {
        FUZZ_CHECK(inside_opt(&msg.resp.supported_mech, data, size) &&
                       inside_opt(&msg.resp.response_token, data, size) &&
                       inside_opt(&msg.resp.mech_list_mic, data, size),
                   "a NegTokenResp field outside the input");
        rc = sspi_spnego_encode_resp(&again, &msg.resp);
    }
    FUZZ_CHECK(rc == 0, "a decoded message does not encode");
    FUZZ_CHECK(again.len == size && memcmp(again.data, data, size) == 0,
               "re-encoding gives %zu bytes that differ from the %zu decoded", again.len, size);
    sspi_bytes_free(&again);
    return 0;
}
