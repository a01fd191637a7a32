/*
 * lsspi_buflist.c - SecBufferDesc lists built from Lua values, for steps
 * (input, output) and the message functions.
 *
 * The core works on an array of sspi_buffer descriptors.  For each item
 * that is an sspi.buffer the descriptor is a copy of the userdata's; after
 * the call each userdata adopts what the core did (length, type, memory the
 * package allocated).  Everything that can raise (type checks, new
 * userdata, the owners table) happens before the core is called; the sync
 * after it never raises, so memory the core hands back always lands in a
 * userdata.
 */
#include <string.h>

#include "lsspi.h"

/* Room for n descriptors: the fixed array, or a scratch userdata left on
 * the stack (collected with the call's frame). */
static void reserve(lua_State *L, lsspi_buflist *bl, size_t n, int arg)
{
    memset(&bl->list, 0, sizeof bl->list);
    bl->owners = 0;
    if (n > LSSPI_BUFLIST_MAX)
        luaL_argerror(L, arg, lua_pushfstring(L, "too many buffers in a list (%I, at most %d)",
                                              (lua_Integer)n, LSSPI_BUFLIST_MAX));
    if (n <= LSSPI_BUFLIST_FIXED) {
        bl->list.buffers = bl->fixed;
        memset(bl->fixed, 0, sizeof bl->fixed);
    } else {
        bl->list.buffers = lua_newuserdatauv(L, n * sizeof(sspi_buffer), 0);
        memset(bl->list.buffers, 0, n * sizeof(sspi_buffer));
    }
}

static uint32_t item_type(lua_State *L, int idx, int arg, const char *what)
{
    uint32_t type = 0;
    const char *bad = lsspi_to_buffer_type(L, idx, &type);
    if (bad != NULL)
        lsspi_opt_error(L, arg, what, bad);
    return type;
}

static void input_item(lua_State *L, int idx, int arg, const char *what, sspi_buffer *out)
{
    lsspi_buffer *b;
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        /* Read in place: the core never writes to an input buffer. */
        out->type = SECBUFFER_TOKEN;
        out->data = (unsigned char *)s;
        out->length = out->capacity = len;
        return;
    }
    case LUA_TNUMBER:
        out->type = item_type(L, idx, arg, what);
        return;
    case LUA_TUSERDATA:
        b = lsspi_buffer_test(L, idx);
        if (b != NULL) {
            if (b->closed)
                luaL_error(L, "attempt to use a closed " LSSPI_BUFFER);
            *out = b->buf;
            out->package_allocated = 0; /* the core must not free it */
            return;
        }
        break;
    default:
        break;
    }
    lsspi_opt_error(L, arg, what,
                    lua_pushfstring(L, "string, sspi.buffer or SECBUFFER_* type expected, got %s",
                                    luaL_typename(L, idx)));
}

void lsspi_buflist_input(lua_State *L, int idx, int arg, const char *what, lsspi_buflist *bl)
{
    size_t i, n;
    idx = lua_absindex(L, idx);
    if (lua_isnil(L, idx)) {
        reserve(L, bl, 0, arg);
        return;
    }
    if (lua_type(L, idx) != LUA_TTABLE) {
        reserve(L, bl, 1, arg);
        input_item(L, idx, arg, what, &bl->list.buffers[0]);
        bl->list.count = 1;
        return;
    }
    n = (size_t)lua_rawlen(L, idx);
    reserve(L, bl, n, arg);
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        /* A string stays alive in the list table after the pop. */
        input_item(L, -1, arg, what, &bl->list.buffers[i]);
        lua_pop(L, 1);
    }
    bl->list.count = n;
}

/* An output item: its owning userdata is pushed. */
static void output_item(lua_State *L, int idx, int arg, const char *what, int *only_types)
{
    /* Output items never carry data: a string is a type name ("Token"). */
    if (lua_type(L, idx) == LUA_TNUMBER || lua_type(L, idx) == LUA_TSTRING) {
        lsspi_buffer_new(L, item_type(L, idx, arg, what), NULL, 0, 0);
        return;
    }
    if (lsspi_buffer_test(L, idx) != NULL) {
        lsspi_buffer_check(L, idx);
        *only_types = 0;
        lua_pushvalue(L, idx);
        return;
    }
    lsspi_opt_error(L, arg, what,
                    lua_pushfstring(L, "sspi.buffer or SECBUFFER_* type expected, got %s",
                                    luaL_typename(L, idx)));
}

/* Copies the owners' descriptors into the list (after every item exists). */
static void load_descriptors(lua_State *L, lsspi_buflist *bl)
{
    size_t i;
    for (i = 0; i < bl->list.count; i++) {
        lsspi_buffer *b;
        lua_rawgeti(L, bl->owners, (lua_Integer)i + 1);
        b = lua_touserdata(L, -1);
        bl->list.buffers[i] = b->buf;
        bl->list.buffers[i].package_allocated = 0;
        lua_pop(L, 1);
    }
}

void lsspi_buflist_output(lua_State *L, int idx, int arg, const char *what, lsspi_buflist *bl,
                          int *only_types)
{
    size_t i, n;
    idx = lua_absindex(L, idx);
    *only_types = 1;
    n = lua_type(L, idx) == LUA_TTABLE ? (size_t)lua_rawlen(L, idx) : 1;
    reserve(L, bl, n, arg);
    lua_createtable(L, (int)n, 0);
    bl->owners = lua_gettop(L);
    if (lua_isnil(L, idx)) {
        lsspi_buffer_new(L, SECBUFFER_TOKEN, NULL, 0, 0);
        lua_rawseti(L, bl->owners, 1);
    } else if (lua_type(L, idx) != LUA_TTABLE) {
        output_item(L, idx, arg, what, only_types);
        lua_rawseti(L, bl->owners, 1);
    } else {
        for (i = 0; i < n; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i + 1);
            output_item(L, -1, arg, what, only_types);
            lua_rawseti(L, bl->owners, (lua_Integer)i + 1);
            lua_pop(L, 1);
        }
    }
    bl->list.count = n;
    load_descriptors(L, bl);
}

#define TABLE_ITEM "buffer item {type, data_or_size [, flags]}: "

/* {type, data_or_size [, flags]}: the arguments of sspi.buffer; the new
 * buffer is pushed. */
static void table_item(lua_State *L, int idx, int arg)
{
    int top = lua_gettop(L), isint = 0;
    lua_Integer flags = 0;
    uint32_t type = 0;
    idx = lua_absindex(L, idx);
    lua_rawgeti(L, idx, 1);
    lua_rawgeti(L, idx, 2);
    lua_rawgeti(L, idx, 3);
    if (lsspi_to_buffer_type(L, top + 1, &type) != NULL)
        luaL_argerror(L, arg, lua_pushfstring(L, TABLE_ITEM "bad type (%s)", lua_tostring(L, -1)));
    if (!lua_isnil(L, top + 3)) {
        flags = lua_tointegerx(L, top + 3, &isint);
        if (lua_type(L, top + 3) != LUA_TNUMBER || !isint || flags < 0 ||
            flags > (lua_Integer)UINT32_MAX || ((uint32_t)flags & ~SECBUFFER_ATTRMASK) != 0)
            luaL_argerror(L, arg, TABLE_ITEM "bad flags");
    }
    if (lua_type(L, top + 2) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, top + 2, &len);
        luaL_argcheck(L, len <= LSSPI_MAX_BUFFER, arg, TABLE_ITEM "data too large");
        lsspi_buffer_new(L, type | (uint32_t)flags, s, len, len);
    } else {
        lua_Integer size = lua_tointegerx(L, top + 2, &isint);
        if (lua_type(L, top + 2) != LUA_TNUMBER || !isint || size < 0 || size > LSSPI_MAX_BUFFER)
            luaL_argerror(L, arg, TABLE_ITEM "bad data_or_size");
        lsspi_buffer_new(L, type | (uint32_t)flags, NULL, 0, (size_t)size);
    }
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
}

/* A message item: an owning userdata is pushed. */
static void message_item(lua_State *L, int idx, int arg)
{
    lsspi_buffer *b;
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        luaL_argcheck(L, len <= LSSPI_MAX_BUFFER, arg, "data too large for a SecBuffer");
        lsspi_buffer_new(L, SECBUFFER_DATA, s, len, len);
        return;
    }
    if (lua_type(L, idx) == LUA_TTABLE) {
        table_item(L, idx, arg);
        return;
    }
    b = lsspi_buffer_test(L, idx);
    if (b != NULL) {
        lsspi_buffer_check(L, idx);
        lua_pushvalue(L, idx);
        return;
    }
    luaL_argerror(L, arg,
                  lua_pushfstring(L, "list of sspi.buffer, string or {type, data} expected, got %s",
                                  luaL_typename(L, idx)));
}

void lsspi_buflist_message(lua_State *L, int idx, int arg, lsspi_buflist *bl)
{
    size_t i, n;
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    n = (size_t)lua_rawlen(L, idx);
    reserve(L, bl, n, arg);
    lua_createtable(L, (int)n, 0);
    bl->owners = lua_gettop(L);
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        message_item(L, -1, arg);
        lua_rawseti(L, bl->owners, (lua_Integer)i + 1);
        lua_pop(L, 1);
    }
    bl->list.count = n;
    load_descriptors(L, bl);
}

void lsspi_buflist_sync(lua_State *L, lsspi_buflist *bl)
{
    size_t i;
    if (bl->owners == 0)
        return;
    for (i = 0; i < bl->list.count; i++) {
        lua_rawgeti(L, bl->owners, (lua_Integer)i + 1);
        lsspi_buffer_adopt(lua_touserdata(L, -1), &bl->list.buffers[i]);
        lua_pop(L, 1);
    }
}
