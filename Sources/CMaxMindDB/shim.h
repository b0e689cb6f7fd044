#ifndef GEOFRONT_CMAXMINDDB_SHIM_H
#define GEOFRONT_CMAXMINDDB_SHIM_H

#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#endif
