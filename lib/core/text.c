/* text.c: Unicode through GNU libunistring (see text.h). Nothing here knows Unicode tables
 * itself: libunistring 1.0 (Debian 12) carries Unicode 14.0, the version of Debian 12's
 * Python 3.11, so NFKC and `\w` agree with Django's to the code point
 * (tests/integration/test_text_python.py compares every code point with Python's). */
#include "core/text.h"

#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

sa_text_fault sa_text_check(const char *s, size_t len)
{
    if (len && u8_check((const uint8_t *)s, len) != NULL)
        return SA_TEXT_NOT_UTF8;
    if (len && memchr(s, '\0', len))
        return SA_TEXT_NUL;
    return SA_TEXT_OK;
}

size_t sa_text_chars(const char *s, size_t len)
{
    return len ? u8_mbsnlen((const uint8_t *)s, len) : 0;
}

size_t sa_text_cut(const char *s, size_t len, size_t max_chars)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t used = 0;
    for (size_t chars = 0; used < len && chars < max_chars; chars++) {
        ucs4_t uc;
        int n = u8_mbtoucr(&uc, u + used, len - used);
        if (n <= 0)
            break;   /* ill-formed or truncated: the valid prefix ends here */
        used += (size_t)n;
    }
    return used;
}

size_t sa_text_copy_cut(char *out, size_t size, const char *s, size_t max_chars)
{
    size_t len = strlen(s);
    size_t n = sa_text_cut(s, len < size ? len : size - 1, max_chars);
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
}

/* u8_normalize into out; see text.h for the contract of the two public forms. */
static sa_status normalize(uninorm_t nf, const char *s, size_t len, char *out, size_t size,
                           size_t *out_len, sa_error *err)
{
    if (len && u8_check((const uint8_t *)s, len) != NULL)
        return SA_FAIL(err, SA_ERR_INVALID, "text: not valid UTF-8");
    if (size == 0)
        return SA_FAIL(err, SA_ERR_TOO_LARGE, "text: no room");
    size_t n = size - 1;
    uint8_t *r = u8_normalize(nf, (const uint8_t *)s, len, (uint8_t *)out, &n);
    if (!r)
        return SA_FAIL(err, SA_ERR_NOMEM, "text: out of memory normalising");
    if (r != (uint8_t *)out) {
        /* libunistring allocates when the result does not fit the caller's buffer. */
        free(r);
        return SA_FAIL(err, SA_ERR_TOO_LARGE, "text: normalised text longer than %zu bytes",
                       size - 1);
    }
    out[n] = '\0';
    *out_len = n;
    return SA_OK;
}

sa_status sa_text_nfkc(const char *s, size_t len, char *out, size_t size, size_t *out_len,
                       sa_error *err)
{
    return normalize(UNINORM_NFKC, s, len, out, size, out_len, err);
}

sa_status sa_text_nfkd(const char *s, size_t len, char *out, size_t size, size_t *out_len,
                       sa_error *err)
{
    return normalize(UNINORM_NFKD, s, len, out, size, out_len, err);
}

bool sa_text_is_word(uint32_t cp)
{
    if (cp == '_')
        return true;
    if (uc_is_general_category(cp, UC_CATEGORY_L))
        return true;   /* isalpha: Lu Ll Lt Lm Lo */
    /* isdecimal / isdigit / isnumeric: the character has a numeric value. */
    return uc_numeric_value(cp).denominator != 0;
}

bool sa_text_all_word(const char *s, size_t len, const char *extra)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        ucs4_t uc;
        int n = u8_mbtoucr(&uc, u + i, len - i);
        if (n <= 0)
            return false;
        if (!sa_text_is_word(uc) && !(uc < 0x80 && uc != 0 && strchr(extra, (int)uc)))
            return false;
        i += (size_t)n;
    }
    return true;
}

sa_status sa_text_casefold(const char *s, size_t len, char **out, size_t *out_len,
                           sa_error *err)
{
    if (len && u8_check((const uint8_t *)s, len) != NULL)
        return SA_FAIL(err, SA_ERR_INVALID, "text: not valid UTF-8");
    size_t n = 0;
    uint8_t *r = u8_casefold((const uint8_t *)s, len, NULL, UNINORM_NFKC, NULL, &n);
    if (!r && len)
        return SA_FAIL(err, SA_ERR_NOMEM, "text: out of memory folding case");
    char *copy = malloc(n + 1);
    if (!copy) {
        free(r);
        return SA_FAIL(err, SA_ERR_NOMEM, "text: out of memory folding case");
    }
    if (n && r)   /* u8_casefold returns NULL only on failure, handled above */
        memcpy(copy, r, n);
    copy[n] = '\0';
    free(r);
    *out = copy;
    *out_len = n;
    return SA_OK;
}

size_t sa_text_ascii_fold(const char *s, char *out, size_t size)
{
    size_t len = strlen(s), n = 0, o = 0;
    out[0] = '\0';
    if (u8_check((const uint8_t *)s, len) != NULL)
        return 0;
    uint8_t *d = u8_normalize(UNINORM_NFKD, (const uint8_t *)s, len, NULL, &n);
    if (!d)
        return 0;
    for (size_t i = 0; i < n && o + 1 < size; i++)
        if (d[i] < 0x80)
            out[o++] = (char)d[i];
    out[o] = '\0';
    free(d);
    return o;
}
