/*
 * gss_names.c - SSPI names to GSS names and back.
 *
 * SSPI targets are SPNs: "HTTP/web.example.test" (service/host) becomes
 * the host-based service "HTTP@web.example.test", so the realm comes from
 * [domain_realm] as it would for any GSSAPI program.  A full principal
 * ("HTTP/web@REALM": an '@' after the '/'), or an SPN with a port or a
 * third component ("MSSQLSvc/db:1433", "ldap/dc/domain"), is a Kerberos
 * principal name.  A name without '/' is taken in GSS form ("HTTP@web").
 */
#include <string.h>

#include "gss_private.h"

static sspi_status import(const char *text, size_t len, gss_const_OID type, gss_name_t *out,
                          const char *what, sspi_error *err)
{
    OM_uint32 major, minor;
    gss_buffer_desc buf;
    buf.value = (void *)text;
    buf.length = len;
    major = gss_import_name(&minor, &buf, (gss_OID)type, out);
    if (GSS_ERROR(major)) {
        *out = GSS_C_NO_NAME;
        return sspi_gss_fail_as(err, SEC_E_TARGET_UNKNOWN, what, major, minor, GSS_C_NO_OID);
    }
    return SEC_E_OK;
}

sspi_status sspi_gss_import_target(const char *target, gss_name_t *out, sspi_error *err)
{
    const char *slash, *host;
    size_t host_len, service_len;
    char hostbased[1024];

    *out = GSS_C_NO_NAME;
    if (target == NULL || target[0] == '\0')
        return sspi_error_set(err, SEC_E_TARGET_UNKNOWN,
                              "no target name: give the service as \"service/host\"");
    slash = strchr(target, '/');
    if (slash == NULL)
        return import(target, strlen(target), GSS_C_NT_HOSTBASED_SERVICE, out,
                      "importing the target name", err);
    host = slash + 1;
    host_len = strlen(host);
    service_len = (size_t)(slash - target);
    if (service_len == 0 || host_len == 0 || strpbrk(host, "@/:") != NULL ||
        service_len + host_len + 2 > sizeof hostbased)
        return import(target, strlen(target), GSS_KRB5_NT_PRINCIPAL_NAME, out,
                      "importing the target principal", err);
    memcpy(hostbased, target, service_len);
    hostbased[service_len] = '@';
    memcpy(hostbased + service_len + 1, host, host_len + 1);
    return import(hostbased, service_len + 1 + host_len, GSS_C_NT_HOSTBASED_SERVICE, out,
                  "importing the target name", err);
}

sspi_status sspi_gss_import_user(const char *user, gss_name_t *out, sspi_error *err)
{
    sspi_status st = import(user, strlen(user), GSS_C_NT_USER_NAME, out, "importing the user name",
                            err);
    if (st != SEC_E_OK && err)
        err->status = st = SEC_E_UNKNOWN_CREDENTIALS;
    return st;
}

sspi_status sspi_gss_display_name(const sspi_allocator *alloc, gss_name_t name, char **dst,
                                  sspi_error *err)
{
    OM_uint32 major, minor;
    gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
    char *copy;

    if (name == GSS_C_NO_NAME)
        return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "no name known yet");
    major = gss_display_name(&minor, name, &text, NULL);
    if (GSS_ERROR(major))
        return sspi_gss_fail(err, "displaying a name", major, minor, GSS_C_NO_OID);
    copy = sspi_mem_alloc(alloc, text.length + 1);
    if (copy == NULL) {
        gss_release_buffer(&minor, &text);
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "name: out of memory");
    }
    memcpy(copy, text.value, text.length);
    copy[text.length] = '\0';
    gss_release_buffer(&minor, &text);
    sspi_mem_strfree(alloc, dst);
    *dst = copy;
    return SEC_E_OK;
}
