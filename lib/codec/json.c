/* json.c: strict JSON input and compact JSON output on top of json-c.
 *
 * Input is read in one pass by a small validating parser of our own, which builds the json-c
 * tree as it goes (json-c's tokener is not used). It accepts RFC 8259 grammar only (json-c's
 * JSON_TOKENER_STRICT still accepts 'single quotes', raw tabs in strings, "1.", NaN, lone
 * surrogates and overlong UTF-8), well-formed UTF-8, bounded depth, integers within int64
 * (json-c saturates silently), and no duplicate key in any object (json-c keeps the last one
 * silently). Its error messages copy Python's json module, so a client sees what Django's
 * "JSON parse error - ..." said. The tree is the one json-c's tokener builds from the same
 * text (the fuzz target checks this), except that every surrogate pair is decoded right:
 * json-c 0.16 turns some, such as "\ud837\ude00" (U+1DE00), into U+FFFD.
 *
 * Bytes that must be copied out of the text (keys, strings with escapes, the text of a
 * double) go through a scratch stack that starts in a small buffer on the caller's stack, so
 * a typical parse allocates nothing beyond json-c's own objects. */
#include "codec/json.h"
#include "core/text.h"

#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SA_JSON_MAX_DEPTH 64

/* Room for the keys (and escaped strings) of any document we expect; longer ones move the
 * scratch stack to the heap for the rest of the parse. */
#define SCRATCH_SMALL 256

typedef struct parser {
    const unsigned char *s;
    size_t len;
    size_t pos;
    /* Scratch stack: buf[0..used) of cap bytes; buf is small until it needs to grow. A key
     * stays pushed while its value is parsed, so positions in it are kept as offsets. */
    unsigned char *buf;
    size_t used, cap;
    unsigned char small[SCRATCH_SMALL];
    /* First error. */
    sa_status status;
    size_t err_pos;
    bool err_no_pos; /* DRF's NaN/Infinity message and "Out of memory" have no position */
    char reason[128];
    /* First duplicate key in the text, reported only if the text is otherwise well-formed,
     * so that a syntax error reads as Python would report it. */
    bool dup;
    size_t dup_pos;
    char dup_reason[128];
} parser;

static int parse_value(parser *ps, unsigned depth, json_object **out);

/* Record the first error (at byte pos of the text). Always returns -1. */
static int fail_at(parser *ps, sa_status status, size_t pos, const char *reason)
{
    if (ps->status == SA_OK) {
        ps->status = status;
        ps->err_pos = pos;
        snprintf(ps->reason, sizeof ps->reason, "%s", reason);
    }
    return -1;
}

/* Record the first error, with a message that names no position. Always returns -1. */
static int fail_no_pos(parser *ps, sa_status status, const char *reason)
{
    if (ps->status == SA_OK)
        ps->err_no_pos = true;
    return fail_at(ps, status, ps->pos, reason);
}

static int fail_nomem(parser *ps)
{
    return fail_no_pos(ps, SA_ERR_NOMEM, "Out of memory");
}

/* Make room for n more bytes on the scratch stack. Returns 0 or -1. */
static int scratch_reserve(parser *ps, size_t n)
{
    if (ps->cap - ps->used >= n)
        return 0;
    if (n > SIZE_MAX / 2 - ps->used)
        return fail_nomem(ps);
    size_t cap = ps->used + n > 2 * ps->cap ? ps->used + n : 2 * ps->cap;
    unsigned char *b = ps->buf == ps->small ? malloc(cap) : realloc(ps->buf, cap);
    if (!b)
        return fail_nomem(ps);
    if (ps->buf == ps->small)
        memcpy(b, ps->small, ps->used);
    ps->buf = b;
    ps->cap = cap;
    return 0;
}

/* Push n bytes on the scratch stack. Returns 0 or -1. */
static int scratch_put(parser *ps, const void *bytes, size_t n)
{
    if (scratch_reserve(ps, n) != 0)
        return -1;
    memcpy(ps->buf + ps->used, bytes, n);
    ps->used += n;
    return 0;
}

/* Push n bytes and a NUL after them. Returns 0 or -1. */
static int scratch_put_cstr(parser *ps, const void *bytes, size_t n)
{
    if (scratch_reserve(ps, n + 1) != 0)
        return -1;
    memcpy(ps->buf + ps->used, bytes, n);
    ps->buf[ps->used + n] = '\0';
    ps->used += n + 1;
    return 0;
}

/* Push code point cp (at most U+10FFFF, no surrogate) as UTF-8. Returns 0 or -1. */
static int scratch_put_utf8(parser *ps, unsigned long cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return scratch_put(ps, u, n);
}

static void skip_ws(parser *ps)
{
    while (ps->pos < ps->len) {
        unsigned char c = ps->s[ps->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        ps->pos++;
    }
}

/* True when the text at ps->pos is byte c. */
static bool at(const parser *ps, unsigned char c)
{
    return ps->pos < ps->len && ps->s[ps->pos] == c;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Read 4 hex digits at ps->s[pos]; returns the code unit or -1. */
static long read_hex4(const parser *ps, size_t pos)
{
    long v = 0;
    if (pos > ps->len || ps->len - pos < 4)
        return -1;
    for (size_t i = 0; i < 4; i++) {
        int h = hex_value(ps->s[pos + i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Length of the well-formed UTF-8 sequence at s[0..avail), or 0 if it is not one
 * (overlong forms, surrogates, above U+10FFFF and truncation all count as malformed). */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned long cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

bool sa_json_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* Decode the escape whose backslash is at bs (the text has at least one byte after it):
 * *cp gets the code point and *used the escape's length in the text (2, 6, or 12 for a
 * surrogate pair). Returns 0 or -1. */
static int parse_escape(parser *ps, size_t bs, unsigned long *cp, size_t *used)
{
    *used = 2;
    switch (ps->s[bs + 1]) {
    case '"': *cp = '"'; return 0;
    case '\\': *cp = '\\'; return 0;
    case '/': *cp = '/'; return 0;
    case 'b': *cp = '\b'; return 0;
    case 'f': *cp = '\f'; return 0;
    case 'n': *cp = '\n'; return 0;
    case 'r': *cp = '\r'; return 0;
    case 't': *cp = '\t'; return 0;
    case 'u': break;
    default: return fail_at(ps, SA_ERR_INVALID, bs, "Invalid \\escape");
    }
    long u = read_hex4(ps, bs + 2);
    /* Security: a lone surrogate has no UTF-8 form; json-c would turn it into U+FFFD, so two
     * different texts could decode to one key. Refuse it. */
    if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF))
        return fail_at(ps, SA_ERR_INVALID, bs + 1, "Invalid \\uXXXX escape");
    *used = 6;
    *cp = (unsigned long)u;
    if (u >= 0xD800 && u <= 0xDBFF) {
        long lo = -1;
        if (bs + 7 < ps->len && ps->s[bs + 6] == '\\' && ps->s[bs + 7] == 'u')
            lo = read_hex4(ps, bs + 8);
        if (lo < 0xDC00 || lo > 0xDFFF)
            return fail_at(ps, SA_ERR_INVALID, bs + 1, "Invalid \\uXXXX escape");
        *cp = 0x10000 + (((unsigned long)u - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
        *used = 12;
    }
    return 0;
}

/* Bytes that need no attention inside a string: printable ASCII other than '"' (0x22) and
 * '\\' (0x5C). */
static const bool plain_byte[256] = {[0x20 ... 0x21] = true, [0x23 ... 0x5B] = true,
                                     [0x5D ... 0x7F] = true};

/* The end of the run of plain bytes from p on. */
static size_t plain_run(const unsigned char *s, size_t p, size_t len)
{
    while (p < len && plain_byte[s[p]])
        p++;
    return p;
}

/* Scan and decode the string whose opening quote is at ps->pos. A key, or a string with an
 * escape, is decoded onto the scratch stack with a NUL after it; any other string is left
 * where it is in the text. *out and *len give the decoded bytes (*out valid until the next
 * push). A key may not hold "\u0000". Returns 0 or -1. */
static int parse_string(parser *ps, bool key, const char **out, size_t *len)
{
    const unsigned char *s = ps->s;
    const size_t start = ps->pos, end = ps->len, mark = ps->used;
    bool copy = key;               /* decoding onto the scratch stack */
    size_t p = start + 1, run = p; /* run: first byte of the text not yet copied */
    *out = NULL; /* (never read after a failure; set so that scan-build, which stops */
    *len = 0;    /*  following fail_at when its budget runs out, sees no garbage) */
    for (;;) {
        p = plain_run(s, p, end);
        if (p >= end)
            return fail_at(ps, SA_ERR_INVALID, start, "Unterminated string starting at");
        unsigned char c = s[p];
        if (c == '"')
            break;
        if (c < 0x20)
            return fail_at(ps, SA_ERR_INVALID, p, "Invalid control character at");
        if (c == '\\') {
            size_t used;
            unsigned long cp;
            if (p + 1 >= end)
                return fail_at(ps, SA_ERR_INVALID, start, "Unterminated string starting at");
            if (parse_escape(ps, p, &cp, &used) != 0)
                return -1;
            /* Security: json-c keys are C strings, so "a\u0000b" and "a\u0000c" would
             * silently become the same key "a". */
            if (key && cp == 0)
                return fail_at(ps, SA_ERR_INVALID, p, "Invalid \\u0000 in property name");
            copy = true;
            if (scratch_put(ps, s + run, p - run) != 0 || scratch_put_utf8(ps, cp) != 0)
                return -1;
            p = run = p + used;
            continue;
        }
        size_t n = utf8_seq_len(s + p, end - p);
        if (n == 0)
            return fail_at(ps, SA_ERR_INVALID, p, "Invalid UTF-8 at");
        p += n;
    }
    if (copy) {
        if (scratch_put_cstr(ps, s + run, p - run) != 0)
            return -1;
        *out = (const char *)ps->buf + mark;
        *len = ps->used - mark - 1;
    } else {
        *out = (const char *)s + start + 1;
        *len = p - start - 1;
    }
    ps->pos = p + 1; /* past the closing quote */
    return 0;
}

/* The integer with digits ps->s[digits..end) (negative when neg) as a json-c int64.
 * Security: json-c clamps out-of-range integers to INT64_MIN/MAX (or UINT64_MAX) without
 * telling anyone; refuse them so a clamped value is never read. */
static int make_int(parser *ps, size_t start, size_t digits, size_t end, bool neg,
                    json_object **out)
{
    const unsigned long long limit = neg ? (unsigned long long)INT64_MAX + 1ULL
                                         : (unsigned long long)INT64_MAX;
    unsigned long long v = 0;
    for (size_t i = digits; i < end; i++) {
        unsigned d = (unsigned)(ps->s[i] - '0');
        if (v > (limit - d) / 10)
            return fail_at(ps, SA_ERR_INVALID, start, "Integer out of range");
        v = v * 10 + d;
    }
    int64_t value = !neg ? (int64_t)v : v == limit ? INT64_MIN : -(int64_t)v;
    *out = json_object_new_int64(value);
    return *out ? 0 : fail_nomem(ps);
}

/* The double spelled ps->s[start..end) as json-c's tokener makes it: the value as strtod
 * reads it (in the "C" locale whatever the process's, as the tokener did), and the text
 * itself, which json-c writes back unchanged. Returns 0 or -1. */
static int make_double(parser *ps, size_t start, size_t end, json_object **out)
{
    const size_t mark = ps->used;
    if (scratch_put_cstr(ps, ps->s + start, end - start) != 0)
        return -1;
    const char *text = (const char *)ps->buf + mark;
    /* glibc hands out its built-in "C" locale here without allocating. */
    locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    double d = c_locale ? strtod_l(text, NULL, c_locale) : strtod(text, NULL);
    if (c_locale)
        freelocale(c_locale);
    *out = json_object_new_double_s(d, text);
    ps->used = mark;
    return *out ? 0 : fail_nomem(ps);
}

/* True when ps->s[p] is an ASCII digit. */
static bool digit_at(const parser *ps, size_t p)
{
    return p < ps->len && ps->s[p] >= '0' && ps->s[p] <= '9';
}

/* The number at ps->pos in Python's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?,
 * each optional part taken only when complete (so "1." reads as 1 followed by extra data, as
 * in Python). Without a fraction or exponent it is an integer. Returns 0 or -1. */
static int parse_number(parser *ps, json_object **out)
{
    size_t start = ps->pos, p = ps->pos;
    bool neg = false, integer = true;
    if (p < ps->len && ps->s[p] == '-') {
        neg = true;
        p++;
    }
    if (!digit_at(ps, p))
        return fail_at(ps, SA_ERR_INVALID, start, "Expecting value");
    size_t digits = p;
    if (ps->s[p] == '0') {
        p++;
    } else {
        while (digit_at(ps, p))
            p++;
    }
    size_t digits_end = p;
    if (p < ps->len && ps->s[p] == '.' && digit_at(ps, p + 1)) {
        integer = false;
        p += 2;
        while (digit_at(ps, p))
            p++;
    }
    if (p < ps->len && (ps->s[p] == 'e' || ps->s[p] == 'E')) {
        size_t q = p + 1;
        if (q < ps->len && (ps->s[q] == '+' || ps->s[q] == '-'))
            q++;
        if (digit_at(ps, q)) {
            integer = false;
            p = q;
            while (digit_at(ps, p))
                p++;
        }
    }
    int r = integer ? make_int(ps, start, digits, digits_end, neg, out)
                    : make_double(ps, start, p, out);
    ps->pos = p;
    return r;
}

/* Note the key (len bytes, opening quote at pos) when obj already has it, describing it as
 * Python's messages would show it; only the first duplicate in the text is kept. Returns
 * whether it is a duplicate.
 * Security: json-c's object table hashes keys with a random per-process seed, so colliding
 * keys cannot be prepared in advance, and every key goes into that table anyway: looking it
 * up first adds no new way of making a parse quadratic. */
static bool note_duplicate(parser *ps, json_object *obj, const char *key, size_t len,
                           size_t pos)
{
    if (!key || json_object_object_length(obj) == 0 ||   /* !key: said for scan-build */
        !json_object_object_get_ex(obj, key, NULL))
        return false;
    if (ps->dup)
        return true; /* an earlier one is already noted: keys are met in text order */
    char shown[48];
    size_t m = sa_text_cut(key, len < 40 ? len : 40, 40); /* 40 bytes, whole characters */
    /* Control bytes, quotes and backslashes shown as '?'. */
    for (size_t j = 0; j < m; j++) {
        unsigned char c = (unsigned char)key[j];
        shown[j] = (c < 0x20 || c == '"' || c == '\\' || c == 0x7F) ? '?' : (char)c;
    }
    shown[m] = '\0';
    ps->dup = true;
    ps->dup_pos = pos;
    snprintf(ps->dup_reason, sizeof ps->dup_reason, "Duplicate key \"%s%s\"", shown,
             m < len ? "..." : "");
    return true;
}

/* One "key": value member at ps->pos, added to obj (unless the key is a duplicate, which is
 * noted instead). The key stays on the scratch stack while the value is parsed. */
static int parse_member(parser *ps, json_object *obj, unsigned depth)
{
    const size_t key_pos = ps->pos, mark = ps->used;
    const char *key;
    size_t key_len;
    json_object *value;
    if (!at(ps, '"'))
        return fail_at(ps, SA_ERR_INVALID, ps->pos,
                       "Expecting property name enclosed in double quotes");
    if (parse_string(ps, true, &key, &key_len) != 0)
        return -1;
    bool dup = note_duplicate(ps, obj, key, key_len, key_pos);
    skip_ws(ps);
    if (!at(ps, ':'))
        return fail_at(ps, SA_ERR_INVALID, ps->pos, "Expecting ':' delimiter");
    ps->pos++;
    skip_ws(ps);
    if (parse_value(ps, depth, &value) != 0)
        return -1;
    key = (const char *)ps->buf + mark; /* the scratch stack may have moved */
    if (dup) {
        json_object_put(value);
    } else if (json_object_object_add_ex(obj, key, value, JSON_C_OBJECT_ADD_KEY_IS_NEW) != 0) {
        json_object_put(value);
        return fail_nomem(ps);
    }
    ps->used = mark;
    return 0;
}

/* The object whose '{' is at ps->pos, at nesting level depth. */
static int parse_object(parser *ps, unsigned depth, json_object **out)
{
    json_object *obj = json_object_new_object();
    if (!obj)
        return fail_nomem(ps);
    ps->pos++; /* '{' */
    skip_ws(ps);
    if (at(ps, '}')) {
        ps->pos++;
        *out = obj;
        return 0;
    }
    for (;;) {
        if (parse_member(ps, obj, depth) != 0)
            break;
        skip_ws(ps);
        if (at(ps, ',')) {
            ps->pos++;
            skip_ws(ps);
            continue;
        }
        if (at(ps, '}')) {
            ps->pos++;
            *out = obj;
            return 0;
        }
        fail_at(ps, SA_ERR_INVALID, ps->pos, "Expecting ',' delimiter");
        break;
    }
    json_object_put(obj);
    return -1;
}

/* The array whose '[' is at ps->pos, at nesting level depth. */
static int parse_array(parser *ps, unsigned depth, json_object **out)
{
    json_object *arr = json_object_new_array();
    if (!arr)
        return fail_nomem(ps);
    ps->pos++; /* '[' */
    skip_ws(ps);
    if (at(ps, ']')) {
        ps->pos++;
        *out = arr;
        return 0;
    }
    for (;;) {
        json_object *v;
        if (parse_value(ps, depth, &v) != 0)
            break;
        if (json_object_array_add(arr, v) != 0) {
            json_object_put(v);
            fail_nomem(ps);
            break;
        }
        skip_ws(ps);
        if (at(ps, ',')) {
            ps->pos++;
            skip_ws(ps);
            continue;
        }
        if (at(ps, ']')) {
            ps->pos++;
            *out = arr;
            return 0;
        }
        fail_at(ps, SA_ERR_INVALID, ps->pos, "Expecting ',' delimiter");
        break;
    }
    json_object_put(arr);
    return -1;
}

/* True when the text at ps->pos starts with word. */
static bool at_word(const parser *ps, const char *word)
{
    size_t n = strlen(word);
    return ps->len - ps->pos >= n && memcmp(ps->s + ps->pos, word, n) == 0;
}

/* true, false or null (as NULL, json-c's null) at ps->pos; anything else is no value. */
static int parse_literal(parser *ps, json_object **out)
{
    if (at_word(ps, "null")) {
        ps->pos += 4;
        return 0; /* *out stays NULL */
    }
    bool value = at_word(ps, "true");
    if (!value && !at_word(ps, "false"))
        return fail_at(ps, SA_ERR_INVALID, ps->pos, "Expecting value");
    ps->pos += value ? 4 : 5;
    *out = json_object_new_boolean(value);
    return *out ? 0 : fail_nomem(ps);
}

/* NaN, Infinity or -Infinity at ps->pos: Python reads these, and DRF (STRICT_JSON) then
 * refuses them with this message. Anything else is no value. Always returns -1. */
static int refuse_non_finite(parser *ps)
{
    static const char *const words[] = {"NaN", "Infinity", "-Infinity"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (at_word(ps, words[i])) {
            char reason[96];
            snprintf(reason, sizeof reason,
                     "Out of range float values are not JSON compliant: '%s'", words[i]);
            return fail_no_pos(ps, SA_ERR_INVALID, reason);
        }
    }
    return fail_at(ps, SA_ERR_INVALID, ps->pos, "Expecting value");
}

/* One value at ps->pos (whitespace already skipped), at nesting level depth, into *out (a new
 * reference; NULL for null). Returns 0, or -1 with *out NULL and nothing left allocated.
 * Recursion is bounded by depth. */
static int parse_value(parser *ps, unsigned depth, json_object **out)
{
    *out = NULL;
    if (ps->pos >= ps->len)
        return fail_at(ps, SA_ERR_INVALID, ps->pos, "Expecting value");
    unsigned char c = ps->s[ps->pos];
    if (c == '{' || c == '[') {
        /* Security: bounded recursion. */
        if (depth >= SA_JSON_MAX_DEPTH)
            return fail_at(ps, SA_ERR_INVALID, ps->pos, "Nesting too deep");
        return c == '{' ? parse_object(ps, depth + 1, out) : parse_array(ps, depth + 1, out);
    }
    if (c == '"') {
        const size_t mark = ps->used;
        const char *s;
        size_t n;
        if (parse_string(ps, false, &s, &n) != 0)
            return -1;
        *out = json_object_new_string_len(s, (int)n); /* n < len < INT_MAX */
        ps->used = mark;
        return *out ? 0 : fail_nomem(ps);
    }
    if (c == 'N' || c == 'I' || at_word(ps, "-I"))
        return refuse_non_finite(ps);
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(ps, out);
    return parse_literal(ps, out);
}

/* Python's "<reason>: line L column C (char P)", positions counted in characters. */
static void format_reason(const parser *ps, sa_error *err)
{
    if (ps->err_no_pos) {
        SA_FAIL(err, ps->status, "%s", ps->reason);
        return;
    }
    size_t chars = 0, line = 1, line_start = 0; /* in characters */
    for (size_t i = 0; i < ps->err_pos && i < ps->len; i++) {
        unsigned char c = ps->s[i];
        if ((c & 0xC0) == 0x80)
            continue;
        chars++;
        if (c == '\n') {
            line++;
            line_start = chars;
        }
    }
    SA_FAIL(err, ps->status, "%s: line %zu column %zu (char %zu)", ps->reason, line,
            chars - line_start + 1, chars);
}

sa_status sa_json_parse(const char *text, size_t len, json_object **out, sa_error *err)
{
    parser ps = {.s = (const unsigned char *)text, .len = len, .status = SA_OK};
    json_object *root = NULL;

    if (out)
        *out = NULL;
    if (!out || (!text && len > 0))
        return SA_FAIL(err, SA_ERR_INVALID, "Invalid arguments");
    /* json-c's string lengths are ints. */
    if (len >= INT_MAX)
        return SA_FAIL(err, SA_ERR_TOO_LARGE, "Document too large");
    ps.buf = ps.small;
    ps.cap = sizeof ps.small;

    skip_ws(&ps);
    if (parse_value(&ps, 0, &root) == 0) {
        skip_ws(&ps);
        if (ps.pos != ps.len)
            fail_at(&ps, SA_ERR_INVALID, ps.pos, "Extra data");
    }
    if (ps.status == SA_OK && ps.dup)
        fail_at(&ps, SA_ERR_INVALID, ps.dup_pos, ps.dup_reason);
    if (ps.buf != ps.small)
        free(ps.buf);
    if (ps.status != SA_OK) {
        json_object_put(root);
        format_reason(&ps, err);
        return ps.status;
    }
    *out = root;
    return SA_OK;
}

/* Look key up in obj for a value of one type (json_type_null: JSON null, *v NULL). Returns
 * SA_OK (*v set), SA_ERR_NOT_FOUND, or SA_ERR_INVALID when obj is not an object or the value
 * has another type. Security: the type is checked here, never coerced: json-c would read a
 * double, string or boolean as an integer, and the string "false" as true. */
static sa_status member(json_object *obj, const char *key, json_type type, json_object **v)
{
    *v = NULL;
    if (!obj || !key || !json_object_is_type(obj, json_type_object))
        return SA_ERR_INVALID;
    if (!json_object_object_get_ex(obj, key, v))
        return SA_ERR_NOT_FOUND;
    if (!json_object_is_type(*v, type))
        return SA_ERR_INVALID;
    return SA_OK;
}

sa_status sa_json_get_string(json_object *obj, const char *key, const char **out, size_t *len)
{
    json_object *v;
    sa_status st = member(obj, key, json_type_string, &v);
    if (st != SA_OK)
        return st;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    /* Security: a "\u0000" inside would make the C string a different, shorter value. */
    if (memchr(s, '\0', n))
        return SA_ERR_INVALID;
    if (out)
        *out = s;
    if (len)
        *len = n;
    return SA_OK;
}

sa_status sa_json_get_int64(json_object *obj, const char *key, int64_t *out)
{
    json_object *v;
    sa_status st = member(obj, key, json_type_int, &v);
    if (st != SA_OK)
        return st;
    int64_t i = json_object_get_int64(v);
    /* An unsigned value above INT64_MAX (built with json_object_new_uint64) reads as
     * INT64_MAX: refuse it rather than clamp. Parsed text never gets here (see scan_number). */
    if (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
        return SA_ERR_INVALID;
    if (out)
        *out = i;
    return SA_OK;
}

sa_status sa_json_get_bool(json_object *obj, const char *key, bool *out)
{
    json_object *v;
    sa_status st = member(obj, key, json_type_boolean, &v);
    if (st != SA_OK)
        return st;
    if (out)
        *out = json_object_get_boolean(v) != 0;
    return SA_OK;
}

bool sa_json_is_null(json_object *obj, const char *key)
{
    json_object *v;
    return member(obj, key, json_type_null, &v) == SA_OK;
}

const char *sa_json_compact(json_object *obj, size_t *len)
{
    size_t n = 0;
    /* json-c writes non-ASCII UTF-8 as is and escapes only '"', '\\' and control characters
     * (\b \f \n \r \t by name, others as lower-case \u00xx), exactly like Python's
     * json.dumps(ensure_ascii=False); NOSLASHESCAPE keeps '/' as is. */
    const char *s = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (len)
        *len = s ? n : 0;
    return s;
}

static size_t put_u_escape(char *out, unsigned long unit)
{
    static const char hex[] = "0123456789abcdef";
    out[0] = '\\';
    out[1] = 'u';
    out[2] = hex[(unit >> 12) & 0xF];
    out[3] = hex[(unit >> 8) & 0xF];
    out[4] = hex[(unit >> 4) & 0xF];
    out[5] = hex[unit & 0xF];
    return 6;
}

sa_status sa_json_append_string(char *buf, size_t size, size_t *pos, const char *s, size_t len,
                                bool ensure_ascii)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t p = *pos;

    if (!sa_json_utf8_valid(s, len))
        return SA_ERR_INVALID;
    if (p >= size || size - p < 3)
        return SA_ERR_TOO_LARGE;
    buf[p++] = '"';
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        size_t n = utf8_seq_len(u + i, len - i);
        /* Room for the worst case of one character (a surrogate pair, 12 bytes), the
         * closing quote and the NUL. */
        if (size - p < 14)
            return SA_ERR_TOO_LARGE;
        if (c >= 0x80 && ensure_ascii) {
            unsigned long cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
            for (size_t j = 1; j < n; j++)
                cp = (cp << 6) | (u[i + j] & 0x3F);
            if (cp >= 0x10000) {
                cp -= 0x10000;
                p += put_u_escape(buf + p, 0xD800 + (cp >> 10));
                p += put_u_escape(buf + p, 0xDC00 + (cp & 0x3FF));
            } else {
                p += put_u_escape(buf + p, cp);
            }
            i += n;
            continue;
        }
        if (c >= 0x80) {
            memcpy(buf + p, u + i, n);
            p += n;
            i += n;
            continue;
        }
        switch (c) {
        case '"': buf[p++] = '\\'; buf[p++] = '"'; break;
        case '\\': buf[p++] = '\\'; buf[p++] = '\\'; break;
        case '\b': buf[p++] = '\\'; buf[p++] = 'b'; break;
        case '\f': buf[p++] = '\\'; buf[p++] = 'f'; break;
        case '\n': buf[p++] = '\\'; buf[p++] = 'n'; break;
        case '\r': buf[p++] = '\\'; buf[p++] = 'r'; break;
        case '\t': buf[p++] = '\\'; buf[p++] = 't'; break;
        default:
            if (c < 0x20 || (c == 0x7F && ensure_ascii))
                p += put_u_escape(buf + p, c);
            else
                buf[p++] = (char)c;
        }
        i++;
    }
    buf[p++] = '"';
    buf[p] = '\0';
    *pos = p;
    return SA_OK;
}
