// zlib for gzip-compressed inputs (IDX files as distributed). Nothing to adapt: its API imports as is.
#ifndef TTM_CZLIB_SHIM_H
#define TTM_CZLIB_SHIM_H
#include <zlib.h>
#endif
