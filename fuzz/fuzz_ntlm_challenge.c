/*
 * fuzz_ntlm_challenge.c - the NTLM CHALLENGE parser (MS-NLMP 2.2.1.2) and
 * the AV pair walkers the initiator then runs over its TargetInfo.
 */
#include <string.h>

#include "fuzz_common.h"
#include "providers/ntlm/ntlm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(sspi_ntlm_view v, const uint8_t *data, size_t size)
{
    if (v.len == 0)
        return 1;
    return v.data >= data && v.data <= data + size && v.len <= (size_t)(data + size - v.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sspi_ntlm_challenge m;
    sspi_error err;
    sspi_status st;
    uint16_t id;
    sspi_error_clear(&err);
    st = sspi_ntlm_parse_challenge(data, size, &m, &err);
    if (st != SEC_E_OK) {
        FUZZ_CHECK(st == SEC_E_INVALID_TOKEN && err.message[0], "CHALLENGE refused with 0x%08x",
                   (unsigned)st);
        return 0;
    }
    FUZZ_CHECK(inside(m.target_name, data, size), "target name outside the message");
    FUZZ_CHECK(inside(m.target_info, data, size), "target info outside the message");
    FUZZ_CHECK(m.target_info.len == 0 || sspi_ntlm_av_check(m.target_info) == 0,
               "target info accepted but not a valid AV list");
    for (id = 0; id <= 12; id++) {
        sspi_ntlm_view v = {NULL, 0};
        if (sspi_ntlm_av_find(m.target_info, id, &v)) {
            FUZZ_CHECK(inside(v, m.target_info.data, m.target_info.len),
                       "AV pair %u outside its list", (unsigned)id);
            FUZZ_CHECK(id != NTLM_AV_TIMESTAMP || v.len == 8, "timestamp of %zu bytes", v.len);
            FUZZ_CHECK(id != NTLM_AV_FLAGS || v.len == 4, "flags of %zu bytes", v.len);
        }
    }
    return 0;
}
