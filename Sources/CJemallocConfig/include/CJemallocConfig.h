#ifndef GEOFRONT_CJEMALLOC_CONFIG_H
#define GEOFRONT_CJEMALLOC_CONFIG_H

/// jemalloc's settings for the geofront process (defined in jemalloc_config.c; jemalloc reads the
/// symbol at start-up). `MALLOC_CONF` in the environment still overrides them.
// (Not exported to Swift: nothing reads it but jemalloc.)

#endif
