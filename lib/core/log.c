/* log.c: sa_log and where its lines go (see log.h). */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *log_name = "socialauth";
static sa_log_sink log_sink;

void sa_log_set_name(const char *name)
{
    log_name = name;
}

void sa_log_set_sink(sa_log_sink sink)
{
    log_sink = sink;
}

void sa_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (log_sink) {
        log_sink(log_name, line);
        return;
    }
    fprintf(stderr, "%s: %s\n", log_name, line);
    fflush(stderr);
}
