/* json_writer.c: compact JSON straight into a buffer (see json_writer.h). */
#include "codec/json_writer.h"
#include "codec/json.h"

#include <string.h>

void sa_jw_begin(sa_jw *w, sa_buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    sa_buf_reset(out);
}

static void put(sa_jw *w, const char *s, size_t len)
{
    if (!w->failed && sa_buf_append(w->out, s, len) != SA_OK)
        w->failed = true;
}

/* Whatever must come before a value: ',' between array items (a key already wrote its). */
static void before_value(sa_jw *w)
{
    if (w->after_key)
        w->after_key = false;
    else if (w->comma[w->depth])
        put(w, ",", 1);
    w->comma[w->depth] = true;
}

static void open_container(sa_jw *w, char open, char close)
{
    before_value(w);
    if (w->depth == SA_JW_MAX_DEPTH) {
        w->failed = true;
        return;
    }
    put(w, &open, 1);
    w->depth++;
    w->comma[w->depth] = false;
    w->close[w->depth] = close;
}

void sa_jw_object(sa_jw *w)
{
    open_container(w, '{', '}');
}

void sa_jw_array(sa_jw *w)
{
    open_container(w, '[', ']');
}

void sa_jw_end(sa_jw *w)
{
    if (w->depth == 0) {
        w->failed = true;
        return;
    }
    put(w, &w->close[w->depth], 1);
    w->depth--;
}

/* A JSON string literal of s, escaped as DRF's renderer does (UTF-8 kept, controls escaped). */
/* True when s needs no escaping at all: printable ASCII without '"' or '\\' (tokens, ids,
 * times: most of what we write). */
static bool plain(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            return false;
    }
    return true;
}

static void put_string(sa_jw *w, const char *s)
{
    size_t len = strlen(s);
    if (plain(s, len)) {
        put(w, "\"", 1);
        put(w, s, len);
        put(w, "\"", 1);
        return;
    }
    /* Worst case: every byte a \u00XX escape, plus quotes and slack the encoder wants. */
    if (w->failed || len > (SIZE_MAX - 32) / 6 || sa_buf_reserve(w->out, 6 * len + 16) != SA_OK) {
        w->failed = true;
        return;
    }
    if (sa_json_append_string(w->out->data, w->out->cap, &w->out->len, s, len, false) != SA_OK)
        w->failed = true;
}

void sa_jw_key(sa_jw *w, const char *key)
{
    if (w->comma[w->depth])
        put(w, ",", 1);
    w->comma[w->depth] = true;
    put_string(w, key);
    put(w, ":", 1);
    w->after_key = true;
}

void sa_jw_string(sa_jw *w, const char *s)
{
    before_value(w);
    put_string(w, s);
}

void sa_jw_bool(sa_jw *w, bool value)
{
    before_value(w);
    put(w, value ? "true" : "false", value ? 4 : 5);
}

void sa_jw_null(sa_jw *w)
{
    before_value(w);
    put(w, "null", 4);
}

void sa_jw_raw(sa_jw *w, const char *json, size_t len)
{
    before_value(w);
    put(w, json, len);
}

void sa_jw_member(sa_jw *w, const char *key, const char *value)
{
    sa_jw_key(w, key);
    sa_jw_string(w, value);
}
