#ifndef GEOFRONT_COPENSSLCRYPTO_SHIM_H
#define GEOFRONT_COPENSSLCRYPTO_SHIM_H

// The system's libcrypto (OpenSSL 3), used to sign TLS handshakes with RSA keys (swift-nio-ssl's
// BoringSSL has no AVX-512 IFMA RSA code and signs RSA-2048 about twice as slowly on CPUs that
// have it: docs/benchmarks.md, "HTTPS") and for the affinity cookie's HMAC-SHA256 (GeoFrontCore).
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#endif
