/*
 * gss_flags.c - ISC_REQ / ASC_REQ flags to GSS request flags, and GSS
 * return flags back to ISC_RET / ASC_RET, in tables.
 *
 * Flags with no GSS meaning (ALLOCATE_MEMORY is the core's, DATAGRAM and
 * STREAM have no GSS form) are not sent.  The connection-oriented ones are
 * echoed when asked, as Windows does: a GSS context is a connection.
 */
#include "gss_private.h"

typedef struct flag_pair {
    uint32_t sspi;
    OM_uint32 gss;
} flag_pair;

static const flag_pair isc_map[] = {
    {ISC_REQ_DELEGATE, GSS_C_DELEG_FLAG},
    {ISC_REQ_MUTUAL_AUTH, GSS_C_MUTUAL_FLAG},
    {ISC_REQ_REPLAY_DETECT, GSS_C_REPLAY_FLAG},
    {ISC_REQ_SEQUENCE_DETECT, GSS_C_SEQUENCE_FLAG},
    {ISC_REQ_CONFIDENTIALITY, GSS_C_CONF_FLAG},
    {ISC_REQ_INTEGRITY, GSS_C_INTEG_FLAG},
    {ISC_REQ_USE_DCE_STYLE, GSS_C_DCE_STYLE},
    {ISC_REQ_IDENTIFY, GSS_C_IDENTIFY_FLAG},
    {ISC_REQ_EXTENDED_ERROR, GSS_C_EXTENDED_ERROR_FLAG},
};

/* ISC_RET has the same bits for the first five; the rest differ. */
static const flag_pair isc_ret_map[] = {
    {ISC_RET_DELEGATE, GSS_C_DELEG_FLAG},
    {ISC_RET_MUTUAL_AUTH, GSS_C_MUTUAL_FLAG},
    {ISC_RET_REPLAY_DETECT, GSS_C_REPLAY_FLAG},
    {ISC_RET_SEQUENCE_DETECT, GSS_C_SEQUENCE_FLAG},
    {ISC_RET_CONFIDENTIALITY, GSS_C_CONF_FLAG},
    {ISC_RET_INTEGRITY, GSS_C_INTEG_FLAG},
    {ISC_RET_USED_DCE_STYLE, GSS_C_DCE_STYLE},
    {ISC_RET_IDENTIFY, GSS_C_IDENTIFY_FLAG},
    {ISC_RET_EXTENDED_ERROR, GSS_C_EXTENDED_ERROR_FLAG},
    {ISC_RET_NULL_SESSION, GSS_C_ANON_FLAG},
};

static const flag_pair asc_ret_map[] = {
    {ASC_RET_DELEGATE, GSS_C_DELEG_FLAG},
    {ASC_RET_MUTUAL_AUTH, GSS_C_MUTUAL_FLAG},
    {ASC_RET_REPLAY_DETECT, GSS_C_REPLAY_FLAG},
    {ASC_RET_SEQUENCE_DETECT, GSS_C_SEQUENCE_FLAG},
    {ASC_RET_CONFIDENTIALITY, GSS_C_CONF_FLAG},
    {ASC_RET_INTEGRITY, GSS_C_INTEG_FLAG},
    {ASC_RET_USED_DCE_STYLE, GSS_C_DCE_STYLE},
    {ASC_RET_IDENTIFY, GSS_C_IDENTIFY_FLAG},
    {ASC_RET_EXTENDED_ERROR, GSS_C_EXTENDED_ERROR_FLAG},
    {ASC_RET_NULL_SESSION, GSS_C_ANON_FLAG},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The bits of one side for the bits of the other set in flags: to the GSS
 * side (to_gss != 0) or back to the SSPI side. */
static uint32_t map_flags(const flag_pair *map, size_t n, uint32_t flags, int to_gss)
{
    uint32_t out = 0;
    size_t i;
    for (i = 0; i < n; i++)
        if (flags & (to_gss ? map[i].sspi : map[i].gss))
            out |= to_gss ? map[i].gss : map[i].sspi;
    return out;
}

OM_uint32 sspi_gss_req_flags(uint32_t isc_req, int delegate_always)
{
    OM_uint32 gss = map_flags(isc_map, COUNT(isc_map), isc_req, 1);
    /* Windows delegates only to targets the KDC marks ok-as-delegate. */
    if ((isc_req & ISC_REQ_DELEGATE) && !delegate_always)
        gss = (gss & ~(OM_uint32)GSS_C_DELEG_FLAG) | GSS_C_DELEG_POLICY_FLAG;
    /* Windows: NO_INTEGRITY overrides INTEGRITY; Kerberos cannot seal
     * without integrity, so confidentiality goes too. */
    if (isc_req & ISC_REQ_NO_INTEGRITY)
        gss &= ~(OM_uint32)(GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG);
    return gss;
}

uint32_t sspi_gss_isc_ret(OM_uint32 gss_flags, uint32_t isc_req)
{
    uint32_t ret = map_flags(isc_ret_map, COUNT(isc_ret_map), gss_flags, 0);
    if (isc_req & ISC_REQ_CONNECTION)
        ret |= ISC_RET_CONNECTION;
    if (isc_req & ISC_REQ_NO_INTEGRITY)
        ret &= ~(ISC_RET_INTEGRITY | ISC_RET_CONFIDENTIALITY);
    return ret;
}

uint32_t sspi_gss_asc_ret(OM_uint32 gss_flags, uint32_t asc_req, int delegated)
{
    uint32_t ret = map_flags(asc_ret_map, COUNT(asc_ret_map), gss_flags, 0);
    /* The flag says the client asked; SSPI reports a credential we hold. */
    if (!delegated)
        ret &= ~ASC_RET_DELEGATE;
    if (asc_req & ASC_REQ_CONNECTION)
        ret |= ASC_RET_CONNECTION;
    return ret;
}
