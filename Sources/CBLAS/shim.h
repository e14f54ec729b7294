// OpenBLAS's CBLAS header (Debian: /usr/include/x86_64-linux-gnu/openblas-pthread, found through pkg-config).
#ifndef TTM_CBLAS_SHIM_H
#define TTM_CBLAS_SHIM_H
#include <cblas.h>
#endif
