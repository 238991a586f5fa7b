/* sa_error.h: the one status type and error record shared by the whole library.
 *
 * Contract: every library function that can fail returns an sa_status and, when it
 * is not SA_OK, fills the caller's sa_error (if non-NULL) with where and why.
 * Only the request loop and the admin command print errors; library code never logs.
 * Security: messages must never contain a secret or a token. */
#ifndef SA_ERROR_H
#define SA_ERROR_H

#include <stddef.h>

typedef enum sa_status {
    SA_OK = 0,
    SA_ERR_INVALID,      /* bad input: malformed, wrong type, out of range */
    SA_ERR_NOT_FOUND,    /* the thing asked for does not exist */
    SA_ERR_EXISTS,       /* a unique value is already taken */
    SA_ERR_TOO_LARGE,    /* input over a configured bound */
    SA_ERR_NOMEM,        /* allocation failed */
    SA_ERR_UNAVAILABLE,  /* store or upstream trouble that may pass: answer 503 */
    SA_ERR_FATAL,        /* the process must exit after answering (DB_RUNRECOVERY) */
    SA_ERR_CONFIG        /* configuration missing or bad */
} sa_status;

typedef struct sa_error {
    const char *file;
    int line;
    sa_status status;
    char msg[256];
} sa_error;

/* Fill err (may be NULL) and return status. Use through SA_FAIL. */
sa_status sa_error_set(sa_error *err, const char *file, int line, sa_status status,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#ifdef __clang_analyzer__
/* scan-build (make analyze) looks at one file at a time, so it cannot know that sa_error_set
 * returns its status and would follow "failed with SA_OK" paths; it gets the value here. */
#define SA_FAIL(err, status, ...)                                                          \
    ({                                                                                     \
        sa_status sa_fail_status_ = (status);                                              \
        sa_error_set((err), __FILE__, __LINE__, sa_fail_status_, __VA_ARGS__);              \
        sa_fail_status_;                                                                   \
    })
#else
#define SA_FAIL(err, status, ...) sa_error_set((err), __FILE__, __LINE__, (status), __VA_ARGS__)
#endif

/* A short fixed name for a status ("invalid", "not_found", ...). */
const char *sa_status_name(sa_status status);

#endif
