#include "cpu_features.h"

int ttm_cpu_supports_avx512(void) {
#if defined(__x86_64__)
    // The compiler runtime's CPUID reading also checks XCR0, so a kernel that does not save the 512-bit
    // registers reports no AVX-512.
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2")
        && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2");
#else
    return 0;
#endif
}
