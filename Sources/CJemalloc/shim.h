#ifndef GEOFRONT_CJEMALLOC_SHIM_H
#define GEOFRONT_CJEMALLOC_SHIM_H

// Linking jemalloc makes it the process's malloc (it is loaded before libc, so its malloc, free
// and realloc are the ones every library calls). Only its control interface is used by name.
#include <jemalloc/jemalloc.h>

#endif
