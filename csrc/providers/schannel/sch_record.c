/*
 * sch_record.c - TLS record framing, read by us rather than by OpenSSL so
 * that a step can keep SSPI's stream rules: consume whole records only,
 * say how many bytes a partial record still needs, and refuse at once
 * bytes that are not TLS at all (plain HTTP sent to a TLS port is
 * SEC_E_ILLEGAL_MESSAGE, never "incomplete").
 *
 * TLSPlaintext/TLSCiphertext header (RFC 8446 5.1, RFC 5246 6.2):
 *   ContentType type (20 change_cipher_spec, 21 alert, 22 handshake,
 *   23 application_data, 24 heartbeat); ProtocolVersion {3, 0..4};
 *   uint16 length <= 2^14 + 2048.
 */
#include "schannel.h"

static int type_ok(unsigned char t)
{
    return t >= 20 && t <= 24;
}

/* Checks the header bytes that are there (n < 5 allowed). */
static sspi_status check_header(const unsigned char *h, size_t n, sspi_error *err)
{
    if (n >= 1 && !type_ok(h[0]))
        return sspi_error_set(err, SEC_E_ILLEGAL_MESSAGE,
                              "not a TLS record: content type %u (0x%02x) is none of "
                              "20-24%s", (unsigned)h[0], (unsigned)h[0],
                              (h[0] >= 'A' && h[0] <= 'Z') ? "; plain text (HTTP?) was sent "
                                                             "where TLS was expected" : "");
    if (n >= 2 && h[1] != 3)
        return sspi_error_set(err, SEC_E_ILLEGAL_MESSAGE,
                              "not a TLS record: protocol version major %u (3 expected)",
                              (unsigned)h[1]);
    if (n >= 3 && h[2] > 4)
        return sspi_error_set(err, SEC_E_ILLEGAL_MESSAGE,
                              "not a TLS record: protocol version 3.%u", (unsigned)h[2]);
    if (n >= 5) {
        size_t rlen = ((size_t)h[3] << 8) | h[4];
        if (rlen > SCH_MAX_RECORD)
            return sspi_error_set(err, SEC_E_ILLEGAL_MESSAGE,
                                  "TLS record of %zu bytes (the limit is %u)", rlen,
                                  SCH_MAX_RECORD);
    }
    return SEC_E_OK;
}

sspi_status sch_record_scan(const unsigned char *in, size_t len, size_t max_records,
                            size_t *whole, size_t *count, size_t *missing, sspi_error *err)
{
    size_t pos = 0, n = 0;
    *whole = 0;
    *count = 0;
    *missing = 0;
    while (max_records == 0 || n < max_records) {
        size_t left = len - pos, rlen;
        sspi_status st = check_header(in + pos, left < SCH_RECORD_HEADER ? left : SCH_RECORD_HEADER,
                                      n == 0 ? err : NULL);
        if (st != SEC_E_OK)
            return n == 0 ? st : SEC_E_OK;
        if (left < SCH_RECORD_HEADER) {
            if (n == 0)
                *missing = SCH_RECORD_HEADER - left;
            break;
        }
        rlen = SCH_RECORD_HEADER + (((size_t)in[pos + 3] << 8) | in[pos + 4]);
        if (left < rlen) {
            if (n == 0)
                *missing = rlen - left;
            break;
        }
        pos += rlen;
        n++;
        *whole = pos;
        *count = n;
    }
    return SEC_E_OK;
}
