/* Constant-time checking (make ct, tests/ct/): the harness builds the protocol code with
 * EMSE_CT_VALGRIND and runs it under Valgrind memcheck with the secrets (keys, PSK, cookie
 * secrets) marked undefined, so any branch or memory index that depends on them is reported.
 * What a secret comparison decides (tag right or wrong, cookie valid, Finished verified) is
 * public by design: the peer sees it in our answer. EMSE_CT_PUBLIC marks such a verdict, and
 * data the peer itself sent once its record authenticated, as public at the one place it is
 * decided; in every other build it is nothing. */
#ifndef EMSE_CT_H
#define EMSE_CT_H

#ifdef EMSE_CT_VALGRIND
#include <valgrind/memcheck.h>
#define EMSE_CT_PUBLIC(x) ((void)VALGRIND_MAKE_MEM_DEFINED(&(x), sizeof(x)))
#define EMSE_CT_PUBLIC_MEM(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#else
#define EMSE_CT_PUBLIC(x) ((void)0)
#define EMSE_CT_PUBLIC_MEM(p, n) ((void)0)
#endif

#endif
