#include "CJemallocConfig.h"

// One arena instead of four per CPU (each keeps its own metadata and partly used pages: 14 MiB
// more at rest than glibc with the defaults), thread caches for sizes up to 4 KiB, and unused
// pages given back within a second instead of ten. Measured with scripts/bench-idle-memory and the
// cache's miss-only load (docs/benchmarks.md).
const char *malloc_conf = "narenas:1,tcache_max:4096,dirty_decay_ms:1000,muzzy_decay_ms:0";
