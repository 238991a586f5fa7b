/* buf.c: a growable byte buffer, always NUL-terminated when non-empty. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* Make room for `extra` more bytes plus a NUL. SA_ERR_NOMEM on failure or overflow. */
sa_status sa_buf_reserve(sa_buf *buf, size_t extra)
{
    if (extra > SIZE_MAX / 2 - buf->len - 1)
        return SA_ERR_NOMEM;
    size_t need = buf->len + extra + 1;
    if (need <= buf->cap)
        return SA_OK;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(buf->data, cap);
    if (!p)
        return SA_ERR_NOMEM;
    buf->data = p;
    buf->cap = cap;
    return SA_OK;
}

sa_status sa_buf_append(sa_buf *buf, const char *s, size_t len)
{
    if (sa_buf_reserve(buf, len) != SA_OK)
        return SA_ERR_NOMEM;
    memcpy(buf->data + buf->len, s, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return SA_OK;
}

sa_status sa_buf_printf(sa_buf *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sa_buf_reserve(buf, (size_t)n) != SA_OK)
        return SA_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return SA_OK;
}

/* Security: answers hold tokens (bodies, Set-Cookie lines); what a request wrote is wiped
 * before the buffer serves the next one or is freed. */
void sa_buf_reset(sa_buf *buf)
{
    if (buf->data)
        OPENSSL_cleanse(buf->data, buf->len);
    buf->len = 0;
    if (buf->data)
        buf->data[0] = '\0';
}

void sa_buf_free(sa_buf *buf)
{
    if (buf->data)
        OPENSSL_cleanse(buf->data, buf->len);
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}
