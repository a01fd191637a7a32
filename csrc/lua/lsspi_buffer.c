/*
 * lsspi_buffer.c - the sspi.buffer class (New-SecBuffer): one SecBuffer
 * whose bytes live in C memory from the Lua state's allocator, wiped on
 * free, so that tokens and message data can be written in place by the
 * core; and sspi.channel_bindings (New-ChannelBindingBuffer).
 */

/***
 * sspi.buffer and sspi.channel_bindings, part of the module `sspi`.
 * @module sspi
 */
#include <string.h>

#include "lsspi.h"

/* Wipes so that the compiler cannot drop it (the binding sees no OpenSSL). */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

/* Frees the bytes the buffer owns; leaves it empty (not closed). */
static void buffer_free_data(lsspi_buffer *b)
{
    if (b->buf.package_allocated) {
        sspi_buffer_release(&b->alloc, &b->buf);
    } else if (b->buf.data != NULL) {
        wipe(b->buf.data, b->buf.capacity);
        b->alloc.fn(b->alloc.ud, b->buf.data, b->buf.capacity, 0);
    }
    b->buf.data = NULL;
    b->buf.length = 0;
    b->buf.capacity = 0;
    b->buf.package_allocated = 0;
}

lsspi_buffer *lsspi_buffer_new(lua_State *L, uint32_t type, const void *data, size_t len,
                               size_t capacity)
{
    lsspi_buffer *b = lua_newuserdatauv(L, sizeof *b, 0);
    void *ud;
    lua_Alloc fn = lua_getallocf(L, &ud);
    memset(b, 0, sizeof *b);
    b->buf.type = type;
    b->alloc.fn = fn;
    b->alloc.ud = ud;
    luaL_setmetatable(L, LSSPI_BUFFER);
    if (capacity > 0) {
        /* The userdata exists (empty) before the memory: a failure here
         * leaves a consistent object for the collector. */
        unsigned char *p = fn(ud, NULL, 0, capacity);
        if (p == NULL)
            luaL_error(L, "not enough memory for a %I-byte sspi.buffer", (lua_Integer)capacity);
        memset(p, 0, capacity);
        if (data != NULL && len > 0)
            memcpy(p, data, len);
        b->buf.data = p;
        b->buf.capacity = capacity;
    }
    b->buf.length = data != NULL ? len : 0;
    return b;
}

lsspi_buffer *lsspi_buffer_test(lua_State *L, int idx)
{
    return luaL_testudata(L, idx, LSSPI_BUFFER);
}

lsspi_buffer *lsspi_buffer_check(lua_State *L, int idx)
{
    lsspi_buffer *b = luaL_checkudata(L, idx, LSSPI_BUFFER);
    if (b->closed)
        luaL_error(L, "attempt to use a closed " LSSPI_BUFFER);
    return b;
}

void lsspi_buffer_adopt(lsspi_buffer *b, const sspi_buffer *after)
{
    if (after->data != b->buf.data) {
        /* The package allocated new memory (ALLOCATE_MEMORY): it is ours now,
         * from the same allocator; the old bytes go. */
        buffer_free_data(b);
        b->buf.data = after->data;
        b->buf.capacity = after->capacity;
        b->buf.package_allocated = after->package_allocated;
    }
    b->buf.type = after->type;
    /* Never trust a length past the bytes we hold. */
    b->buf.length = after->length <= b->buf.capacity ? after->length : b->buf.capacity;
}

const char *lsspi_to_buffer_type(lua_State *L, int idx, uint32_t *type)
{
    int isint = 0;
    lua_Integer t;
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char *name = lua_tostring(L, idx);
        if (sspi_buffer_type_parse(name, type) == 0)
            return NULL;
        return lua_pushfstring(L, "unknown buffer type '%s'", name);
    }
    if (lua_type(L, idx) != LUA_TNUMBER)
        return lua_pushfstring(L, "SECBUFFER_* type or name expected, got %s",
                               luaL_typename(L, idx));
    t = lua_tointegerx(L, idx, &isint);
    if (!isint || t < 0 || t > (lua_Integer)UINT32_MAX)
        return lua_pushliteral(L, "buffer type out of range");
    *type = (uint32_t)t;
    return NULL;
}

/* The base type and attribute flags of the arguments at arg, arg+? */
static uint32_t check_type(lua_State *L, int arg)
{
    uint32_t type = 0;
    const char *bad = lsspi_to_buffer_type(L, arg, &type);
    if (bad != NULL)
        luaL_argerror(L, arg, bad);
    return type;
}

static uint32_t check_flags(lua_State *L, int arg)
{
    lua_Integer f = luaL_optinteger(L, arg, 0);
    luaL_argcheck(L, f >= 0 && f <= (lua_Integer)UINT32_MAX && ((uint32_t)f & ~SECBUFFER_ATTRMASK) == 0,
                  arg, "buffer flags must be SECBUFFER_READONLY-style attribute bits");
    return (uint32_t)f;
}

/***
 * A new SecBuffer (New-SecBuffer).
 * With a string, the buffer holds a copy of it (length = capacity = #data);
 * with a size, it holds `size` zero bytes of capacity and is empty (length
 * 0), ready for output.  Attribute flags may be given in `type` or in
 * `flags` (they are or'ed).
 * @function buffer
 * @tparam integer|string type sspi.SECBUFFER_TOKEN, sspi.SECBUFFER_DATA, ...,
 *   or a name: "SECBUFFER_TOKEN", "Token", "StreamHeader" (case and
 *   underscores ignored, as PSSPI's New-SecBuffer -Type takes them)
 * @tparam string|integer data_or_size
 * @tparam[opt] integer flags sspi.SECBUFFER_READONLY, sspi.SECBUFFER_READONLY_WITH_CHECKSUM
 * @treturn sspi.buffer
 * @usage local out = sspi.buffer(sspi.SECBUFFER_TOKEN, 12000)  -- 12000 bytes free, #out == 0
 * local tok = sspi.buffer(sspi.SECBUFFER_TOKEN, token_string)  -- #tok == #token_string
 */
static int l_buffer(lua_State *L)
{
    uint32_t type = check_type(L, 1) | check_flags(L, 3);
    if (lua_type(L, 2) == LUA_TSTRING) {
        size_t len;
        const char *data = lua_tolstring(L, 2, &len);
        luaL_argcheck(L, len <= LSSPI_MAX_BUFFER, 2, "data too large for a SecBuffer");
        lsspi_buffer_new(L, type, data, len, len);
    } else {
        lua_Integer size = luaL_checkinteger(L, 2);
        luaL_argcheck(L, size >= 0 && size <= LSSPI_MAX_BUFFER, 2, "size out of range");
        lsspi_buffer_new(L, type, NULL, 0, (size_t)size);
    }
    return 1;
}

/***
 * A SECBUFFER_CHANNEL_BINDINGS buffer holding a serialised
 * SEC_CHANNEL_BINDINGS (New-ChannelBindingBuffer): a 32-byte little-endian
 * header, then initiator address, acceptor address and application data.
 * Unknown keys raise.
 * @function channel_bindings
 * @tparam table opts application_data (string), initiator_addrtype (integer),
 *   initiator_address (string), acceptor_addrtype (integer), acceptor_address (string);
 *   every field defaults to 0 / empty
 * @treturn sspi.buffer
 * @usage local cb = sspi.channel_bindings{
 *   application_data = "tls-server-end-point:" .. cert_hash }
 * ctx:step_init{ target = spn, input = { cb } }
 */
static int l_channel_bindings(lua_State *L)
{
    static const char *const known[] = {"application_data", "initiator_addrtype",
                                        "initiator_address", "acceptor_addrtype",
                                        "acceptor_address", NULL};
    sspi_channel_bindings cb;
    lua_Integer at = 0;
    size_t size;
    lsspi_buffer *b;
    luaL_checktype(L, 1, LUA_TTABLE);
    lsspi_check_option_keys(L, 1, 1, known);
    memset(&cb, 0, sizeof cb);
    cb.application_data =
        (const unsigned char *)lsspi_opt_string(L, 1, 1, "application_data", &cb.application_length);
    cb.initiator_address =
        (const unsigned char *)lsspi_opt_string(L, 1, 1, "initiator_address", &cb.initiator_length);
    cb.acceptor_address =
        (const unsigned char *)lsspi_opt_string(L, 1, 1, "acceptor_address", &cb.acceptor_length);
    if (lsspi_opt_integer(L, 1, 1, "initiator_addrtype", 0, UINT32_MAX, &at))
        cb.initiator_addrtype = (uint32_t)at;
    if (lsspi_opt_integer(L, 1, 1, "acceptor_addrtype", 0, UINT32_MAX, &at))
        cb.acceptor_addrtype = (uint32_t)at;
    size = sspi_channel_bindings_size(&cb);
    luaL_argcheck(L, size != 0 && size <= LSSPI_MAX_BUFFER, 1, "channel bindings too large");
    b = lsspi_buffer_new(L, SECBUFFER_CHANNEL_BINDINGS, NULL, 0, size);
    sspi_channel_bindings_write(&cb, b->buf.data);
    b->buf.length = size;
    return 1;
}

/***
 * An sspi.buffer (one SecBuffer).
 * `#buf` is the number of bytes in use.  `tostring(buf)` reads
 * "sspi.buffer (SECBUFFER_TOKEN|SECBUFFER_READONLY, 12/48 bytes)" or
 * "sspi.buffer (closed)"; any use of a closed buffer but close and
 * tostring raises "attempt to use a closed sspi.buffer".
 * @type sspi.buffer
 */

/***
 * The base SECBUFFER_* type (integer, attribute bits removed).
 * @field type
 */

/***
 * The attribute bits (SECBUFFER_READONLY, SECBUFFER_READONLY_WITH_CHECKSUM
 * ...), 0 when none.
 * @field flags
 */

/***
 * true when the bytes were allocated by the package in an ALLOCATE_MEMORY
 * step (an output buffer given as a type), false otherwise.
 * @field package_allocated
 */

/***
 * The bytes in use, as a string (a copy).
 * @function buffer:data
 * @treturn string
 */
static int buffer_data(lua_State *L)
{
    lsspi_buffer *b = lsspi_buffer_check(L, 1);
    lua_pushlstring(L, (const char *)b->buf.data, b->buf.data ? b->buf.length : 0);
    return 1;
}

/***
 * The bytes the buffer can hold.
 * @function buffer:capacity
 * @treturn integer
 */
static int buffer_capacity(lua_State *L)
{
    lsspi_buffer *b = lsspi_buffer_check(L, 1);
    lua_pushinteger(L, (lua_Integer)b->buf.capacity);
    return 1;
}

/***
 * Replaces the contents (within the capacity); the old bytes past the new
 * length are wiped.
 * @function buffer:set
 * @tparam string data
 * @treturn sspi.buffer the buffer
 */
static int buffer_set(lua_State *L)
{
    lsspi_buffer *b = lsspi_buffer_check(L, 1);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    if (len > b->buf.capacity) {
        return luaL_argerror(L, 2, lua_pushfstring(L, "%I bytes do not fit in capacity %I",
                                                   (lua_Integer)len,
                                                   (lua_Integer)b->buf.capacity));
    }
    if (len > 0)
        memcpy(b->buf.data, data, len);
    if (b->buf.length > len)
        wipe(b->buf.data + len, b->buf.length - len);
    b->buf.length = len;
    lua_settop(L, 1);
    return 1;
}

/***
 * Wipes and frees the bytes; the buffer is unusable afterwards.  Also
 * `__close` and `__gc`; closing twice is harmless.
 * @function buffer:close
 */
static int buffer_close(lua_State *L)
{
    lsspi_buffer *b = luaL_checkudata(L, 1, LSSPI_BUFFER);
    if (!b->closed) {
        buffer_free_data(b);
        b->closed = 1;
    }
    return 0;
}

static int buffer_len(lua_State *L)
{
    lsspi_buffer *b = lsspi_buffer_check(L, 1);
    lua_pushinteger(L, (lua_Integer)b->buf.length);
    return 1;
}

static const char *type_name(uint32_t base)
{
    const sspi_typename_info *row;
    for (row = sspi_buffer_type_table(); row->name; row++)
        if (row->value == base)
            return row->name;
    return NULL;
}

/* "sspi.buffer (SECBUFFER_TOKEN, 12/48 bytes)", with "|SECBUFFER_READONLY"
 * style flags after the type when set. */
static int buffer_tostring(lua_State *L)
{
    lsspi_buffer *b = luaL_checkudata(L, 1, LSSPI_BUFFER);
    luaL_Buffer out;
    const char *name;
    const sspi_typename_info *row;
    if (b->closed) {
        lua_pushliteral(L, LSSPI_BUFFER " (closed)");
        return 1;
    }
    luaL_buffinit(L, &out);
    luaL_addstring(&out, LSSPI_BUFFER " (");
    name = type_name(SSPI_BUFFER_BASE_TYPE(b->buf.type));
    if (name) {
        luaL_addstring(&out, name);
    } else {
        lua_pushfstring(L, "type %I", (lua_Integer)SSPI_BUFFER_BASE_TYPE(b->buf.type));
        luaL_addvalue(&out);
    }
    for (row = sspi_buffer_flag_table(); row->name; row++) {
        if (row->value != SECBUFFER_ATTRMASK && (b->buf.type & row->value) == row->value) {
            luaL_addchar(&out, '|');
            luaL_addstring(&out, row->name);
        }
    }
    lua_pushfstring(L, ", %I/%I bytes)", (lua_Integer)b->buf.length, (lua_Integer)b->buf.capacity);
    luaL_addvalue(&out);
    luaL_pushresult(&out);
    return 1;
}

/* buf.type, buf.flags, buf.package_allocated. */
static int buffer_get(lua_State *L)
{
    lsspi_buffer *b = lsspi_buffer_check(L, 1);
    const char *key = lua_tostring(L, 2);
    if (key == NULL)
        return 0;
    if (strcmp(key, "type") == 0)
        lua_pushinteger(L, (lua_Integer)SSPI_BUFFER_BASE_TYPE(b->buf.type));
    else if (strcmp(key, "flags") == 0)
        lua_pushinteger(L, (lua_Integer)(b->buf.type & SECBUFFER_ATTRMASK));
    else if (strcmp(key, "package_allocated") == 0)
        lua_pushboolean(L, b->buf.package_allocated);
    else
        return 0;
    return 1;
}

void lsspi_open_buffer(lua_State *L)
{
    static const luaL_Reg meta[] = {
        {"__len", buffer_len},
        {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"data", buffer_data},
        {"capacity", buffer_capacity},
        {"set", buffer_set},
        {NULL, NULL},
    };
    static const luaL_Reg functions[] = {
        {"buffer", l_buffer},
        {"channel_bindings", l_channel_bindings},
        {NULL, NULL},
    };
    static const luaL_Reg *const lists[] = {methods, NULL};
    static const lsspi_class class = {
        .name = LSSPI_BUFFER, .close = buffer_close, .tostring = buffer_tostring, .meta = meta,
        .methods = lists, .getter = buffer_get, .functions = functions,
    };
    lsspi_new_class(L, &class);
}
