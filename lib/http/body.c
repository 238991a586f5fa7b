/* body.c: strict reading of request bodies and DRF-shaped field access.
 *
 * Security: CONTENT_LENGTH is parsed as digits only and checked against max_body before
 * anything is allocated; a short read is a 400, never a partial parse. */
#include "http/http.h"
#include "codec/json.h"
#include "http/multipart.h"
#include "core/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The media type of a Content-Type value, without parameters, compared case-insensitively. */
static bool media_type_is(const char *content_type, const char *type)
{
    size_t n = strlen(type);
    if (strncasecmp(content_type, type, n) != 0)
        return false;
    const char *rest = content_type + n;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    return *rest == '\0' || *rest == ';';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decode [s, s+len) with '+' as space into a new string of *out_len bytes (NUL
 * after them); NULL on a bad escape. An encoded NUL is kept: the text check after parsing
 * (check_text) refuses it with DRF's message, naming the field. */
static char *form_decode(const char *s, size_t len, size_t *out_len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            int h = i + 2 < len ? hexval(s[i + 1]) : -1, l = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (h < 0 || l < 0) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

sa_status sa_form_parse(const char *text, size_t len, json_object **out, sa_error *err)
{
    json_object *obj = json_object_new_object();
    if (!obj)
        return SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp)
            amp = end;
        if (amp > p) {
            const char *eq = memchr(p, '=', (size_t)(amp - p));
            const char *kend = eq ? eq : amp;
            size_t key_len = 0, val_len = 0;
            char *key = form_decode(p, (size_t)(kend - p), &key_len);
            char *val = eq ? form_decode(eq + 1, (size_t)(amp - eq - 1), &val_len) : strdup("");
            /* Security: a key must be whole text: json-c keys are C strings, and a key is
             * echoed in field errors. */
            if (!key || !val || key_len == 0 || sa_text_check(key, key_len) != SA_TEXT_OK) {
                free(key);
                free(val);
                json_object_put(obj);
                return SA_FAIL(err, SA_ERR_INVALID, "malformed form field");
            }
            /* Django's QueryDict.get returns the last value of a repeated field. */
            json_object_object_add(obj, key, json_object_new_string_len(val, (int)val_len));
            free(key);
            free(val);
        }
        p = amp + 1;
    }
    *out = obj;
    return SA_OK;
}

/* Security: digits only (no sign, no spaces, no hex), and at most 18 of them. */
static bool parse_content_length(const char *s, size_t *out)
{
    if (!s || !*s) {
        *out = 0;
        return true;
    }
    size_t v = 0, n = 0;
    for (; *s; s++, n++) {
        if (!isdigit((unsigned char)*s) || n >= 18)
            return false;
        v = v * 10 + (size_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* Answer 415 naming the media type as DRF does, the client's text cut at a character
 * boundary (sa_text_copy_cut) so that the answer is always valid UTF-8. */
static void unsupported_media_type(sa_ctx *ctx, const char *content_type)
{
    char shown[SA_ECHO_CHARS * 4 + 1], detail[sizeof shown + 48];
    sa_text_copy_cut(shown, sizeof shown, content_type, SA_ECHO_CHARS);
    snprintf(detail, sizeof detail, "Unsupported media type \"%s\" in request.", shown);
    sa_respond_detail(ctx, 415, detail, NULL);
}

/* The first string in v (a JSON value of the body) that is not text we accept. */
static sa_text_fault value_fault(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_string:
        return sa_text_check(json_object_get_string(v), (size_t)json_object_get_string_len(v));
    case json_type_array:
        for (size_t i = 0, n = json_object_array_length(v); i < n; i++) {
            sa_text_fault f = value_fault(json_object_array_get_idx(v, i));
            if (f != SA_TEXT_OK)
                return f;
        }
        return SA_TEXT_OK;
    case json_type_object: {
        json_object_object_foreach(v, key, member) {
            (void)key; /* keys were checked by the parsers */
            sa_text_fault f = value_fault(member);
            if (f != SA_TEXT_OK)
                return f;
        }
        return SA_TEXT_OK;
    }
    default:
        return SA_TEXT_OK;
    }
}

/* Issue 9 point 2: every string of the body is whole, valid UTF-8 before a handler sees it.
 * A field whose value (at any depth) holds U+0000 gets DRF's field error
 * {"<field>":["Null characters are not allowed."]}; ill-formed UTF-8 (possible only in form
 * and multipart bodies: the JSON parser refuses it itself) gets DRF's CharField message
 * {"<field>":["Not a valid string."]}. Returns false after answering. */
static bool check_text(sa_ctx *ctx)
{
    json_object_object_foreach(ctx->req.data, key, v) {
        sa_text_fault f = value_fault(v);
        if (f != SA_TEXT_OK) {
            sa_respond_field_error(ctx, key, f == SA_TEXT_NUL ? SA_TEXT_NUL_MESSAGE
                                                              : "Not a valid string.");
            return false;
        }
    }
    return true;
}

/* Parse a JSON body into req->data (an object), or answer 400 as DRF's JSONParser and
 * serializer do. */
static bool parse_json(sa_ctx *ctx)
{
    sa_request *req = &ctx->req;
    sa_error err = {0};
    if (sa_json_parse(req->body, req->body_len, &req->data, &err) != SA_OK) {
        char detail[320];
        snprintf(detail, sizeof detail, "JSON parse error - %s", err.msg);
        sa_respond_detail(ctx, 400, detail, NULL);
        return false;
    }
    if (!json_object_is_type(req->data, json_type_object)) {
        char msg[96];
        snprintf(msg, sizeof msg, "Invalid data. Expected a dictionary, but got %s.",
                 json_object_is_type(req->data, json_type_array)     ? "list"
                 : json_object_is_type(req->data, json_type_string)  ? "str"
                 : json_object_is_type(req->data, json_type_int)     ? "int"
                 : json_object_is_type(req->data, json_type_double)  ? "float"
                 : json_object_is_type(req->data, json_type_boolean) ? "bool"
                                                                      : "NoneType");
        sa_respond_field_error(ctx, "non_field_errors", msg);
        return false;
    }
    return true;
}

bool sa_body_read(sa_ctx *ctx, const char *content_length, sa_read_fn read, void *src)
{
    sa_request *req = &ctx->req;
    size_t len;
    if (!parse_content_length(content_length, &len)) {
        sa_respond_detail(ctx, 400, "Malformed Content-Length header.", NULL);
        return false;
    }
    if (len > ctx->cfg->max_body) {
        sa_respond_detail(ctx, 413, "Request body is too large.", NULL);
        return false;
    }
    const char *ct = req->content_type && *req->content_type ? req->content_type : NULL;
    bool json = ct && media_type_is(ct, "application/json");
    bool form = ct && media_type_is(ct, "application/x-www-form-urlencoded");
    bool multipart = ct && media_type_is(ct, "multipart/form-data");
    if (len > 0 && !json && !form && !multipart) {
        unsupported_media_type(ctx, ct ? ct : "");
        return false;
    }
    req->body = malloc(len + 1);
    if (!req->body) {
        sa_respond_unavailable(ctx);
        return false;
    }
    size_t got = 0;
    while (got < len) {
        size_t r = read(src, req->body + got, len - got);
        if (r == 0)
            break;
        got += r;
    }
    req->body[got] = '\0';
    req->body_len = got;
    if (got < len) {
        sa_respond_detail(ctx, 400, "Request body is incomplete.", NULL);
        return false;
    }
    if (len == 0) {
        req->data = json_object_new_object();
        return true;
    }
    sa_error err = {0};
    if (json) {
        if (!parse_json(ctx))
            return false;
    } else if (form) {
        if (sa_form_parse(req->body, len, &req->data, &err) != SA_OK) {
            sa_respond_detail(ctx, 400, "Malformed form data.", NULL);
            return false;
        }
    } else if (sa_multipart_parse(ct, req->body, len, &req->data, &err) != SA_OK) {
        char detail[sizeof err.msg + 48];
        snprintf(detail, sizeof detail, "Multipart form parse error - %s", err.msg);
        sa_respond_detail(ctx, 400, detail, NULL);
        return false;
    }
    return check_text(ctx);
}

const char *sa_field_string_check(json_object *data, const char *field, bool required,
                                  bool allow_blank, const char **out, size_t *len)
{
    json_object *v;
    *out = NULL;
    *len = 0;
    if (!data || !json_object_object_get_ex(data, field, &v))
        return required ? "This field is required." : NULL;
    if (v == NULL)
        return "This field may not be null.";
    if (!json_object_is_type(v, json_type_string))
        return "Not a valid string.";
    if (json_object_get_string_len(v) == 0 && !allow_blank)
        return "This field may not be blank.";
    *out = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    return NULL;
}

bool sa_require_string(sa_ctx *ctx, const char *field, const char **out)
{
    size_t len;
    const char *problem = sa_field_string_check(ctx->req.data, field, true, false, out, &len);
    if (problem)
        sa_respond_field_error(ctx, field, problem);
    return !problem;
}

sa_status sa_optional_string(sa_ctx *ctx, const char *field, const char **out)
{
    json_object *v;
    if (!ctx->req.data || !json_object_object_get_ex(ctx->req.data, field, &v) || v == NULL)
        return SA_ERR_NOT_FOUND;
    if (!json_object_is_type(v, json_type_string)) {
        sa_respond_field_error(ctx, field, "Not a valid string.");
        return SA_ERR_INVALID;
    }
    *out = json_object_get_string(v);
    return SA_OK;
}
