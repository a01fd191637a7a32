/*
 * buffers.c - SecBuffer lists and the SEC_CHANNEL_BINDINGS serialisation.
 */
#include <string.h>

#include "internal.h"

sspi_buffer *sspi_buffer_list_find(const sspi_buffer_list *list, uint32_t base_type)
{
    size_t i;
    if (list == NULL || list->buffers == NULL)
        return NULL;
    for (i = 0; i < list->count; i++)
        if (SSPI_BUFFER_BASE_TYPE(list->buffers[i].type) == base_type)
            return &list->buffers[i];
    return NULL;
}

void sspi_buffer_release(const sspi_allocator *alloc, sspi_buffer *buf)
{
    if (buf == NULL || !buf->package_allocated)
        return;
    sspi_mem_free(alloc, buf->data, buf->capacity);
    buf->data = NULL;
    buf->length = 0;
    buf->capacity = 0;
    buf->package_allocated = 0;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
    p[2] = (unsigned char)((v >> 16) & 0xff);
    p[3] = (unsigned char)((v >> 24) & 0xff);
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

size_t sspi_channel_bindings_size(const sspi_channel_bindings *cb)
{
    const size_t limit = 0xffffffffu;
    size_t total = SSPI_CHANNEL_BINDINGS_HEADER;
    if (cb->initiator_length > limit || cb->acceptor_length > limit ||
        cb->application_length > limit)
        return 0;
    total += cb->initiator_length + cb->acceptor_length + cb->application_length;
    return total > limit ? 0 : total;
}

/* One (length, offset) field at desc, its bytes at off; the next offset.
 * The offset of an empty field stays 0, as Windows writes it. */
static uint32_t write_field(unsigned char *out, unsigned char *desc, const unsigned char *data,
                            size_t len, uint32_t off)
{
    put_le32(desc, (uint32_t)len);
    if (len == 0)
        return off;
    put_le32(desc + 4, off);
    memcpy(out + off, data, len);
    return off + (uint32_t)len;
}

void sspi_channel_bindings_write(const sspi_channel_bindings *cb, unsigned char *out)
{
    uint32_t off = SSPI_CHANNEL_BINDINGS_HEADER;
    memset(out, 0, SSPI_CHANNEL_BINDINGS_HEADER);
    put_le32(out + 0, cb->initiator_addrtype);
    off = write_field(out, out + 4, cb->initiator_address, cb->initiator_length, off);
    put_le32(out + 12, cb->acceptor_addrtype);
    off = write_field(out, out + 16, cb->acceptor_address, cb->acceptor_length, off);
    write_field(out, out + 24, cb->application_data, cb->application_length, off);
}

/* One (length, offset) field: inside the data, or empty. */
static int field(const unsigned char *data, size_t len, const unsigned char *hdr,
                 const unsigned char **ptr, size_t *flen)
{
    uint32_t n = get_le32(hdr), off = get_le32(hdr + 4);
    *ptr = NULL;
    *flen = 0;
    if (n == 0)
        return 0;
    if (off < SSPI_CHANNEL_BINDINGS_HEADER || off > len || n > len - off)
        return -1;
    *ptr = data + off;
    *flen = n;
    return 0;
}

sspi_status sspi_channel_bindings_parse(const unsigned char *data, size_t len,
                                        sspi_channel_bindings *cb, sspi_error *err)
{
    memset(cb, 0, sizeof *cb);
    if (data == NULL || len < SSPI_CHANNEL_BINDINGS_HEADER)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "channel bindings: %zu bytes, the header alone is %d",
                              data ? len : (size_t)0, SSPI_CHANNEL_BINDINGS_HEADER);
    cb->initiator_addrtype = get_le32(data);
    cb->acceptor_addrtype = get_le32(data + 12);
    if (field(data, len, data + 4, &cb->initiator_address, &cb->initiator_length) != 0)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "channel bindings: initiator address outside the buffer");
    if (field(data, len, data + 16, &cb->acceptor_address, &cb->acceptor_length) != 0)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "channel bindings: acceptor address outside the buffer");
    if (field(data, len, data + 24, &cb->application_data, &cb->application_length) != 0)
        return sspi_error_set(err, SEC_E_INVALID_TOKEN,
                              "channel bindings: application data outside the buffer");
    return SEC_E_OK;
}
