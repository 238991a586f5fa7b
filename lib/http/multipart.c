/* multipart.c: a strict, bounded multipart/form-data reader for plain fields (see
 * multipart.h). Debian packages no small C parser for this (GMime is a mail library), so it
 * is ours; tests/fuzz/fuzz_multipart.c fuzzes it and `make test` replays its seeds.
 *
 * Security: every scan is bounded by the body (itself bounded by max_body) and finds its
 * delimiter with memmem, so the work is linear in the body for each part, and parts are
 * capped (SA_MULTIPART_MAX_FIELDS); nothing is copied but names and values. */
#include "http/multipart.h"
#include "core/text.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Reasons (multipart.h). */
#define R_NO_OPENING "Missing opening boundary"
#define R_NO_FINAL "Missing final boundary"
#define R_BOUNDARY_LINE "Malformed boundary line"
#define R_AFTER_FINAL "Data after the final boundary"
#define R_HEADER "Invalid part header"
#define R_LINE_END "Invalid line ending in part header"
#define R_NO_DISPOSITION "Missing Content-Disposition"
#define R_DISPOSITION "Invalid Content-Disposition"
#define R_FILE "File uploads are not supported"
#define R_PART_TYPE "Unsupported part Content-Type"
#define R_NAME "Invalid field name"
#define R_TOO_MANY "Too many fields"

#define SHOWN_CHARS 40 /* of a client's text in a reason */

typedef struct span {
    const char *p;
    size_t n;
} span;

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static span trim(span s)
{
    while (s.n && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

static bool span_is(span s, const char *word)
{
    return s.n == strlen(word) && strncasecmp(s.p, word, s.n) == 0;
}

/* RFC 2046 bchars. */
static bool is_bchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           strchr("'()+_,-./:=? ", c) != NULL;
}

/* Split the next ";"-separated parameter of a header value at *rest: name and value (a token,
 * or a quoted string without its quotes; no quoted-pairs). Returns 1 with a parameter, 0 at
 * the end, -1 when malformed. */
static int next_param(span *rest, span *name, span *value)
{
    span r = trim(*rest);
    if (r.n == 0)
        return 0;
    if (r.p[0] != ';')
        return -1;
    r.p++;
    r.n--;
    r = trim(r);
    const char *eq = memchr(r.p, '=', r.n);
    if (!eq)
        return -1;
    *name = trim((span){r.p, (size_t)(eq - r.p)});
    r.n -= (size_t)(eq + 1 - r.p);
    r.p = eq + 1;
    r = trim(r);
    if (name->n == 0)
        return -1;
    if (r.n && r.p[0] == '"') {
        const char *close = memchr(r.p + 1, '"', r.n - 1);
        if (!close)
            return -1;
        *value = (span){r.p + 1, (size_t)(close - r.p - 1)};
        r.n -= (size_t)(close + 1 - r.p);
        r.p = close + 1;
    } else {
        size_t n = 0;
        while (n < r.n && r.p[n] != ';' && !is_space(r.p[n]) && r.p[n] != '"')
            n++;
        *value = (span){r.p, n};
        r.p += n;
        r.n -= n;
    }
    *rest = r;
    return 1;
}

/* A reason that echoes client text s, cut at a character boundary. */
static sa_status fail_echo(sa_error *err, const char *what, const char *s, size_t n)
{
    size_t cut = sa_text_cut(s, n, SHOWN_CHARS);
    return SA_FAIL(err, SA_ERR_INVALID, "%s%.*s", what, (int)cut, s);
}

/* The boundary parameter of the Content-Type value ct, checked (Django's messages). */
static sa_status find_boundary(const char *ct, span *boundary, sa_error *err)
{
    size_t len = strlen(ct);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)ct[i] >= 0x80)
            return fail_echo(err, "Invalid non-ASCII Content-Type in multipart: ", ct, len);
    const char *semi = memchr(ct, ';', len);
    span rest = {semi ? semi : ct + len, semi ? len - (size_t)(semi - ct) : 0}, name, value;
    bool found = false;
    while (next_param(&rest, &name, &value) == 1) {
        if (span_is(name, "boundary") && !found) {
            *boundary = value;
            found = true;
        }
    }
    if (!found)
        return SA_FAIL(err, SA_ERR_INVALID, "Invalid boundary in multipart: None");
    bool ok = boundary->n >= 1 && boundary->n <= SA_MULTIPART_BOUNDARY_MAX &&
              boundary->p[boundary->n - 1] != ' ';
    for (size_t i = 0; ok && i < boundary->n; i++)
        ok = is_bchar((unsigned char)boundary->p[i]);
    if (!ok)
        return fail_echo(err, "Invalid boundary in multipart: ", boundary->p, boundary->n);
    return SA_OK;
}

/* Content-Disposition: form-data; name="..." (and nothing else). */
static sa_status parse_disposition(span v, span *field, sa_error *err)
{
    v = trim(v);
    const char *semi = memchr(v.p, ';', v.n);
    span type = trim((span){v.p, semi ? (size_t)(semi - v.p) : v.n});
    span rest = {semi ? semi : v.p + v.n, semi ? v.n - (size_t)(semi - v.p) : 0}, name, value;
    bool have_name = false;
    int r;
    if (!span_is(type, "form-data"))
        return SA_FAIL(err, SA_ERR_INVALID, R_DISPOSITION);
    while ((r = next_param(&rest, &name, &value)) == 1) {
        if (span_is(name, "filename") || span_is(name, "filename*"))
            return SA_FAIL(err, SA_ERR_INVALID, R_FILE);
        if (!span_is(name, "name") || have_name)
            return SA_FAIL(err, SA_ERR_INVALID, R_DISPOSITION);
        *field = value;
        have_name = true;
    }
    if (r < 0 || !have_name)
        return SA_FAIL(err, SA_ERR_INVALID, R_DISPOSITION);
    if (field->n == 0 || sa_text_check(field->p, field->n) != SA_TEXT_OK)
        return SA_FAIL(err, SA_ERR_INVALID, R_NAME);
    return SA_OK;
}

/* Content-Type of a part: text/plain, optionally with charset utf-8 or us-ascii. */
static sa_status check_part_type(span v, sa_error *err)
{
    v = trim(v);
    const char *semi = memchr(v.p, ';', v.n);
    span type = trim((span){v.p, semi ? (size_t)(semi - v.p) : v.n});
    span rest = {semi ? semi : v.p + v.n, semi ? v.n - (size_t)(semi - v.p) : 0}, name, value;
    int r;
    if (!span_is(type, "text/plain"))
        return SA_FAIL(err, SA_ERR_INVALID, R_PART_TYPE);
    while ((r = next_param(&rest, &name, &value)) == 1)
        if (!span_is(name, "charset") || !(span_is(value, "utf-8") || span_is(value, "us-ascii")))
            return SA_FAIL(err, SA_ERR_INVALID, R_PART_TYPE);
    return r < 0 ? SA_FAIL(err, SA_ERR_INVALID, R_PART_TYPE) : SA_OK;
}

/* The headers of one part, from *pos to the blank line (consumed): the field name. */
static sa_status parse_headers(const char *body, size_t len, size_t *pos, span *field,
                               sa_error *err)
{
    bool disposition = false, type = false;
    for (;;) {
        size_t start = *pos, avail = len - start;
        size_t limit = avail < SA_MULTIPART_HEADER_MAX + 2 ? avail : SA_MULTIPART_HEADER_MAX + 2;
        const char *crlf = NULL;
        for (size_t i = 0; i < limit; i++) {
            char c = body[start + i];
            if (c == '\r' && i + 1 < avail && body[start + i + 1] == '\n') {
                crlf = body + start + i;
                break;
            }
            if (c == '\r' || c == '\n')
                return SA_FAIL(err, SA_ERR_INVALID, R_LINE_END);
        }
        if (!crlf)
            return SA_FAIL(err, SA_ERR_INVALID, limit == avail ? R_NO_FINAL : R_HEADER);
        span line = {body + start, (size_t)(crlf - (body + start))};
        *pos = start + line.n + 2;
        if (line.n == 0)
            break;
        const char *colon = memchr(line.p, ':', line.n);
        if (!colon)
            return SA_FAIL(err, SA_ERR_INVALID, R_HEADER);
        span name = {line.p, (size_t)(colon - line.p)};
        span value = {colon + 1, line.n - name.n - 1};
        sa_status st;
        if (span_is(name, "Content-Disposition") && !disposition) {
            disposition = true;
            st = parse_disposition(value, field, err);
        } else if (span_is(name, "Content-Type") && !type) {
            type = true;
            st = check_part_type(value, err);
        } else {
            st = SA_FAIL(err, SA_ERR_INVALID, R_HEADER);
        }
        if (st != SA_OK)
            return st;
    }
    return disposition ? SA_OK : SA_FAIL(err, SA_ERR_INVALID, R_NO_DISPOSITION);
}

/* Store name = value in obj (the last of a repeated name wins). */
static sa_status add_field(json_object *obj, span name, const char *value, size_t n,
                           sa_error *err)
{
    char *key = strndup(name.p, name.n);
    json_object *v = json_object_new_string_len(value, (int)n);
    if (!key || !v || json_object_object_add(obj, key, v) != 0) {
        free(key);
        json_object_put(v);
        return SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
    }
    free(key);
    return SA_OK;
}

/* The parts after the opening delimiter line, up to the final one. */
static sa_status parse_parts(const char *body, size_t len, const char *delim, size_t dn,
                             size_t pos, json_object *obj, sa_error *err)
{
    for (size_t fields = 0;; fields++) {
        span field = {NULL, 0};
        if (fields == SA_MULTIPART_MAX_FIELDS)
            return SA_FAIL(err, SA_ERR_INVALID, R_TOO_MANY);
        sa_status st = parse_headers(body, len, &pos, &field, err);
        if (st != SA_OK)
            return st;
        /* The content ends at CRLF "--" boundary. */
        const char *end = memmem(body + pos, len - pos, delim, dn);
        if (!end)
            return SA_FAIL(err, SA_ERR_INVALID, R_NO_FINAL);
        st = add_field(obj, field, body + pos, (size_t)(end - (body + pos)), err);
        if (st != SA_OK)
            return st;
        pos = (size_t)(end - body) + dn;
        if (len - pos >= 2 && memcmp(body + pos, "--", 2) == 0) {
            pos += 2;
            if (len - pos == 2 && memcmp(body + pos, "\r\n", 2) == 0)
                pos += 2;
            return pos == len ? SA_OK : SA_FAIL(err, SA_ERR_INVALID, R_AFTER_FINAL);
        }
        if (len - pos < 2 || memcmp(body + pos, "\r\n", 2) != 0)
            return SA_FAIL(err, SA_ERR_INVALID, R_BOUNDARY_LINE);
        pos += 2;
    }
}

sa_status sa_multipart_parse(const char *content_type, const char *body, size_t len,
                             json_object **out, sa_error *err)
{
    span b = {NULL, 0};
    *out = NULL;
    sa_status st = find_boundary(content_type ? content_type : "", &b, err);
    if (st != SA_OK)
        return st;
    /* "\r\n--" boundary: the delimiter that ends a part; the body opens without the CRLF. */
    char delim[4 + SA_MULTIPART_BOUNDARY_MAX];
    memcpy(delim, "\r\n--", 4);
    if (b.n)   /* find_boundary's success means b.n >= 1; said for gcc -fanalyzer */
        memcpy(delim + 4, b.p, b.n);
    size_t dn = 4 + b.n;
    if (len < dn || memcmp(body, delim + 2, dn - 2) != 0)
        return SA_FAIL(err, SA_ERR_INVALID, R_NO_OPENING);
    size_t pos = dn - 2;
    json_object *obj = json_object_new_object();
    if (!obj)
        return SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
    if (len - pos >= 2 && memcmp(body + pos, "\r\n", 2) == 0)
        st = parse_parts(body, len, delim, dn, pos + 2, obj, err);
    else
        st = SA_FAIL(err, SA_ERR_INVALID, R_BOUNDARY_LINE);
    if (st != SA_OK) {
        json_object_put(obj);
        return st;
    }
    *out = obj;
    return SA_OK;
}
