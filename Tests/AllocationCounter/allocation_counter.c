// glibc lets a program replace malloc by defining malloc, free, calloc and realloc (and the aligned
// variants) in the main program ("Replacing malloc" in the glibc manual). Linked into the test executable,
// these count every allocation of the process, including the Swift runtime's, and hand the work to glibc's
// own allocator through its __libc_* entry points.
//
// Not counted: allocations whose immediate caller is libdispatch or the dynamic loader. libdispatch grows and
// trims its worker pool on its own schedule; when it starts a thread, pthread_create's TLS block (allocated by
// ld.so) and the new worker's continuation cache (by libdispatch) land in whatever step is being counted. Seen
// in about 1 run in 30 while a concurrentPerform-based engine test ran, or just after one. Those belong to the
// thread pool, not to the training step; everything our code, the Swift runtime or OpenBLAS asks for still counts.
#define _GNU_SOURCE
#include "allocation_counter.h"
#include <errno.h>
#include <link.h>
#include <string.h>
#include <stdatomic.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_int counting;
static atomic_long allocations;

enum { maximumRanges = 16 };
static struct { unsigned long start, end; } ignoredCode[maximumRanges];
static atomic_int ignoredCount;

static int ignoresLibrary(const char *path) {
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    return strncmp(name, "libdispatch.so", 14) == 0 || strncmp(name, "ld-linux", 8) == 0;
}

// Records the executable segments of libdispatch and ld.so (dl_iterate_phdr allocates nothing).
static int findIgnoredCode(struct dl_phdr_info *info, size_t size, void *unused) {
    (void)size; (void)unused;
    if (!info->dlpi_name || !ignoresLibrary(info->dlpi_name)) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        int count = atomic_load(&ignoredCount);
        if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X) || count == maximumRanges) continue;
        ignoredCode[count].start = info->dlpi_addr + segment->p_vaddr;
        ignoredCode[count].end = ignoredCode[count].start + segment->p_memsz;
        atomic_store(&ignoredCount, count + 1);
    }
    return 0;
}

static inline void note(const void *caller) {
    if (!atomic_load_explicit(&counting, memory_order_relaxed)) return;
    unsigned long address = (unsigned long)caller;
    int count = atomic_load_explicit(&ignoredCount, memory_order_relaxed);
    for (int i = 0; i < count; i++)
        if (address >= ignoredCode[i].start && address < ignoredCode[i].end) return;
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
}

void ttm_allocation_counting(int enabled) {
    if (enabled) {
        if (atomic_load(&ignoredCount) == 0) dl_iterate_phdr(findIgnoredCode, NULL);
        atomic_store(&allocations, 0);
    }
    atomic_store(&counting, enabled);
}

long ttm_allocation_count(void) { return atomic_load(&allocations); }

void *malloc(size_t size) { note(__builtin_return_address(0)); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { note(__builtin_return_address(0)); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { note(__builtin_return_address(0)); return __libc_realloc(pointer, size); }
void free(void *pointer) { __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) { note(__builtin_return_address(0)); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(__builtin_return_address(0)); return __libc_memalign(alignment, size); }

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    note(__builtin_return_address(0));
    void *pointer = __libc_memalign(alignment, size);
    if (!pointer) return ENOMEM;
    *result = pointer;
    return 0;
}
