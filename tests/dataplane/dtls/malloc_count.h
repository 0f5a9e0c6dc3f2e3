/* Test helper: counts calls to the allocator while `counting` is set, by interposing malloc and
 * friends over glibc's. Only in the plain build: under ASan the sanitizer owns the allocator, and
 * tests using this skip themselves (MALLOC_COUNT_AVAILABLE is 0). One includer per test binary. */
#ifndef EMSE_TEST_MALLOC_COUNT_H
#define EMSE_TEST_MALLOC_COUNT_H

#include <stddef.h>

#ifdef __SANITIZE_ADDRESS__
#define MALLOC_COUNT_AVAILABLE 0
static volatile int counting;
static volatile unsigned long n_alloc;
#else
#define MALLOC_COUNT_AVAILABLE 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static volatile int counting; /* volatile: gcc assumes malloc reads no globals */
static volatile unsigned long n_alloc;
void *malloc(size_t n)
{
	n_alloc += counting;
	return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
	n_alloc += counting;
	return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
	n_alloc += counting;
	return __libc_realloc(p, n);
}
void free(void *p)
{
	n_alloc += counting && p;
	__libc_free(p);
}
#endif

#endif
