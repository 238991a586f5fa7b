/* json_writer.h: compact JSON written straight into a buffer, for answers on the hot paths
 * (tokens, users, errors): no json-c tree is built and freed per request.
 *
 *     sa_jw w;
 *     sa_jw_begin(&w, &ctx->res.body);
 *     sa_jw_object(&w);
 *     sa_jw_member(&w, "detail", "Successfully logged out.");
 *     sa_jw_end(&w);
 *     sa_respond_written(ctx, 200, &w);
 *
 * Output matches DRF's renderer: compact separators, UTF-8 left as is, control characters
 * escaped. Strings that are not valid UTF-8, too deep nesting or a failed allocation mark
 * the writer failed; sa_respond_written (http/http.h) then answers 503 instead. */
#ifndef SA_JSON_WRITER_H
#define SA_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define SA_JW_MAX_DEPTH 16

typedef struct sa_jw {
    sa_buf *out;
    unsigned depth;
    bool comma[SA_JW_MAX_DEPTH + 1];  /* the next value or key at this depth needs a ',' */
    char close[SA_JW_MAX_DEPTH + 1];  /* '}' or ']' for each open container */
    bool after_key;                   /* a key was written: the next value follows its ':' */
    bool failed;
} sa_jw;

/* Start writing at the beginning of out (its old content is dropped). */
void sa_jw_begin(sa_jw *w, sa_buf *out);
/* Open an object / an array as the next value; sa_jw_end closes the innermost one. */
void sa_jw_object(sa_jw *w);
void sa_jw_array(sa_jw *w);
void sa_jw_end(sa_jw *w);
/* The next member's name, inside an object. */
void sa_jw_key(sa_jw *w, const char *key);
/* Values. */
void sa_jw_string(sa_jw *w, const char *s);
void sa_jw_bool(sa_jw *w, bool value);
void sa_jw_null(sa_jw *w);
/* A value that is already compact JSON text (e.g. parsed and checked earlier). */
void sa_jw_raw(sa_jw *w, const char *json, size_t len);
/* Key and string value in one call. */
void sa_jw_member(sa_jw *w, const char *key, const char *value);

#endif
