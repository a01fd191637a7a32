/*
 * fuzz_tls.h - what the Schannel fuzz targets share: a TLS server identity
 * made in memory (no files, no clock beyond "now") and the credentials of
 * a server with it and of a client that trusts any server.
 */
#ifndef SSPI_FUZZ_TLS_H
#define SSPI_FUZZ_TLS_H

#include <stdint.h>

#include "providers/schannel/schannel.h"

/* A P-256 key and a self-signed certificate for "localhost", as PEM text
 * the caller frees.  Aborts on failure. */
void sspi_fuzz_tls_identity(char **cert_pem, char **key_pem);

/* A server credential with that identity and a client credential that does
 * not verify, both limited to protocols (SP_PROT_*, 0: TLS 1.2 and 1.3).
 * Aborts on failure. */
void sspi_fuzz_tls_creds(const char *cert_pem, const char *key_pem, uint32_t protocols,
                         sch_cred **server, sch_cred **client);

#endif /* SSPI_FUZZ_TLS_H */
