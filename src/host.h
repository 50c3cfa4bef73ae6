/*
 * host.h - the one place in src/ that knows about the compiler and the host.
 *
 * The engine is freestanding C11: it includes only <stddef.h>, <stdint.h>
 * and <stdbool.h> and calls no library function.  What it needs from the
 * compiler is collected here, each with a portable fallback.
 */
#ifndef ANALLOC_HOST_H
#define ANALLOC_HOST_H

#if defined(__GNUC__) || defined(__clang__)
#define ANALLOC_LIKELY(x) __builtin_expect(!!(x), 1)
#define ANALLOC_UNLIKELY(x) __builtin_expect(!!(x), 0)
/*
 * Hide a value from the optimiser.  Used inside copy and fill loops: GCC and
 * clang otherwise turn such loops into calls to memcpy and memset, which a
 * kernel linking this code may not provide.
 */
#define ANALLOC_OPAQUE(x) __asm__("" : "+r"(x))
/* For the few helpers on the hot paths that have several callers, which the
 * compiler would otherwise call: measured with callgrind, 46 instructions
 * per free + alloc pair. */
#define ANALLOC_INLINE inline __attribute__((always_inline))
/* Functions shared between the engine's files: not exported from a shared
 * library (the symbol check allows only the public prefixes). */
#define ANALLOC_HIDDEN __attribute__((visibility("hidden")))
/* Slow paths kept out of the inlined hot ones. */
#define ANALLOC_NOINLINE __attribute__((noinline))
#else
#define ANALLOC_HIDDEN
#define ANALLOC_NOINLINE
#define ANALLOC_INLINE inline
#define ANALLOC_LIKELY(x) (x)
#define ANALLOC_UNLIKELY(x) (x)
#define ANALLOC_OPAQUE(x) ((void)0)
#endif

/*
 * ANALLOC_ASSERT(cond) states an internal invariant.  It compiles to nothing
 * unless ANALLOC_DEBUG is defined, when a broken invariant traps.  A kernel
 * may define ANALLOC_ASSERT before compiling src/ (to its BUG_ON, say).
 * Bad input from callers is never asserted: it returns an error code.
 */
#ifndef ANALLOC_ASSERT
#if defined(ANALLOC_DEBUG) && (defined(__GNUC__) || defined(__clang__))
#define ANALLOC_ASSERT(c) ((c) ? (void)0 : __builtin_trap())
#elif defined(ANALLOC_DEBUG)
#error "ANALLOC_DEBUG: this compiler has no __builtin_trap; define ANALLOC_ASSERT(c) yourself"
#else
#define ANALLOC_ASSERT(c) ((void)sizeof(!(c))) /* not evaluated, still type-checked */
#endif
#endif

/*
 * ANALLOC_ALWAYS(x) and ANALLOC_NEVER(x) wrap the conditions of defensive
 * branches that cannot be taken as long as the engine's invariants hold (as
 * SQLite's ALWAYS and NEVER do).  x must have no side effect.  Normally they are just (x).  Under
 * ANALLOC_DEBUG a wrong guess traps.  Under ANALLOC_COVERAGE they become
 * constants, so that coverage counts only branches that input can reach.
 */
#if defined(ANALLOC_COVERAGE)
#define ANALLOC_ALWAYS(x) ((void)(x), 1)
#define ANALLOC_NEVER(x) ((void)(x), 0)
#elif defined(ANALLOC_DEBUG)
#define ANALLOC_ALWAYS(x) ((x) ? 1 : (ANALLOC_ASSERT(0), 0))
#define ANALLOC_NEVER(x) ((x) ? (ANALLOC_ASSERT(0), 1) : 0)
#else
#define ANALLOC_ALWAYS(x) (x)
#define ANALLOC_NEVER(x) (x)
#endif

/*
 * Sanitizer annotations for user-space builds that define ANALLOC_ANNOTATE
 * (analloc_set_debug's ANALLOC_DEBUG_ANNOTATE): with AddressSanitizer, free
 * memory is poisoned, so a use after free of a block handed out by analloc is
 * reported; otherwise valgrind's client requests mark it inaccessible (the
 * macros are inline asm, no library).  Kernels leave ANALLOC_ANNOTATE unset.
 */
#if defined(ANALLOC_ANNOTATE)
#if defined(__SANITIZE_ADDRESS__)
#define ANALLOC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ANALLOC_ASAN 1
#endif
#endif
#if defined(ANALLOC_ASAN)
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define ANALLOC_ANNOTATE_FREE(p, n) __asan_poison_memory_region((p), (n))
#define ANALLOC_ANNOTATE_USE(p, n) __asan_unpoison_memory_region((p), (n))
#else
#include <valgrind/memcheck.h>
#define ANALLOC_ANNOTATE_FREE(p, n) ((void)VALGRIND_MAKE_MEM_NOACCESS((p), (n)))
#define ANALLOC_ANNOTATE_USE(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
#endif
#define ANALLOC_CAN_ANNOTATE 1
#else
#define ANALLOC_ANNOTATE_FREE(p, n) ((void)(p), (void)(n))
#define ANALLOC_ANNOTATE_USE(p, n) ((void)(p), (void)(n))
#define ANALLOC_CAN_ANNOTATE 0
#endif

/*
 * Atomic operations for the per-CPU stores (include/analloc.h), which run
 * without the allocator's lock: the GCC and Clang builtins, which compile to
 * plain loads and stores for the relaxed ones and need no library on a
 * target where 32- and 64-bit operations are lock-free.  ANALLOC_STORES is 1
 * on 64-bit targets with them; elsewhere (32-bit targets, where a 64-bit
 * atomic is a library call or a slow sequence) the stores are left out and
 * the per-CPU calls are the allocator's own.  A kernel may define
 * ANALLOC_STORES to 0 to leave them out.
 */
#ifndef ANALLOC_STORES
#if (defined(__GNUC__) || defined(__clang__)) && defined(__SIZEOF_POINTER__) &&              \
    __SIZEOF_POINTER__ == 8 && defined(__GCC_ATOMIC_INT_LOCK_FREE) &&                      \
    __GCC_ATOMIC_INT_LOCK_FREE == 2 && __GCC_ATOMIC_LLONG_LOCK_FREE == 2
#define ANALLOC_STORES 1
#else
#define ANALLOC_STORES 0
#endif
#endif

#if ANALLOC_STORES
#define an_load(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define an_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define an_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define an_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define an_fence_acquire() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define an_fence_release() __atomic_thread_fence(__ATOMIC_RELEASE)
#define an_cas_acquire(p, expected, v)                                                      \
    __atomic_compare_exchange_n((p), (expected), (v), false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)
#define an_and_release(p, v) __atomic_fetch_and((p), (v), __ATOMIC_RELEASE)
#if defined(__x86_64__) || defined(__i386__)
#define an_spin_pause() __builtin_ia32_pause()
#else
#define an_spin_pause() ((void)0)
#endif
#else
#define an_load(p) (*(p))
#define an_store(p, v) (*(p) = (v))
#endif

#endif /* ANALLOC_HOST_H */
