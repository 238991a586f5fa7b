/* utc.c: sa_format_utc (see utc.h). */
#include "core/utc.h"

#include <stdio.h>
#include <time.h>

void sa_format_utc(int64_t t, char *buf, size_t size)
{
    struct tm tm;
    /* Clamped to years 1970..9999 so the text is always 20 characters. */
    if (t < 0)
        t = 0;
    if (t > INT64_C(253402300799))
        t = INT64_C(253402300799);
    time_t tt = (time_t)t;
    if (!buf || size == 0)
        return;
    if (!gmtime_r(&tt, &tm)) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
