/* response.c: building answers in DRF's shapes and serialising them as CGI responses. */
#include "http/http.h"
#include "codec/json.h"
#include "codec/json_writer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    }
    return "Unknown";
}

/* Append a NUL-terminated string. */
static sa_status put(sa_buf *out, const char *s)
{
    return sa_buf_append(out, s, strlen(s));
}

/* Append the decimal digits of n. */
static sa_status put_number(sa_buf *out, size_t n)
{
    char digits[24];
    size_t i = sizeof digits;
    do {
        digits[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n && i > 0);
    return sa_buf_append(out, digits + i, sizeof digits - i);
}

void sa_respond_raw(sa_ctx *ctx, int status, const char *json, size_t len)
{
    ctx->res.status = status;
    sa_buf_reset(&ctx->res.body);
    if (sa_buf_append(&ctx->res.body, json, len) != SA_OK)
        ctx->res.status = 503;
}

void sa_respond_json(sa_ctx *ctx, int status, json_object *body)
{
    size_t len;
    const char *text = sa_json_compact(body, &len);
    sa_respond_raw(ctx, status, text, len);
    json_object_put(body);
}

void sa_respond_unavailable(sa_ctx *ctx)
{
    /* A fixed text, so that it needs no allocation beyond the body buffer. */
    static const char busy[] = SA_UNAVAILABLE_BODY;
    sa_respond_raw(ctx, 503, busy, sizeof busy - 1);
}

void sa_respond_detail(sa_ctx *ctx, int status, const char *detail, const char *code)
{
    sa_jw w;
    sa_jw_begin(&w, &ctx->res.body);
    sa_jw_object(&w);
    sa_jw_member(&w, "detail", detail);
    if (code)
        sa_jw_member(&w, "code", code);
    sa_jw_end(&w);
    if (w.failed) { /* only allocation can fail here */
        sa_respond_unavailable(ctx);
        return;
    }
    ctx->res.status = status;
    if (status == 401)
        sa_add_header(ctx, "WWW-Authenticate", "Bearer realm=\"api\"");
}

void sa_respond_field_error(sa_ctx *ctx, const char *field, const char *message)
{
    sa_respond_field_error_code(ctx, field, message, NULL);
}

void sa_respond_field_error_code(sa_ctx *ctx, const char *field, const char *message,
                                 const char *code)
{
    sa_jw w;
    sa_jw_begin(&w, &ctx->res.body);
    sa_jw_object(&w);
    sa_jw_key(&w, field);
    sa_jw_array(&w);
    sa_jw_string(&w, message);
    sa_jw_end(&w);
    if (code)
        sa_jw_member(&w, "code", code);
    sa_jw_end(&w);
    sa_respond_written(ctx, 400, &w);
}

void sa_respond_store_error(sa_ctx *ctx, sa_status status, const sa_error *err)
{
    if (err)
        /* The store's messages begin "store: " already; others get it here. */
        sa_log("%s%s (%s:%d)", strncmp(err->msg, "store: ", 7) == 0 ? "" : "store: ", err->msg,
               err->file ? err->file : "?", err->line);
    if (status == SA_ERR_FATAL)
        ctx->fatal = true;
    sa_respond_unavailable(ctx);
}

void sa_respond_private(sa_ctx *ctx)
{
    ctx->res.no_store = true;
    ctx->res.vary |= SA_VARY_AUTHORIZATION;
    if (ctx->cfg && ctx->cfg->cookie_mode)
        ctx->res.vary |= SA_VARY_COOKIE;
}

/* Append "Vary: <names>\r\n" for the SA_VARY_* bits set in vary (nothing when none). */
static sa_status put_vary(sa_buf *out, unsigned vary)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {SA_VARY_ORIGIN, "Origin"}, {SA_VARY_AUTHORIZATION, "Authorization"},
        {SA_VARY_COOKIE, "Cookie"},
    };
    sa_status st = SA_OK;
    const char *sep = "Vary: ";
    for (size_t i = 0; st == SA_OK && i < sizeof names / sizeof names[0]; i++) {
        if (!(vary & names[i].bit))
            continue;
        st = put(out, sep);
        if (st == SA_OK)
            st = put(out, names[i].name);
        sep = ", ";
    }
    if (st == SA_OK && vary)
        st = put(out, "\r\n");
    return st;
}

void sa_add_header(sa_ctx *ctx, const char *name, const char *value)
{
    /* Security: header values come from our own code, but refuse CR/LF anyway so that no
     * future caller can split a response. */
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return;
    sa_buf *h = &ctx->res.headers;
    if (put(h, name) != SA_OK || put(h, ": ") != SA_OK || put(h, value) != SA_OK)
        ctx->res.status = 503;
    else
        put(h, "\r\n");
}

/* Built with appends, not printf: this runs for every answer. */
sa_status sa_response_serialize(const sa_ctx *ctx, sa_buf *out)
{
    const sa_response *r = &ctx->res;
    sa_status st = put(out, "Status: ");
    if (st == SA_OK)
        st = put_number(out, (size_t)(r->status > 0 ? r->status : 0));
    if (st == SA_OK)
        st = put(out, " ");
    if (st == SA_OK)
        st = put(out, reason_phrase(r->status));
    if (st == SA_OK)
        st = put(out, "\r\n"
                      "X-Content-Type-Options: nosniff\r\n"
                      "Referrer-Policy: same-origin\r\n"
                      "X-Frame-Options: DENY\r\n");
    if (st == SA_OK && r->no_store)
        st = put(out, "Cache-Control: no-store\r\n");
    if (st == SA_OK)
        st = put_vary(out, r->vary);
    if (st == SA_OK && r->headers.len)
        st = sa_buf_append(out, r->headers.data, r->headers.len);
    if (st == SA_OK && r->body.len)
        st = put(out, "Content-Type: application/json\r\n");
    if (st == SA_OK)
        st = put(out, "Content-Length: ");
    if (st == SA_OK)
        st = put_number(out, r->body.len);
    if (st == SA_OK)
        st = put(out, "\r\n\r\n");
    if (st == SA_OK && r->body.len)
        st = sa_buf_append(out, r->body.data, r->body.len);
    return st;
}

void sa_respond_written(sa_ctx *ctx, int status, const sa_jw *w)
{
    if (w->failed || w->depth != 0) {
        sa_respond_unavailable(ctx);
        return;
    }
    ctx->res.status = status;
}
