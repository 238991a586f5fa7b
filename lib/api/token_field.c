/* token_field.c: the body's `refresh` / `token` field read as DRF's CharField reads it
 * (trim_whitespace=True), see tokens.h. */
#include "api/tokens.h"

#include <string.h>

/* Bytes of the UTF-8 character at p (n bytes left) when Python's str.isspace() holds for it
 * (what str.strip() removes), else 0: U+0009-000D, U+001C-0020, U+0085, U+00A0, U+1680,
 * U+2000-200A, U+2028, U+2029, U+202F, U+205F, U+3000. */
static size_t space_len(const unsigned char *p, size_t n)
{
    if ((*p >= 0x09 && *p <= 0x0d) || (*p >= 0x1c && *p <= 0x20))
        return 1;
    if (n >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
        return 2;
    if (n < 3)
        return 0;
    if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)
        return 3;   /* U+1680 */
    if (p[0] == 0xe2 && p[1] == 0x80 &&
        (p[2] <= 0x8a || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
        return 3;   /* U+2000-200A, U+2028, U+2029, U+202F (p[2] >= 0x80: valid UTF-8) */
    if (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f)
        return 3;   /* U+205F */
    if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
        return 3;   /* U+3000 */
    return 0;
}

void sa_charfield_normalize(sa_ctx *ctx, const char *field)
{
    json_object *v;
    if (!ctx->req.data || !json_object_object_get_ex(ctx->req.data, field, &v) || !v)
        return;
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        /* DRF turns a number into its string; no number is a JWT, so any spelling will do. */
        json_object_object_add(ctx->req.data, field,
                               json_object_new_string(json_object_get_string(v)));
        return;
    }
    if (!json_object_is_type(v, json_type_string))
        return;
    const unsigned char *s = (const unsigned char *)json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v), start = 0, end = 0, k;
    while (start < n && (k = space_len(s + start, n - start)) > 0)
        start += k;
    for (size_t i = start; i < n; i += k ? k : 1) {
        k = space_len(s + i, n - i);
        if (!k)
            end = i + 1;   /* a lead or continuation byte: neither starts a space */
    }
    if (end < start)
        end = start;
    if (start == 0 && end == n)
        return;
    json_object_object_add(ctx->req.data, field,
                           json_object_new_string_len((const char *)s + start,
                                                      (int)(end - start)));
}
