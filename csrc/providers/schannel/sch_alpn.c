/*
 * sch_alpn.c - ALPN offered per call, Windows' way: an input
 * SECBUFFER_APPLICATION_PROTOCOLS holding a SEC_APPLICATION_PROTOCOLS
 * structure (little-endian, packed, as Windows lays it out):
 *
 *   ULONG  ProtocolListsSize;            bytes of the lists that follow
 *   then lists, each:
 *     ULONG  ProtoNegoExt;               2 = ALPN (1 = NPN, ignored)
 *     USHORT ProtocolListSize;           bytes of ProtocolList
 *     UCHAR  ProtocolList[];             ALPN wire format: len, name, ...
 *
 * The ALPN list replaces the credential's `alpn` for the context.
 */
#include <string.h>

#include "schannel.h"

#define SCH_NEGO_EXT_NPN  1u
#define SCH_NEGO_EXT_ALPN 2u

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A list in ALPN wire format: names of 1..255 bytes, each after its length. */
static sspi_status check_wire(const unsigned char *p, size_t len, sspi_error *err)
{
    size_t pos = 0;
    if (len == 0)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                              "Schannel: SECBUFFER_APPLICATION_PROTOCOLS: the ALPN list is empty");
    while (pos < len) {
        size_t n = p[pos];
        if (n == 0 || n > len - pos - 1)
            return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                                  "Schannel: SECBUFFER_APPLICATION_PROTOCOLS: ALPN name at byte "
                                  "%zu has length %zu, %zu byte(s) are left", pos, n,
                                  len - pos - 1);
        pos += 1 + n;
    }
    return SEC_E_OK;
}

sspi_status sch_alpn_parse(const unsigned char *in, size_t len, const unsigned char **wire,
                           size_t *wire_len, sspi_error *err)
{
    size_t total, pos = 4;
    *wire = NULL;
    *wire_len = 0;
    if (len < 4)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                              "Schannel: SECBUFFER_APPLICATION_PROTOCOLS: %zu byte(s), too short "
                              "for SEC_APPLICATION_PROTOCOLS (4-byte ProtocolListsSize first)",
                              len);
    total = le32(in);
    if (total != len - 4)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                              "Schannel: SECBUFFER_APPLICATION_PROTOCOLS: ProtocolListsSize says "
                              "%zu byte(s) of lists, the buffer holds %zu", total, len - 4);
    while (pos < len) {
        uint32_t ext;
        size_t n;
        if (len - pos < 6)
            return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                                  "Schannel: SECBUFFER_APPLICATION_PROTOCOLS: a list header at "
                                  "byte %zu is cut (6 bytes: ProtoNegoExt, ProtocolListSize)",
                                  pos);
        ext = le32(in + pos);
        n = (size_t)in[pos + 4] | (size_t)in[pos + 5] << 8;
        pos += 6;
        if (n > len - pos)
            return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                                  "Schannel: SECBUFFER_APPLICATION_PROTOCOLS: ProtocolListSize "
                                  "%zu at byte %zu runs past the buffer", n, pos - 2);
        if (ext == SCH_NEGO_EXT_ALPN) {
            sspi_status st;
            if (*wire != NULL)
                return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                                      "Schannel: SECBUFFER_APPLICATION_PROTOCOLS: two ALPN lists");
            st = check_wire(in + pos, n, err);
            if (st != SEC_E_OK)
                return st;
            *wire = in + pos;
            *wire_len = n;
        } else if (ext != SCH_NEGO_EXT_NPN) {
            return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                                  "Schannel: SECBUFFER_APPLICATION_PROTOCOLS: ProtoNegoExt %u is "
                                  "neither ALPN (2) nor NPN (1)", (unsigned)ext);
        }
        pos += n;
    }
    return SEC_E_OK;
}
