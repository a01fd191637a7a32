/*
 * toy_provider.h - the test-only "Toy" package (spec/c/toy_provider.c).
 * Never part of build/lua/sspi/core.so or libsspi.a: only the test module
 * build/lua/sspi_toy.so registers it (see the Makefile and docs/design.md).
 */
#ifndef SSPI_TOY_PROVIDER_H
#define SSPI_TOY_PROVIDER_H

#include "core/internal.h"

extern const sspi_provider sspi_toy_provider;

#endif
