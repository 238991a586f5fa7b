#include "core/sa_error.h"

#include <stdarg.h>
#include <stdio.h>

sa_status sa_error_set(sa_error *err, const char *file, int line, sa_status status,
                       const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->file = file;
        err->line = line;
        err->status = status;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

const char *sa_status_name(sa_status status)
{
    switch (status) {
    case SA_OK: return "ok";
    case SA_ERR_INVALID: return "invalid";
    case SA_ERR_NOT_FOUND: return "not_found";
    case SA_ERR_EXISTS: return "exists";
    case SA_ERR_TOO_LARGE: return "too_large";
    case SA_ERR_NOMEM: return "nomem";
    case SA_ERR_UNAVAILABLE: return "unavailable";
    case SA_ERR_FATAL: return "fatal";
    case SA_ERR_CONFIG: return "config";
    }
    return "unknown";
}
