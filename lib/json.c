/* json.c: strict JSON input and compact JSON output on top of json-c.
 *
 * Input is checked twice. First a small validating scanner of our own walks the raw text:
 * RFC 8259 grammar only (json-c's JSON_TOKENER_STRICT still accepts 'single quotes', raw
 * tabs in strings, "1.", NaN, lone surrogates and overlong UTF-8), well-formed UTF-8, depth,
 * integers within int64 (json-c saturates silently), and no duplicate key in any object
 * (json-c keeps the last one silently). Its error messages copy Python's json module, so a
 * client sees what Django's "JSON parse error - ..." said. Only then does json-c build the
 * tree from the same bytes. */
#include "json.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SA_JSON_MAX_DEPTH 64

/* One key of an open object: its decoded bytes in the arena and where it started. */
typedef struct scan_key {
    size_t off;   /* into arena */
    size_t len;
    size_t pos;   /* byte offset of its opening quote in the text */
} scan_key;

typedef struct scanner {
    const unsigned char *s;
    size_t len;
    size_t pos;
    /* Keys of the objects currently open, innermost last; popped when an object closes. */
    scan_key *keys;
    size_t nkeys, keys_cap;
    unsigned char *arena; /* decoded keys; never longer than the text itself */
    size_t arena_used;
    /* First error. */
    sa_status status;
    size_t err_pos;
    bool err_no_pos; /* DRF's NaN/Infinity message has no position */
    char reason[128];
    /* First duplicate key, reported only if the text is otherwise well-formed, so that a
     * syntax error reads as Python would report it. */
    bool dup;
    size_t dup_pos;
    char dup_reason[128];
} scanner;

static int scan_value(scanner *sc, unsigned depth);

static int scan_fail(scanner *sc, sa_status status, size_t pos, const char *reason)
{
    if (sc->status == SA_OK) {
        sc->status = status;
        sc->err_pos = pos;
        snprintf(sc->reason, sizeof sc->reason, "%s", reason);
    }
    return -1;
}

static void skip_ws(scanner *sc)
{
    while (sc->pos < sc->len) {
        unsigned char c = sc->s[sc->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        sc->pos++;
    }
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

/* Read 4 hex digits at sc->s[at]; returns the code unit or -1. */
static long read_hex4(const scanner *sc, size_t at)
{
    long v = 0;
    if (at > sc->len || sc->len - at < 4)
        return -1;
    for (size_t i = 0; i < 4; i++) {
        int h = hex_value(sc->s[at + i]);
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

static void arena_put_utf8(scanner *sc, unsigned long cp)
{
    unsigned char *a = sc->arena + sc->arena_used;
    if (cp < 0x80) {
        a[0] = (unsigned char)cp;
        sc->arena_used += 1;
    } else if (cp < 0x800) {
        a[0] = (unsigned char)(0xC0 | (cp >> 6));
        a[1] = (unsigned char)(0x80 | (cp & 0x3F));
        sc->arena_used += 2;
    } else if (cp < 0x10000) {
        a[0] = (unsigned char)(0xE0 | (cp >> 12));
        a[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        a[2] = (unsigned char)(0x80 | (cp & 0x3F));
        sc->arena_used += 3;
    } else {
        a[0] = (unsigned char)(0xF0 | (cp >> 18));
        a[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        a[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        a[3] = (unsigned char)(0x80 | (cp & 0x3F));
        sc->arena_used += 4;
    }
}

/* Scan the string whose opening quote is at sc->pos. When `key` is set, its decoded bytes
 * are appended to the arena (room is guaranteed: a decoded string is never longer than its
 * source text) and recorded in *key. Returns 0 or -1. */
static int scan_string(scanner *sc, scan_key *key)
{
    size_t start = sc->pos;
    sc->pos++; /* opening quote */
    if (key) {
        key->off = sc->arena_used;
        key->pos = start;
    }
    for (;;) {
        if (sc->pos >= sc->len)
            return scan_fail(sc, SA_ERR_INVALID, start, "Unterminated string starting at");
        unsigned char c = sc->s[sc->pos];
        if (c == '"') {
            sc->pos++;
            break;
        }
        if (c < 0x20)
            return scan_fail(sc, SA_ERR_INVALID, sc->pos, "Invalid control character at");
        if (c == '\\') {
            size_t bs = sc->pos;
            if (bs + 1 >= sc->len)
                return scan_fail(sc, SA_ERR_INVALID, start, "Unterminated string starting at");
            unsigned char e = sc->s[bs + 1];
            unsigned long cp;
            switch (e) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u': {
                long u = read_hex4(sc, bs + 2);
                if (u < 0)
                    return scan_fail(sc, SA_ERR_INVALID, bs + 1, "Invalid \\uXXXX escape");
                size_t used = 6;
                /* Security: a lone surrogate has no UTF-8 form; json-c would turn it into
                 * U+FFFD, so two different texts could decode to one key. Refuse it. */
                if (u >= 0xDC00 && u <= 0xDFFF)
                    return scan_fail(sc, SA_ERR_INVALID, bs + 1, "Invalid \\uXXXX escape");
                if (u >= 0xD800 && u <= 0xDBFF) {
                    long lo = -1;
                    if (bs + 7 < sc->len && sc->s[bs + 6] == '\\' && sc->s[bs + 7] == 'u')
                        lo = read_hex4(sc, bs + 8);
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return scan_fail(sc, SA_ERR_INVALID, bs + 1, "Invalid \\uXXXX escape");
                    cp = 0x10000 + (((unsigned long)u - 0xD800) << 10) +
                         ((unsigned long)lo - 0xDC00);
                    used = 12;
                } else {
                    cp = (unsigned long)u;
                }
                /* Security: json-c keys are C strings, so "a\u0000b" and "a\u0000c" would
                 * silently become the same key "a". */
                if (key && cp == 0)
                    return scan_fail(sc, SA_ERR_INVALID, bs, "Invalid \\u0000 in property name");
                if (key)
                    arena_put_utf8(sc, cp);
                sc->pos = bs + used;
                continue;
            }
            default:
                return scan_fail(sc, SA_ERR_INVALID, bs, "Invalid \\escape");
            }
            if (key)
                arena_put_utf8(sc, cp);
            sc->pos = bs + 2;
            continue;
        }
        size_t n = utf8_seq_len(sc->s + sc->pos, sc->len - sc->pos);
        if (n == 0)
            return scan_fail(sc, SA_ERR_INVALID, sc->pos, "Invalid UTF-8 at");
        if (key) {
            memcpy(sc->arena + sc->arena_used, sc->s + sc->pos, n);
            sc->arena_used += n;
        }
        sc->pos += n;
    }
    if (key)
        key->len = sc->arena_used - key->off;
    return 0;
}

/* Python's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?, each optional
 * part taken only when complete (so "1." scans as 1 followed by extra data, as in Python). */
static int scan_number(scanner *sc)
{
    size_t start = sc->pos, p = sc->pos;
    bool neg = false, integer = true;
    if (p < sc->len && sc->s[p] == '-') {
        neg = true;
        p++;
    }
    if (p >= sc->len || sc->s[p] < '0' || sc->s[p] > '9')
        return scan_fail(sc, SA_ERR_INVALID, start, "Expecting value");
    size_t digits = p;
    if (sc->s[p] == '0') {
        p++;
    } else {
        while (p < sc->len && sc->s[p] >= '0' && sc->s[p] <= '9')
            p++;
    }
    size_t digits_end = p;
    if (p + 1 < sc->len && sc->s[p] == '.' && sc->s[p + 1] >= '0' && sc->s[p + 1] <= '9') {
        integer = false;
        p += 2;
        while (p < sc->len && sc->s[p] >= '0' && sc->s[p] <= '9')
            p++;
    }
    if (p < sc->len && (sc->s[p] == 'e' || sc->s[p] == 'E')) {
        size_t q = p + 1;
        if (q < sc->len && (sc->s[q] == '+' || sc->s[q] == '-'))
            q++;
        if (q < sc->len && sc->s[q] >= '0' && sc->s[q] <= '9') {
            integer = false;
            p = q;
            while (p < sc->len && sc->s[p] >= '0' && sc->s[p] <= '9')
                p++;
        }
    }
    if (integer) {
        /* Security: json-c clamps out-of-range integers to INT64_MIN/MAX (or UINT64_MAX)
         * without telling anyone; refuse them here so a clamped value is never read. */
        const unsigned long long limit = neg ? (unsigned long long)INT64_MAX + 1ULL
                                             : (unsigned long long)INT64_MAX;
        unsigned long long v = 0;
        for (size_t i = digits; i < digits_end; i++) {
            unsigned d = (unsigned)(sc->s[i] - '0');
            if (v > (limit - d) / 10)
                return scan_fail(sc, SA_ERR_INVALID, start, "Integer out of range");
            v = v * 10 + d;
        }
    }
    sc->pos = p;
    return 0;
}

static bool match(const scanner *sc, const char *word)
{
    size_t n = strlen(word);
    return sc->len - sc->pos >= n && memcmp(sc->s + sc->pos, word, n) == 0;
}

static int key_cmp(const void *a, const void *b, void *arena)
{
    const scan_key *x = a, *y = b;
    const unsigned char *base = arena;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(base + x->off, base + y->off, n);
    if (c != 0)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    /* Equal keys: order by position so the later one is reported. */
    return x->pos < y->pos ? -1 : (x->pos > y->pos ? 1 : 0);
}

/* Note (in sc->dup) the first object whose keys keys[first..nkeys) hold two equal ones.
 * Security: sorting (O(n log n), glibc's merge sort) rather than hashing keeps a crafted
 * body of colliding keys from turning this check into quadratic work. */
static void check_duplicates(scanner *sc, size_t first)
{
    size_t n = sc->nkeys - first;
    if (n < 2)
        return;
    scan_key *k = sc->keys + first;
    const scan_key *found = NULL;
    qsort_r(k, n, sizeof *k, key_cmp, sc->arena);
    for (size_t i = 1; i < n; i++) {
        if (k[i].len == k[i - 1].len &&
            memcmp(sc->arena + k[i].off, sc->arena + k[i - 1].off, k[i].len) == 0 &&
            (!found || k[i].pos < found->pos))
            found = &k[i]; /* the second of a pair: the one a reader sees as repeated */
    }
    /* Report the duplicate that comes first in the text. */
    if (!found || (sc->dup && sc->dup_pos < found->pos))
        return;
    char shown[48];
    size_t m = 0;
    /* At most 40 bytes of the key, control bytes, quotes and backslashes as '?'. */
    for (size_t j = 0; j < found->len && m < 40; j++) {
        unsigned char c = sc->arena[found->off + j];
        shown[m++] = (c < 0x20 || c == '"' || c == '\\' || c == 0x7F) ? '?' : (char)c;
    }
    /* Do not cut a UTF-8 sequence in half. */
    while (m > 0 && !sa_json_utf8_valid(shown, m))
        m--;
    shown[m] = '\0';
    sc->dup = true;
    sc->dup_pos = found->pos;
    snprintf(sc->dup_reason, sizeof sc->dup_reason, "Duplicate key \"%s%s\"", shown,
             m < found->len ? "..." : "");
}

static int scan_object(scanner *sc, unsigned depth)
{
    size_t first = sc->nkeys, arena_mark = sc->arena_used;
    sc->pos++; /* '{' */
    skip_ws(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
        sc->pos++;
        return 0;
    }
    if (!sc->arena) {
        sc->arena = malloc(sc->len);
        if (!sc->arena)
            return scan_fail(sc, SA_ERR_NOMEM, sc->pos, "Out of memory");
    }
    for (;;) {
        if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
            return scan_fail(sc, SA_ERR_INVALID, sc->pos,
                             "Expecting property name enclosed in double quotes");
        if (sc->nkeys == sc->keys_cap) {
            size_t cap = sc->keys_cap ? sc->keys_cap * 2 : 16;
            scan_key *k = realloc(sc->keys, cap * sizeof *k);
            if (!k)
                return scan_fail(sc, SA_ERR_NOMEM, sc->pos, "Out of memory");
            sc->keys = k;
            sc->keys_cap = cap;
        }
        if (scan_string(sc, &sc->keys[sc->nkeys]) != 0)
            return -1;
        sc->nkeys++;
        skip_ws(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
            return scan_fail(sc, SA_ERR_INVALID, sc->pos, "Expecting ':' delimiter");
        sc->pos++;
        skip_ws(sc);
        if (scan_value(sc, depth) != 0)
            return -1;
        skip_ws(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
            sc->pos++;
            skip_ws(sc);
            continue;
        }
        if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
            sc->pos++;
            break;
        }
        return scan_fail(sc, SA_ERR_INVALID, sc->pos, "Expecting ',' delimiter");
    }
    check_duplicates(sc, first);
    sc->nkeys = first;
    sc->arena_used = arena_mark;
    return 0;
}

static int scan_array(scanner *sc, unsigned depth)
{
    sc->pos++; /* '[' */
    skip_ws(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
        sc->pos++;
        return 0;
    }
    for (;;) {
        if (scan_value(sc, depth) != 0)
            return -1;
        skip_ws(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
            sc->pos++;
            skip_ws(sc);
            continue;
        }
        if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
            sc->pos++;
            return 0;
        }
        return scan_fail(sc, SA_ERR_INVALID, sc->pos, "Expecting ',' delimiter");
    }
}

/* One value at sc->pos (whitespace already skipped). Recursion is bounded by depth. */
static int scan_value(scanner *sc, unsigned depth)
{
    if (sc->pos >= sc->len)
        return scan_fail(sc, SA_ERR_INVALID, sc->pos, "Expecting value");
    unsigned char c = sc->s[sc->pos];
    switch (c) {
    case '{':
    case '[':
        /* Security: bounded recursion, here and in json-c. */
        if (depth >= SA_JSON_MAX_DEPTH)
            return scan_fail(sc, SA_ERR_INVALID, sc->pos, "Nesting too deep");
        return c == '{' ? scan_object(sc, depth + 1) : scan_array(sc, depth + 1);
    case '"':
        return scan_string(sc, NULL);
    case 't':
    case 'f':
    case 'n': {
        const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
        if (!match(sc, word))
            return scan_fail(sc, SA_ERR_INVALID, sc->pos, "Expecting value");
        sc->pos += strlen(word);
        return 0;
    }
    case 'N':
    case 'I':
    case '-': {
        /* Python reads these; DRF (STRICT_JSON) then refuses them with this message. */
        static const char *const consts[] = {"NaN", "Infinity", "-Infinity"};
        for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++) {
            if (match(sc, consts[i])) {
                char reason[96];
                snprintf(reason, sizeof reason,
                         "Out of range float values are not JSON compliant: '%s'", consts[i]);
                sc->err_no_pos = true;
                return scan_fail(sc, SA_ERR_INVALID, sc->pos, reason);
            }
        }
        if (c == '-')
            return scan_number(sc);
        return scan_fail(sc, SA_ERR_INVALID, sc->pos, "Expecting value");
    }
    default:
        if (c >= '0' && c <= '9')
            return scan_number(sc);
        return scan_fail(sc, SA_ERR_INVALID, sc->pos, "Expecting value");
    }
}

/* Python's "<reason>: line L column C (char P)", positions counted in characters. */
static void format_reason(const scanner *sc, sa_error *err)
{
    if (sc->err_no_pos) {
        SA_FAIL(err, sc->status, "%s", sc->reason);
        return;
    }
    size_t chars = 0, line = 1, line_start = 0; /* in characters */
    for (size_t i = 0; i < sc->err_pos && i < sc->len; i++) {
        unsigned char c = sc->s[i];
        if ((c & 0xC0) == 0x80)
            continue;
        chars++;
        if (c == '\n') {
            line++;
            line_start = chars;
        }
    }
    SA_FAIL(err, sc->status, "%s: line %zu column %zu (char %zu)", sc->reason, line,
            chars - line_start + 1, chars);
}

sa_status sa_json_parse(const char *text, size_t len, json_object **out, sa_error *err)
{
    scanner sc = {.s = (const unsigned char *)text, .len = len, .status = SA_OK};
    json_tokener *tok = NULL;
    json_object *obj = NULL;
    sa_status st = SA_OK;

    if (out)
        *out = NULL;
    if (!out || (!text && len > 0))
        return SA_FAIL(err, SA_ERR_INVALID, "Invalid arguments");
    /* json-c takes an int length. */
    if (len >= INT_MAX)
        return SA_FAIL(err, SA_ERR_TOO_LARGE, "Document too large");

    skip_ws(&sc);
    if (scan_value(&sc, 0) == 0) {
        skip_ws(&sc);
        if (sc.pos != sc.len)
            scan_fail(&sc, SA_ERR_INVALID, sc.pos, "Extra data");
    }
    if (sc.status == SA_OK && sc.dup)
        scan_fail(&sc, SA_ERR_INVALID, sc.dup_pos, sc.dup_reason);
    if (sc.status != SA_OK) {
        format_reason(&sc, err);
        st = sc.status;
        goto done;
    }

    /* The text is valid, unique-keyed, bounded JSON: now let json-c build it. */
    tok = json_tokener_new_ex(SA_JSON_MAX_DEPTH + 1);
    if (!tok) {
        st = SA_FAIL(err, SA_ERR_NOMEM, "Out of memory");
        goto done;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, text, (int)len);
    if (json_tokener_get_error(tok) == json_tokener_continue)
        obj = json_tokener_parse_ex(tok, "", 1); /* a top-level number ends at the NUL */
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(obj);
        obj = NULL;
        /* Our scanner accepted what json-c refused: a bug in one of the two. */
        st = SA_FAIL(err, SA_ERR_INVALID, "Invalid JSON");
        goto done;
    }
    *out = obj;

done:
    if (tok)
        json_tokener_free(tok);
    free(sc.keys);
    free(sc.arena);
    return st;
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
