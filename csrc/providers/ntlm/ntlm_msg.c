/*
 * ntlm_msg.c - the three NTLM messages on the wire (MS-NLMP 2.2.1) and AV
 * pair lists (2.2.2.1).  Parsing is strict: every field must lie inside the
 * message and after its fixed header, and a message larger than NTLM's
 * cbMaxToken is refused before anything is read; every failure is
 * SEC_E_INVALID_TOKEN with a message naming what is wrong.
 */
#include <string.h>
#include <time.h>

#include "ntlm.h"

static const unsigned char signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

void sspi_ntlm_put_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

void sspi_ntlm_put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

void sspi_ntlm_put_le64(unsigned char *p, uint64_t v)
{
    sspi_ntlm_put_le32(p, (uint32_t)v);
    sspi_ntlm_put_le32(p + 4, (uint32_t)(v >> 32));
}

uint16_t sspi_ntlm_get_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t sspi_ntlm_get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

uint64_t sspi_ntlm_get_le64(const unsigned char *p)
{
    return (uint64_t)sspi_ntlm_get_le32(p) | ((uint64_t)sspi_ntlm_get_le32(p + 4) << 32);
}

void sspi_ntlm_put_version(unsigned char out[8])
{
    /* Windows 10 / Server 2019 (10.0.17763), NTLMSSP_REVISION_W2K3. */
    out[0] = 10;
    out[1] = 0;
    sspi_ntlm_put_le16(out + 2, 17763);
    out[4] = out[5] = out[6] = 0;
    out[7] = 0x0F;
}

uint64_t sspi_ntlm_filetime_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec + 11644473600ull) * 10000000ull + (uint64_t)ts.tv_nsec / 100;
}

/* Every parse failure: SEC_E_INVALID_TOKEN naming what is wrong. */
static sspi_status malformed(sspi_error *err, const char *what)
{
    return sspi_error_set(err, SEC_E_INVALID_TOKEN, "NTLM: %s", what);
}

/* The common epilogue: a message must offer (or select) a character set. */
static sspi_status check_charset(uint32_t flags, const char *what, sspi_error *err)
{
    if (!(flags & (NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_OEM)))
        return sspi_error_set(err, SEC_E_INVALID_TOKEN, "NTLM: the %s neither UNICODE nor OEM",
                              what);
    return SEC_E_OK;
}

/* The common prologue: size limits, signature, message type. */
static sspi_status check_head(const unsigned char *t, size_t n, uint32_t type, size_t min,
                              const char *name, sspi_error *err)
{
    if (t == NULL || n == 0)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN, "NTLM: no %s message given", name);
    if (n > NTLM_MAX_TOKEN)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: the %s message is %zu bytes, more than the %u NTLM allows",
                              name, n, NTLM_MAX_TOKEN);
    if (n < min)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: the %s message is truncated (%zu bytes, at least %zu needed)",
                              name, n, min);
    if (memcmp(t, signature, 8) != 0)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: the %s message does not start with \"NTLMSSP\\0\"", name);
    if (sspi_ntlm_get_le32(t + 8) != type)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "NTLM: expected a %s message (type %u), got type %u", name,
                              (unsigned)type, (unsigned)sspi_ntlm_get_le32(t + 8));
    return SEC_E_OK;
}

/* One (Len, MaxLen, BufferOffset) field: inside the message and at or past
 * the fixed header; an empty field may point anywhere. */
static int get_field(const unsigned char *t, size_t n, size_t at, size_t header,
                     sspi_ntlm_view *v)
{
    size_t len = sspi_ntlm_get_le16(t + at);
    size_t off = sspi_ntlm_get_le32(t + at + 4);
    v->data = NULL;
    v->len = 0;
    if (len == 0)
        return 0;
    if (off < header || off > n || len > n - off)
        return -1;
    v->data = t + off;
    v->len = len;
    return 0;
}

sspi_status sspi_ntlm_parse_negotiate(const unsigned char *t, size_t n, sspi_ntlm_negotiate *m,
                                      sspi_error *err)
{
    size_t header;
    sspi_ntlm_view v;
    sspi_status st = check_head(t, n, 1, 32, "NEGOTIATE", err);
    if (st != SEC_E_OK)
        return st;
    m->flags = sspi_ntlm_get_le32(t + 12);
    header = (m->flags & NTLMSSP_NEGOTIATE_VERSION) ? 40 : 32;
    if (n < header)
        return malformed(err, "the NEGOTIATE message announces a VERSION it does not hold");
    /* Domain and workstation fields (OEM, informational) must still be sane. */
    if (get_field(t, n, 16, header, &v) != 0 || get_field(t, n, 24, header, &v) != 0)
        return malformed(err, "a NEGOTIATE field lies outside the message");
    return check_charset(m->flags, "NEGOTIATE message offers", err);
}

sspi_status sspi_ntlm_parse_challenge(const unsigned char *t, size_t n, sspi_ntlm_challenge *m,
                                      sspi_error *err)
{
    size_t header = 32;
    sspi_status st = check_head(t, n, 2, 32, "CHALLENGE", err);
    if (st != SEC_E_OK)
        return st;
    memset(m, 0, sizeof *m);
    m->flags = sspi_ntlm_get_le32(t + 20);
    memcpy(m->server_challenge, t + 24, 8);
    if (n >= 48)
        header = (m->flags & NTLMSSP_NEGOTIATE_VERSION) && n >= 56 ? 56 : 48;
    if (get_field(t, n, 12, header, &m->target_name) != 0)
        return malformed(err, "the CHALLENGE target name lies outside the message");
    if (n >= 48 && (m->flags & NTLMSSP_NEGOTIATE_TARGET_INFO)) {
        if (get_field(t, n, 40, header, &m->target_info) != 0)
            return malformed(err, "the CHALLENGE target info lies outside the message");
        if (m->target_info.len && sspi_ntlm_av_check(m->target_info) != 0)
            return malformed(err, "the CHALLENGE target info is not a valid AV pair list");
    }
    return check_charset(m->flags, "CHALLENGE selects", err);
}

sspi_status sspi_ntlm_parse_authenticate(const unsigned char *t, size_t n,
                                         sspi_ntlm_authenticate *m, sspi_error *err)
{
    static const size_t fields[6] = {12, 20, 28, 36, 44, 52};
    sspi_ntlm_view *views[6];
    size_t header = 64, lowest = n, i;
    sspi_status st = check_head(t, n, 3, 64, "AUTHENTICATE", err);
    if (st != SEC_E_OK)
        return st;
    memset(m, 0, sizeof *m);
    views[0] = &m->lm;
    views[1] = &m->nt;
    views[2] = &m->domain;
    views[3] = &m->user;
    views[4] = &m->workstation;
    views[5] = &m->session_key;
    m->flags = sspi_ntlm_get_le32(t + 60);
    /* The fixed header ends where the payload starts: its length tells
     * whether the VERSION (8) and MIC (16) fields are there. */
    for (i = 0; i < 6; i++) {
        size_t len = sspi_ntlm_get_le16(t + fields[i]);
        size_t off = sspi_ntlm_get_le32(t + fields[i] + 4);
        if (len && off < lowest)
            lowest = off;
    }
    if (lowest >= NTLM_AUTH_MIC_OFFSET + 16 && n >= NTLM_AUTH_MIC_OFFSET + 16) {
        header = NTLM_AUTH_MIC_OFFSET + 16;
        m->has_mic = 1;
        m->mic = t + NTLM_AUTH_MIC_OFFSET;
    } else if (lowest >= 72 && n >= 72) {
        header = 72;
    }
    for (i = 0; i < 6; i++)
        if (get_field(t, n, fields[i], header, views[i]) != 0)
            return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                                  "NTLM: an AUTHENTICATE field (at offset %zu) lies outside "
                                  "the message",
                                  fields[i]);
    return check_charset(m->flags, "AUTHENTICATE selects", err);
}

int sspi_ntlm_av_check(sspi_ntlm_view list)
{
    size_t at = 0;
    while (at + 4 <= list.len) {
        uint16_t id = sspi_ntlm_get_le16(list.data + at);
        size_t len = sspi_ntlm_get_le16(list.data + at + 2);
        if (len > list.len - at - 4)
            return -1;
        if (id == NTLM_AV_EOL)
            return len == 0 ? 0 : -1;
        if ((id == NTLM_AV_FLAGS && len != 4) || (id == NTLM_AV_TIMESTAMP && len != 8) ||
            (id == NTLM_AV_CHANNEL_BINDINGS && len != 16))
            return -1;
        at += 4 + len;
    }
    return -1; /* no EOL */
}

int sspi_ntlm_av_find(sspi_ntlm_view list, uint16_t id, sspi_ntlm_view *value)
{
    size_t at = 0;
    while (at + 4 <= list.len) {
        uint16_t k = sspi_ntlm_get_le16(list.data + at);
        size_t len = sspi_ntlm_get_le16(list.data + at + 2);
        if (k == NTLM_AV_EOL || len > list.len - at - 4)
            return 0;
        if (k == id) {
            value->data = list.data + at + 4;
            value->len = len;
            return 1;
        }
        at += 4 + len;
    }
    return 0;
}

int sspi_ntlm_av_put(sspi_bytes *b, uint16_t id, const void *value, size_t len)
{
    unsigned char hdr[4];
    if (len > 0xFFFF)
        return -1;
    sspi_ntlm_put_le16(hdr, id);
    sspi_ntlm_put_le16(hdr + 2, (uint16_t)len);
    if (sspi_bytes_append(b, hdr, 4) != 0)
        return -1;
    return len ? sspi_bytes_append(b, value, len) : 0;
}

int sspi_ntlm_writer_start(sspi_ntlm_writer *w, sspi_bytes *out, uint32_t type, size_t header)
{
    w->out = out;
    w->header = header;
    out->len = 0;
    if (sspi_bytes_reserve(out, header + 256) != 0)
        return -1;
    memset(out->data, 0, header);
    memcpy(out->data, signature, 8);
    sspi_ntlm_put_le32(out->data + 8, type);
    out->len = header;
    return 0;
}

int sspi_ntlm_writer_field(sspi_ntlm_writer *w, size_t field_at, const void *data, size_t len)
{
    size_t off = w->out->len;
    if (len > 0xFFFF || off > 0xFFFFFFFFu)
        return -1;
    if (len && sspi_bytes_append(w->out, data, len) != 0)
        return -1;
    sspi_ntlm_put_le16(w->out->data + field_at, (uint16_t)len);
    sspi_ntlm_put_le16(w->out->data + field_at + 2, (uint16_t)len);
    sspi_ntlm_put_le32(w->out->data + field_at + 4, (uint32_t)off);
    return 0;
}
