/* log.h: one line per event to the web server's error log, prefixed with the program's
 * name ("socialauth" until sa_log_set_name). Only the request loop (http/) and the answers
 * shared by endpoints (api/) log; lower layers return a status and an sa_error instead.
 * Security: never pass a token or a secret. */
#ifndef SA_LOG_H
#define SA_LOG_H

/* Format one line (truncated to 1023 bytes) and hand it to the sink with the name. */
void sa_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The name before each line; name must outlive every later sa_log call (a static string). */
void sa_log_set_name(const char *name);

/* Where lines go: sink(name, line) writes and flushes "name: line\n". NULL restores the
 * default, stdio's stderr. The request loop (http/http.c) sets its FastCGI error stream
 * here, so this layer links no libfcgi. */
typedef void (*sa_log_sink)(const char *name, const char *line);
void sa_log_set_sink(sa_log_sink sink);

#endif
