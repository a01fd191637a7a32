/*
 * fuzz_ntlm_authenticate.c - the NTLM AUTHENTICATE parser (MS-NLMP
 * 2.2.1.3): every field it hands out lies inside the message, after the
 * fixed header it decided on, and a MIC only where the header has room.
 */
#include <string.h>

#include "fuzz_common.h"
#include "providers/ntlm/ntlm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(sspi_ntlm_view v, const uint8_t *data, size_t size, size_t header)
{
    if (v.len == 0)
        return 1;
    return v.data >= data + header && v.data <= data + size &&
           v.len <= (size_t)(data + size - v.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sspi_ntlm_authenticate m;
    sspi_error err;
    sspi_status st;
    size_t header;
    sspi_error_clear(&err);
    st = sspi_ntlm_parse_authenticate(data, size, &m, &err);
    if (st != SEC_E_OK) {
        FUZZ_CHECK(st == SEC_E_INVALID_TOKEN && err.message[0],
                   "AUTHENTICATE refused with 0x%08x", (unsigned)st);
        return 0;
    }
    header = m.has_mic ? NTLM_AUTH_MIC_OFFSET + 16 : 64;
    FUZZ_CHECK(!m.has_mic || (size >= 88 && m.mic == data + NTLM_AUTH_MIC_OFFSET),
               "MIC outside the message");
    FUZZ_CHECK(inside(m.lm, data, size, header) && inside(m.nt, data, size, header) &&
                   inside(m.domain, data, size, header) && inside(m.user, data, size, header) &&
                   inside(m.workstation, data, size, header) &&
                   inside(m.session_key, data, size, header),
               "a field overlaps the header or lies outside the message");
    FUZZ_CHECK(m.flags & (NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_OEM),
               "AUTHENTICATE accepted without UNICODE or OEM");
    return 0;
}
