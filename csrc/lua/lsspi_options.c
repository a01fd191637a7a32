/*
 * lsspi_options.c - reading option tables (sspi.credential{...},
 * ctx:step_init{...}, sspi.channel_bindings{...}).
 *
 * Constructors take one options table; a key we do not know raises, so that
 * a typo ("pasword") is caught instead of silently ignored, and a value of
 * the wrong type raises naming its key.  Integers must be numbers with an
 * integral value (2.0 is 2; the string "2" is refused: an option is data the
 * program wrote, not text it parsed).  Tables are read raw (no __index):
 * strings taken from them stay alive while the table is on the stack.
 */
#include <string.h>

#include "lsspi.h"

int lsspi_opt_error(lua_State *L, int arg, const char *key, const char *what)
{
    return luaL_argerror(L, arg, lua_pushfstring(L, "bad option '%s' (%s)", key, what));
}

void lsspi_check_option_keys(lua_State *L, int idx, int arg, const char *const known[])
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        const char *key;
        size_t i;
        int found = 0;
        lua_pop(L, 1); /* the value */
        if (lua_type(L, -1) != LUA_TSTRING) {
            luaL_argerror(L, arg, lua_pushfstring(L, "options take string keys, got a %s key",
                                                  luaL_typename(L, -1)));
        }
        key = lua_tostring(L, -1);
        for (i = 0; known[i] != NULL; i++) {
            if (strcmp(key, known[i]) == 0) {
                found = 1;
                break;
            }
        }
        if (!found)
            luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s'", key));
    }
}

int lsspi_opt_get(lua_State *L, int idx, int arg, const char *key, int type)
{
    int got;
    /* Raw access, like lua_next in the key check: a string read here stays
     * alive in the table after it is popped. */
    idx = lua_absindex(L, idx);
    lua_pushstring(L, key);
    got = lua_rawget(L, idx);
    if (got == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (got != type) {
        lsspi_opt_error(L, arg, key,
                        lua_pushfstring(L, "%s expected, got %s", lua_typename(L, type),
                                        luaL_typename(L, -1)));
    }
    return 1;
}

const char *lsspi_opt_string(lua_State *L, int idx, int arg, const char *key, size_t *len)
{
    const char *s;
    size_t n;
    if (!lsspi_opt_get(L, idx, arg, key, LUA_TSTRING)) {
        if (len)
            *len = 0;
        return NULL;
    }
    s = lua_tolstring(L, -1, &n);
    /* Without len the caller hands the text on as a C string: an embedded
     * NUL would cut it short silently ("alice\0x" would log on as alice,
     * "/safe/dir\0/../x" would be another file), so refuse it. */
    if (len == NULL && strlen(s) != n)
        lsspi_opt_error(L, arg, key, "string contains a NUL byte");
    if (len)
        *len = n;
    /* Popping is safe: the table at idx keeps the string alive. */
    lua_pop(L, 1);
    return s;
}

int lsspi_opt_integer(lua_State *L, int idx, int arg, const char *key, lua_Integer min,
                      lua_Integer max, lua_Integer *out)
{
    lua_Integer v;
    int isint = 0;
    if (!lsspi_opt_get(L, idx, arg, key, LUA_TNUMBER))
        return 0;
    v = lua_tointegerx(L, -1, &isint);
    if (!isint)
        lsspi_opt_error(L, arg, key, "number has no integer representation");
    if (v < min || v > max) {
        lsspi_opt_error(L, arg, key,
                        lua_pushfstring(L, "%I out of range %I..%I", v, min, max));
    }
    lua_pop(L, 1);
    *out = v;
    return 1;
}

int lsspi_opt_boolean(lua_State *L, int idx, int arg, const char *key, int def)
{
    int v;
    if (!lsspi_opt_get(L, idx, arg, key, LUA_TBOOLEAN))
        return def;
    v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* A list option as an array of C strings (at most max) in a scratch
 * userdata left on the stack; the strings stay alive in the list. */
const char *const *lsspi_opt_string_list(lua_State *L, int opts, const char *key, size_t max,
                                         size_t *count)
{
    const char **names;
    size_t i, n;
    int list;
    *count = 0;
    if (!lsspi_opt_get(L, opts, 1, key, LUA_TTABLE))
        return NULL;
    list = lua_gettop(L);
    n = (size_t)lua_rawlen(L, list);
    if (n > max)
        lsspi_opt_error(L, 1, key, lua_pushfstring(L, "more than %d names", (int)max));
    names = lua_newuserdatauv(L, (n ? n : 1) * sizeof *names, 0);
    for (i = 0; i < n; i++) {
        if (lua_rawgeti(L, list, (lua_Integer)i + 1) != LUA_TSTRING)
            lsspi_opt_error(L, 1, key,
                            lua_pushfstring(L, "string expected at index %I, got %s",
                                            (lua_Integer)i + 1, luaL_typename(L, -1)));
        names[i] = lua_tostring(L, -1);
        if (strlen(names[i]) != (size_t)lua_rawlen(L, -1))
            lsspi_opt_error(L, 1, key,
                            lua_pushfstring(L, "string at index %I contains a NUL byte",
                                            (lua_Integer)i + 1));
        lua_pop(L, 1);
    }
    *count = n;
    return names;
}
