/*
 * fuzz_tls.h - what the Schannel fuzz targets share: a TLS server identity
 * made in memory (no files, no clock beyond "now").
 */
#ifndef SSPI_FUZZ_TLS_H
#define SSPI_FUZZ_TLS_H

/* A P-256 key and a self-signed certificate for "localhost", as PEM text
 * the caller frees.  Aborts on failure. */
void sspi_fuzz_tls_identity(char **cert_pem, char **key_pem);

#endif /* SSPI_FUZZ_TLS_H */
