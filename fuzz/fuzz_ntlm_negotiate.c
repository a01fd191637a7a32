/*
 * fuzz_ntlm_negotiate.c - the NTLM NEGOTIATE parser (MS-NLMP 2.2.1.1).
 * A message it accepts must name a string encoding; a failure must say why.
 */
#include <string.h>

#include "fuzz_common.h"
#include "providers/ntlm/ntlm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sspi_ntlm_negotiate m;
    sspi_error err;
    sspi_status st;
    sspi_error_clear(&err);
    st = sspi_ntlm_parse_negotiate(data, size, &m, &err);
    if (st == SEC_E_OK)
        FUZZ_CHECK(m.flags & (NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_OEM),
                   "NEGOTIATE accepted without UNICODE or OEM");
    else
        FUZZ_CHECK(st == SEC_E_INVALID_TOKEN && err.message[0], "NEGOTIATE refused with 0x%08x",
                   (unsigned)st);
    return 0;
}
