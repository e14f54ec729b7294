// OpenBLAS's CBLAS header (Debian: /usr/include/x86_64-linux-gnu/openblas-pthread, found through pkg-config).
#ifndef TTM_CBLAS_SHIM_H
#define TTM_CBLAS_SHIM_H
#include <cblas.h>
#include <xmmintrin.h>

/* MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6) for the calling thread. */
static inline void ttm_flush_subnormals(int on) { _mm_setcsr(on ? (_mm_getcsr() | 0x8040) : (_mm_getcsr() & ~0x8040u)); }
static inline int ttm_subnormals_flushed(void) { return (_mm_getcsr() & 0x8040) == 0x8040; }
#endif
