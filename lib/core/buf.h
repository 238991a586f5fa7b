/* buf.h: a growable byte buffer, always NUL-terminated when non-empty. The caller owns
 * the struct (zero-initialised: empty); the bytes are the buffer's until sa_buf_free.
 * Statuses: SA_OK, or SA_ERR_NOMEM (allocation failed or size overflow: buf unchanged). */
#ifndef SA_BUF_H
#define SA_BUF_H

#include <stddef.h>

#include "core/sa_error.h"

typedef struct sa_buf {
    char *data;
    size_t len;
    size_t cap;
} sa_buf;

sa_status sa_buf_append(sa_buf *buf, const char *s, size_t len);
/* Make room for `extra` more bytes (and a NUL) without writing them. */
sa_status sa_buf_reserve(sa_buf *buf, size_t extra);
sa_status sa_buf_printf(sa_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sa_buf_reset(sa_buf *buf);   /* len = 0, memory kept; the bytes written are wiped */
void sa_buf_free(sa_buf *buf);    /* wiped, then freed */

#endif
