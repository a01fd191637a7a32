/*
 * oids.h - the GSS mechanism OIDs the packages share, as DER content
 * octets (no tag, no length), written once: the SPNEGO framing, the
 * Negotiate provider's mechanism lists, the registry's mech_oid of each
 * provider and the GSSAPI provider's gss_OID_desc all use these.
 *
 *   static const unsigned char ntlm_oid[] = {SSPI_OID_NTLM};
 */
#ifndef SSPI_CORE_OIDS_H
#define SSPI_CORE_OIDS_H

/* 1.3.6.1.5.5.2: SPNEGO (RFC 4178), the Negotiate package */
#define SSPI_OID_SPNEGO 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02
/* 1.3.6.1.4.1.311.2.2.10: NTLMSSP (MS-NLMP) */
#define SSPI_OID_NTLM 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a
/* 1.2.840.113554.1.2.2: Kerberos 5 (RFC 4121) */
#define SSPI_OID_KRB5 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02
/* 1.2.840.48018.1.2.2: Kerberos 5 as Windows 2000 spelled it (MS-KILE) */
#define SSPI_OID_MS_KRB5 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02

#endif /* SSPI_CORE_OIDS_H */
