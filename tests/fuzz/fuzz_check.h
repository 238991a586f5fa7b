/* fuzz_check.h: the invariant check every fuzz target shares. A broken invariant aborts, so
 * libFuzzer (and the standalone replay driver) report a logic error like a memory error. */
#ifndef SA_FUZZ_CHECK_H
#define SA_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);   \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#endif
