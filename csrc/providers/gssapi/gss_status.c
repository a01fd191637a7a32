/*
 * gss_status.c - GSS major/minor status to SSPI status, in one table, and
 * the error text: gss_display_status of the major and of the minor (for the
 * mechanism that produced it), so a caller sees what MIT said.
 *
 * The major status decides, except where GSSAPI lumps many causes into one
 * routine error (GSS_S_FAILURE, GSS_S_NO_CRED, ...): there the Kerberos
 * minor code says what Windows would have said (bad password, KDC down,
 * unknown service ...).
 */
#include <stdio.h>
#include <string.h>

#include <krb5/krb5.h>

#include "gss_private.h"

/* Routine errors, indexed by GSS_ROUTINE_ERROR(major) >> GSS_C_ROUTINE_ERROR_OFFSET. */
static const sspi_status routine_status[] = {
    SEC_E_OK,                   /* 0: no routine error */
    SEC_E_SECPKG_NOT_FOUND,     /* 1 GSS_S_BAD_MECH */
    SEC_E_TARGET_UNKNOWN,       /* 2 GSS_S_BAD_NAME */
    SEC_E_TARGET_UNKNOWN,       /* 3 GSS_S_BAD_NAMETYPE */
    SEC_E_BAD_BINDINGS,         /* 4 GSS_S_BAD_BINDINGS */
    SEC_E_INVALID_PARAMETER,    /* 5 GSS_S_BAD_STATUS */
    SEC_E_MESSAGE_ALTERED,      /* 6 GSS_S_BAD_SIG / GSS_S_BAD_MIC */
    SEC_E_NO_CREDENTIALS,       /* 7 GSS_S_NO_CRED */
    SEC_E_INVALID_HANDLE,       /* 8 GSS_S_NO_CONTEXT */
    SEC_E_INVALID_TOKEN,        /* 9 GSS_S_DEFECTIVE_TOKEN */
    SEC_E_LOGON_DENIED,         /* 10 GSS_S_DEFECTIVE_CREDENTIAL */
    SEC_E_NO_CREDENTIALS,       /* 11 GSS_S_CREDENTIALS_EXPIRED: an expired TGT is no TGT */
    SEC_E_CONTEXT_EXPIRED,      /* 12 GSS_S_CONTEXT_EXPIRED */
    SEC_E_INTERNAL_ERROR,       /* 13 GSS_S_FAILURE (refined by the minor code) */
    SEC_E_QOP_NOT_SUPPORTED,    /* 14 GSS_S_BAD_QOP */
    SEC_E_LOGON_DENIED,         /* 15 GSS_S_UNAUTHORIZED */
    SEC_E_UNSUPPORTED_FUNCTION, /* 16 GSS_S_UNAVAILABLE */
    SEC_E_INVALID_PARAMETER,    /* 17 GSS_S_DUPLICATE_ELEMENT */
    SEC_E_INTERNAL_ERROR,       /* 18 GSS_S_NAME_NOT_MN */
    SEC_E_SECPKG_NOT_FOUND,     /* 19 GSS_S_BAD_MECH_ATTR */
};

/* Kerberos minor codes that say more than the major. */
typedef struct minor_row {
    long code;
    sspi_status status;
} minor_row;

static const minor_row krb5_minor_status[] = {
    {KRB5KDC_ERR_PREAUTH_FAILED, SEC_E_LOGON_DENIED},
    {KRB5KRB_AP_ERR_BAD_INTEGRITY, SEC_E_LOGON_DENIED},
    {KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN, SEC_E_LOGON_DENIED},
    {KRB5KDC_ERR_CLIENT_REVOKED, SEC_E_LOGON_DENIED},
    {KRB5KDC_ERR_KEY_EXP, SEC_E_LOGON_DENIED},
    {KRB5_PREAUTH_FAILED, SEC_E_LOGON_DENIED},
    {KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN, SEC_E_TARGET_UNKNOWN},
    {KRB5_KDC_UNREACH, SEC_E_NO_AUTHENTICATING_AUTHORITY},
    {KRB5_REALM_UNKNOWN, SEC_E_NO_AUTHENTICATING_AUTHORITY},
    {KRB5_REALM_CANT_RESOLVE, SEC_E_NO_AUTHENTICATING_AUTHORITY},
    {KRB5_FCC_NOFILE, SEC_E_NO_CREDENTIALS},
    {KRB5_CC_NOTFOUND, SEC_E_NO_CREDENTIALS},
    {KRB5_CC_NOSUPP, SEC_E_NO_CREDENTIALS},
    {KRB5_CC_END, SEC_E_NO_CREDENTIALS},
    {KRB5_KT_NOTFOUND, SEC_E_NO_CREDENTIALS},
    {KRB5_KT_END, SEC_E_NO_CREDENTIALS},
    {KRB5KRB_AP_ERR_TKT_EXPIRED, SEC_E_CONTEXT_EXPIRED},
    {KRB5KRB_AP_ERR_SKEW, SEC_E_TIME_SKEW},
    {KRB5KRB_AP_ERR_BADMATCH, SEC_E_WRONG_PRINCIPAL},
    {KRB5KRB_AP_WRONG_PRINC, SEC_E_WRONG_PRINCIPAL},
    {KRB5KRB_AP_ERR_NOT_US, SEC_E_WRONG_PRINCIPAL},
    {KRB5KRB_AP_ERR_MODIFIED, SEC_E_LOGON_DENIED},
    {KRB5KRB_AP_ERR_REPEAT, SEC_E_OUT_OF_SEQUENCE},
    {KRB5KDC_ERR_ETYPE_NOSUPP, SEC_E_KDC_UNKNOWN_ETYPE},
    {KRB5_BAD_ENCTYPE, SEC_E_ALGORITHM_MISMATCH},
    {KRB5KDC_ERR_BADOPTION, SEC_E_DELEGATION_POLICY},
};

/* Minor codes of the other causes: the system errno of a missing file. */
static sspi_status refine_by_minor(sspi_status by_major, OM_uint32 routine, OM_uint32 minor)
{
    size_t i;
    long code = (long)(int32_t)minor; /* krb5 error codes are negative int32s */

    /* Only the catch-all routine errors are refined: a defective token or a
     * bad MIC is what it says whatever the mechanism adds. */
    if (routine != GSS_S_FAILURE && routine != GSS_S_NO_CRED &&
        routine != GSS_S_DEFECTIVE_CREDENTIAL && routine != GSS_S_CREDENTIALS_EXPIRED)
        return by_major;
    for (i = 0; i < sizeof krb5_minor_status / sizeof krb5_minor_status[0]; i++)
        if (krb5_minor_status[i].code == code)
            return krb5_minor_status[i].status;
    if (routine == GSS_S_FAILURE && minor == 12 /* ENOMEM */)
        return SEC_E_INSUFFICIENT_MEMORY;
    if (routine == GSS_S_FAILURE && minor == 2 /* ENOENT: no ccache, keytab, user file */)
        return SEC_E_NO_CREDENTIALS;
    return by_major;
}

sspi_status sspi_gss_map_status(OM_uint32 major, OM_uint32 minor)
{
    OM_uint32 routine = GSS_ROUTINE_ERROR(major);
    OM_uint32 index = routine >> GSS_C_ROUTINE_ERROR_OFFSET;

    if (GSS_CALLING_ERROR(major)) {
        if (GSS_CALLING_ERROR(major) == GSS_S_CALL_BAD_STRUCTURE)
            return SEC_E_INVALID_HANDLE;
        return SEC_E_INVALID_PARAMETER;
    }
    if (routine != 0) {
        sspi_status st = index < sizeof routine_status / sizeof routine_status[0]
                             ? routine_status[index]
                             : SEC_E_INTERNAL_ERROR;
        return refine_by_minor(st, routine, minor);
    }
    /* No error: only supplementary bits.  SSPI treats a message out of
     * order as a failure; GSSAPI only reports it. */
    if (major & SSPI_GSS_SEQUENCE_BITS)
        return SEC_E_OUT_OF_SEQUENCE;
    if (major & GSS_S_CONTINUE_NEEDED)
        return SEC_I_CONTINUE_NEEDED;
    return SEC_E_OK;
}

/* Appends gss_display_status text of one code to buf (at *pos). */
static void append_display(char *buf, size_t size, size_t *pos, OM_uint32 code, int type,
                           gss_const_OID mech)
{
    OM_uint32 msg_ctx = 0, maj, min;
    int first = 1;
    do {
        gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
        int n;
        maj = gss_display_status(&min, code, type, (gss_OID)mech, &msg_ctx, &text);
        if (GSS_ERROR(maj)) {
            n = snprintf(buf + *pos, size - *pos, "%scode %lu", first ? "" : "; ",
                         (unsigned long)code);
        } else {
            n = snprintf(buf + *pos, size - *pos, "%s%.*s", first ? "" : "; ", (int)text.length,
                         (const char *)text.value);
            gss_release_buffer(&min, &text);
        }
        if (n > 0)
            *pos += ((size_t)n < size - *pos) ? (size_t)n : size - *pos - 1;
        first = 0;
    } while (!GSS_ERROR(maj) && msg_ctx != 0 && *pos + 1 < size);
}

sspi_status sspi_gss_fail_as(sspi_error *err, sspi_status status, const char *what,
                             OM_uint32 major, OM_uint32 minor, gss_const_OID mech)
{
    char text[SSPI_ERROR_MESSAGE_MAX];
    size_t pos = 0;
    int n;

    if (err == NULL)
        return status;
    n = snprintf(text, sizeof text, "%s: ", what);
    if (n > 0)
        pos = (size_t)n < sizeof text ? (size_t)n : sizeof text - 1;
    if (GSS_ERROR(major)) {
        append_display(text, sizeof text, &pos, major, GSS_C_GSS_CODE, GSS_C_NO_OID);
    } else {
        /* Only supplementary bits (a sequence problem): name them. */
        n = snprintf(text + pos, sizeof text - pos, "%s%s%s%s",
                     (major & GSS_S_DUPLICATE_TOKEN) ? "duplicate message (replay)" : "",
                     (major & GSS_S_OLD_TOKEN) ? "; message too old" : "",
                     (major & GSS_S_UNSEQ_TOKEN) ? "; out of order (a later message was seen)"
                                                 : "",
                     (major & GSS_S_GAP_TOKEN) ? "; message(s) skipped" : "");
        if (n > 0)
            pos += (size_t)n < sizeof text - pos ? (size_t)n : sizeof text - pos - 1;
    }
    if (minor != 0) {
        /* The mechglue hands back a mapped minor even for a mechanism's 0,
         * which displays as "Success": leave that out. */
        char minor_text[SSPI_ERROR_MESSAGE_MAX / 2];
        size_t mpos = 0;
        append_display(minor_text, sizeof minor_text, &mpos, minor, GSS_C_MECH_CODE, mech);
        minor_text[mpos] = '\0';
        if (strcmp(minor_text, "Success") != 0) {
            n = snprintf(text + pos, sizeof text - pos, " (%s)", minor_text);
            if (n > 0)
                pos += (size_t)n < sizeof text - pos ? (size_t)n : sizeof text - pos - 1;
        }
    }
    text[pos < sizeof text ? pos : sizeof text - 1] = '\0';
    sspi_error_set(err, status, "%s", text);
    err->has_gss = 1;
    err->major = major;
    err->minor = minor;
    return status;
}

/* Under SPNEGO the mechglue hands back the inner mechanism's minor code
 * renumbered (a per-process table with no public way back), so the code
 * cannot be looked up; its display text still says what happened.  Only
 * these well-known MIT / gss-ntlmssp texts are trusted, and only for the
 * catch-all majors. */
static const struct {
    const char *text;
    sspi_status status;
} spnego_minor_text[] = {
    {"Server ", SEC_E_TARGET_UNKNOWN}, /* "Server X not found in Kerberos database" */
    {"Client ", SEC_E_LOGON_DENIED},   /* "Client 'X' not found in Kerberos database" */
    {"Preauthentication failed", SEC_E_LOGON_DENIED},
    {"Password incorrect", SEC_E_LOGON_DENIED},
    {"Decrypt integrity check failed", SEC_E_LOGON_DENIED},
    {"Cannot contact any KDC", SEC_E_NO_AUTHENTICATING_AUTHORITY},
    {"Cannot find KDC", SEC_E_NO_AUTHENTICATING_AUTHORITY},
    {"No credentials cache found", SEC_E_NO_CREDENTIALS},
    {"Invalid argument", SEC_E_LOGON_DENIED}, /* gss-ntlmssp: the NTLM response is wrong */
    {"Token header is malformed or corrupt", SEC_E_INVALID_TOKEN},
};

static sspi_status refine_spnego(sspi_status st, OM_uint32 major, OM_uint32 minor,
                                 gss_const_OID mech)
{
    char text[256];
    size_t pos = 0, i;
    OM_uint32 routine = GSS_ROUTINE_ERROR(major);
    if (minor == 0 || sspi_gss_mech_kind_of(mech) != SSPI_GSS_MECH_SPNEGO ||
        (routine != GSS_S_FAILURE && routine != GSS_S_NO_CRED))
        return st;
    append_display(text, sizeof text, &pos, minor, GSS_C_MECH_CODE, mech);
    text[pos] = '\0';
    for (i = 0; i < sizeof spnego_minor_text / sizeof spnego_minor_text[0]; i++) {
        const char *t = spnego_minor_text[i].text;
        if (strncmp(text, t, strlen(t)) == 0 &&
            (t[strlen(t) - 1] != ' ' || strstr(text, "not found in Kerberos database")))
            return spnego_minor_text[i].status;
    }
    return st;
}

int sspi_gss_minor_is_errno(OM_uint32 minor, gss_const_OID mech, int errnum)
{
    char text[256];
    size_t pos = 0;
    if (minor == (OM_uint32)errnum)
        return 1;
    if (minor == 0)
        return 0;
    append_display(text, sizeof text, &pos, minor, GSS_C_MECH_CODE, mech);
    text[pos] = '\0';
    return strcmp(text, strerror(errnum)) == 0;
}

sspi_status sspi_gss_fail(sspi_error *err, const char *what, OM_uint32 major, OM_uint32 minor,
                          gss_const_OID mech)
{
    sspi_status st = sspi_gss_map_status(major, minor);
    if (SSPI_SUCCESS(st))
        st = SEC_E_INTERNAL_ERROR; /* called for a failure that GSSAPI did not report */
    st = refine_spnego(st, major, minor, mech);
    return sspi_gss_fail_as(err, st, what, major, minor, mech);
}
