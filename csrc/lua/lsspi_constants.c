/*
 * lsspi_constants.c - the Windows constants (ISC_REQ_*, ASC_RET_*,
 * SECBUFFER_*, SEC_E_* ...) as fields of the module, taken from the core's
 * tables so that names and values have one source; and the conversions
 * between masks and names (sspi.flag_names, context_req lists).
 */

/***
 * Constants and flag names, part of the module `sspi`.
 * @module sspi
 */

/***
 * InitializeSecurityContext request flags, Windows names and values:
 * every `sspi.ISC_REQ_*` (ISC_REQ_DELEGATE 0x1 ... ISC_REQ_CONFIDENTIALITY_ONLY
 * 0x40000000).  A context_req option also takes the names as strings, with or
 * without the prefix.
 * @field ISC_REQ_MUTUAL_AUTH
 */

/***
 * InitializeSecurityContext returned flags: every `sspi.ISC_RET_*`
 * (res.flags of step_init, ctx:query("flags") on an initiator).
 * @field ISC_RET_MUTUAL_AUTH
 */

/***
 * AcceptSecurityContext request flags: every `sspi.ASC_REQ_*` (not the
 * ISC values: ASC_REQ_INTEGRITY is 0x20000, ISC_REQ_INTEGRITY 0x10000).
 * @field ASC_REQ_MUTUAL_AUTH
 */

/***
 * AcceptSecurityContext returned flags: every `sspi.ASC_RET_*`.
 * @field ASC_RET_MUTUAL_AUTH
 */

/***
 * Status codes with their Windows values: the `sspi.SEC_E_...` failures,
 * SEC_E_OK (0) and the `sspi.SEC_I_...` progress codes; err.code holds one,
 * err.status and sspi.status_name give its name.
 * @field SEC_E_LOGON_DENIED
 */

/***
 * SecBuffer types `sspi.SECBUFFER_*` (SECBUFFER_EMPTY 0, DATA 1, TOKEN 2,
 * PADDING 9, STREAM 10, CHANNEL_BINDINGS 14, ...) and the attribute flags
 * SECBUFFER_READONLY, SECBUFFER_READONLY_WITH_CHECKSUM, SECBUFFER_ATTRMASK;
 * also SECBUFFER_VERSION (0).
 * @field SECBUFFER_TOKEN
 */

/***
 * Package capability bits `sspi.SECPKG_FLAG_...` (packages()[i].capabilities)
 * and the negotiation states `sspi.SECPKG_NEGOTIATION_...` (COMPLETE 0,
 * OPTIMISTIC 1, IN_PROGRESS 2, DIRECT 3, TRY_MULTICRED 4).
 * @field SECPKG_FLAG_INTEGRITY
 */

/***
 * Data representations for target_data_rep: SECURITY_NATIVE_DREP (0x10,
 * the default) and SECURITY_NETWORK_DREP (0).
 * @field SECURITY_NATIVE_DREP
 */

/***
 * The qop of encrypt_message that asks for integrity only (0x80000001),
 * and the qop decrypt_message reports for such a message.
 * @field SECQOP_WRAP_NO_ENCRYPT
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lsspi.h"

static const char *const kind_names[] = {"ISC_REQ", "ISC_RET", "ASC_REQ", "ASC_RET",
                                         "SCH_CRED", NULL};
static const sspi_flag_kind kinds[] = {SSPI_FLAGS_ISC_REQ, SSPI_FLAGS_ISC_RET, SSPI_FLAGS_ASC_REQ,
                                       SSPI_FLAGS_ASC_RET, SSPI_FLAGS_SCH_CRED};

static uint32_t check_mask(lua_State *L, int arg)
{
    lua_Integer v = luaL_checkinteger(L, arg);
    luaL_argcheck(L, v >= 0 && v <= (lua_Integer)UINT32_MAX, arg, "flag mask out of 32-bit range");
    return (uint32_t)v;
}

/* A flag name, or several separated by commas ("ISC_REQ_MUTUAL_AUTH,
 * ISC_REQ_DELEGATE", as PSSPI writes them); spaces around names ignored. */
static uint32_t flag_names(lua_State *L, const char *s, int arg, const char *what,
                           const lsspi_mask_names *names)
{
    uint32_t mask = 0;
    for (;;) {
        const char *start, *end, *next = strchr(s, ',');
        uint32_t value = 0;
        end = next ? next : s + strlen(s);
        for (start = s; start < end && isspace((unsigned char)*start); start++)
            ;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        lua_pushlstring(L, start, (size_t)(end - start));
        if (end == start)
            lsspi_opt_error(L, arg, what, "empty flag name in a comma-separated list");
        if (sspi_flag_lookup(names->table, names->prefix, lua_tostring(L, -1), &value) != 0)
            lsspi_opt_error(L, arg, what,
                            lua_pushfstring(L, "unknown flag '%s' for %s", lua_tostring(L, -1),
                                            names->label));
        lua_pop(L, 1);
        mask |= value;
        if (next == NULL)
            return mask;
        s = next + 1;
    }
}

/* One element of a mask value: a name (or comma-separated names) or an
 * integer. */
static uint32_t flag_item(lua_State *L, int idx, int arg, const char *what,
                          const lsspi_mask_names *names)
{
    if (lua_type(L, idx) == LUA_TSTRING)
        return flag_names(L, lua_tostring(L, idx), arg, what, names);
    if (lua_type(L, idx) == LUA_TNUMBER) {
        int isint = 0;
        lua_Integer v = lua_tointegerx(L, idx, &isint);
        if (!isint)
            lsspi_opt_error(L, arg, what, "flag mask has no integer representation");
        if (v < 0 || v > (lua_Integer)UINT32_MAX)
            lsspi_opt_error(L, arg, what, "flag mask out of 32-bit range");
        return (uint32_t)v;
    }
    return (uint32_t)lsspi_opt_error(
        L, arg, what,
        lua_pushfstring(L, "flag name or integer expected, got %s", luaL_typename(L, idx)));
}

uint32_t lsspi_check_mask(lua_State *L, int idx, int arg, const char *what,
                          const lsspi_mask_names *names)
{
    uint32_t mask = 0;
    lua_Integer i, n;
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE)
        return flag_item(L, idx, arg, what, names);
    n = (lua_Integer)lua_rawlen(L, idx);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        mask |= flag_item(L, -1, arg, what, names);
        lua_pop(L, 1);
    }
    return mask;
}

uint32_t lsspi_check_flags(lua_State *L, int idx, int arg, const char *what, sspi_flag_kind kind)
{
    lsspi_mask_names names;
    names.table = sspi_flag_table(kind);
    names.prefix = names.label = sspi_flag_prefix(kind);
    return lsspi_check_mask(L, idx, arg, what, &names);
}

/***
 * The names of the bits set in a mask.
 * Names come in the order of the table (Windows' order, lowest bit first);
 * a set bit no name covers is reported as a hex name like "0x00800000", one
 * per bit.
 * @function flag_names
 * @tparam integer mask
 * @tparam string kind "ISC_REQ" | "ISC_RET" | "ASC_REQ" | "ASC_RET" | "SCH_CRED"
 * @treturn {string,...} names, e.g. {"ISC_RET_MUTUAL_AUTH", "ISC_RET_CONFIDENTIALITY"}
 * @usage print(table.concat(sspi.flag_names(res.flags, "ISC_RET"), " "))
 */
static int l_flag_names(lua_State *L)
{
    uint32_t mask = check_mask(L, 1);
    sspi_flag_kind kind = kinds[luaL_checkoption(L, 2, NULL, kind_names)];
    const sspi_flag_info *row;
    uint32_t covered = 0, rest, bit;
    lua_Integer n = 0;
    lua_newtable(L);
    for (row = sspi_flag_table(kind); row->name; row++) {
        if (row->value != 0 && (mask & row->value) == row->value) {
            lua_pushstring(L, row->name);
            lua_rawseti(L, -2, ++n);
            covered |= row->value;
        }
    }
    rest = mask & ~covered;
    for (bit = 1; rest != 0; bit <<= 1) {
        if (rest & bit) {
            char hex[16];
            snprintf(hex, sizeof hex, "0x%08X", (unsigned)bit);
            lua_pushstring(L, hex);
            lua_rawseti(L, -2, ++n);
            rest &= ~bit;
        }
    }
    return 1;
}

/***
 * The stable name of a status code.
 * @function status_name
 * @tparam integer code an SSPI status (sspi.SEC_E_LOGON_DENIED)
 * @treturn string "SEC_E_LOGON_DENIED" ("SEC_E_UNKNOWN", or "SEC_I_UNKNOWN" for a success code, when not in the table)
 * @treturn string the table's human text for it, or nil when unknown
 */
static int l_status_name(lua_State *L)
{
    lua_Integer v = luaL_checkinteger(L, 1);
    const sspi_status_info *row;
    luaL_argcheck(L, v >= 0 && v <= (lua_Integer)UINT32_MAX, 1, "status out of 32-bit range");
    lua_pushstring(L, sspi_status_name((sspi_status)v));
    row = sspi_status_lookup((sspi_status)v);
    if (row)
        lua_pushstring(L, row->message);
    else
        lua_pushnil(L);
    return 2;
}

static void set_names(lua_State *L, const sspi_flag_info *row)
{
    for (; row && row->name; row++) {
        lua_pushinteger(L, (lua_Integer)row->value);
        lua_setfield(L, -2, row->name);
    }
}

/* Fills the module table on the top of the stack. */
void lsspi_open_constants(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"flag_names", l_flag_names},
        {"status_name", l_status_name},
        {NULL, NULL},
    };
    const sspi_status_info *st;
    size_t k;
    for (k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        set_names(L, sspi_flag_table(kinds[k]));
    for (st = sspi_status_table(); st->name; st++) {
        lua_pushinteger(L, (lua_Integer)st->code);
        lua_setfield(L, -2, st->name);
    }
    set_names(L, sspi_buffer_type_table());
    set_names(L, sspi_buffer_flag_table());
    set_names(L, sspi_constant_table());
    luaL_setfuncs(L, functions, 0);
}
