#ifndef TTM_CPU_FEATURES_H
#define TTM_CPU_FEATURES_H

/// 1 when this CPU, and the OS's saving of its vector registers, support the AVX-512 subsets of x86-64-v4
/// (F, CD, BW, DQ, VL); 0 otherwise, and on other architectures.
int ttm_cpu_supports_avx512(void);

#endif
