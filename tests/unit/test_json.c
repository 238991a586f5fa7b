/* test_json.c: lib/codec/json.c - strict parsing with Python's messages, duplicate keys, typed
 * getters and compact output. Expected messages were taken from Python 3.11's json.loads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"

/* Parse text (strlen) and expect failure with exactly `msg`. */
static void expect_error_len(const char *text, size_t len, const char *msg)
{
    json_object *o = (json_object *)0x1;
    sa_error err = {0};
    sa_status st = sa_json_parse(text, len, &o, &err);
    if (st == SA_OK || strcmp(err.msg, msg) != 0)
        print_error("input %.60s: got status %d, msg \"%s\", want \"%s\"\n", text, st, err.msg,
                    msg);
    assert_int_equal(st, SA_ERR_INVALID);
    assert_null(o);
    assert_string_equal(err.msg, msg);
}

static void expect_error(const char *text, const char *msg)
{
    expect_error_len(text, strlen(text), msg);
}

/* Parse text and expect it to serialise back compactly as `compact`. */
static void expect_ok(const char *text, const char *compact)
{
    json_object *o = NULL;
    sa_error err = {0};
    sa_status st = sa_json_parse(text, strlen(text), &o, &err);
    if (st != SA_OK)
        print_error("input %.60s: %s\n", text, err.msg);
    assert_int_equal(st, SA_OK);
    size_t n = 0;
    const char *s = sa_json_compact(o, &n);
    assert_string_equal(s, compact);
    assert_int_equal(n, strlen(compact));
    json_object_put(o);
}

static void test_parse_valid(void **state)
{
    (void)state;
    expect_ok("{}", "{}");
    expect_ok("[]", "[]");
    expect_ok(" \t\r\n{ \"a\" : [ 1 , 2 ] }\n ", "{\"a\":[1,2]}");
    expect_ok("1", "1");
    expect_ok("-0", "0");
    expect_ok("\"x\"", "\"x\"");
    expect_ok("true", "true");
    expect_ok("[false,null]", "[false,null]");
    expect_ok("[0.5,-12.25e-3,1E+2]", "[0.5,-12.25e-3,1E+2]");
    expect_ok("{\"\":1}", "{\"\":1}");
    expect_ok("[9223372036854775807,-9223372036854775808]",
              "[9223372036854775807,-9223372036854775808]");
    /* Escapes are decoded; output is UTF-8 unescaped with '/' as is (ensure_ascii=False). */
    expect_ok("\"\\u00e9\\ud83d\\ude00\\/\\\"\\\\\\b\\f\\n\\r\\t\\u0001\"",
              "\"\xc3\xa9\xf0\x9f\x98\x80/\\\"\\\\\\b\\f\\n\\r\\t\\u0001\"");
    expect_ok("\"\xe2\x80\xa8\x7f\"", "\"\xe2\x80\xa8\x7f\"");
    /* Keys that differ only after a decoded escape are different keys. */
    expect_ok("{\"a\":1,\"b\":2,\"\\u0061b\":3}", "{\"a\":1,\"b\":2,\"ab\":3}");
}

static void test_parse_null_document(void **state)
{
    (void)state;
    json_object *o = (json_object *)0x1;
    assert_int_equal(sa_json_parse("null", 4, &o, NULL), SA_OK);
    assert_null(o); /* json-c's null */
}

static void test_parse_python_messages(void **state)
{
    (void)state;
    expect_error("", "Expecting value: line 1 column 1 (char 0)");
    expect_error(" ", "Expecting value: line 1 column 2 (char 1)");
    expect_error("[1,]", "Expecting value: line 1 column 4 (char 3)");
    expect_error("{\"a\":1,}",
                 "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)");
    expect_error("{'a':1}",
                 "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)");
    expect_error("[1] x", "Extra data: line 1 column 5 (char 4)");
    expect_error("{\"a\"}", "Expecting ':' delimiter: line 1 column 5 (char 4)");
    expect_error("{\"a\":1 \"b\":2}", "Expecting ',' delimiter: line 1 column 8 (char 7)");
    expect_error("[1 2]", "Expecting ',' delimiter: line 1 column 4 (char 3)");
    expect_error("\"abc", "Unterminated string starting at: line 1 column 1 (char 0)");
    expect_error("\"a\\x\"", "Invalid \\escape: line 1 column 3 (char 2)");
    expect_error("\"a\\u12\"", "Invalid \\uXXXX escape: line 1 column 4 (char 3)");
    expect_error("\"a\tb\"", "Invalid control character at: line 1 column 3 (char 2)");
    expect_error("1.", "Extra data: line 1 column 2 (char 1)");
    expect_error("01", "Extra data: line 1 column 2 (char 1)");
    expect_error("-", "Expecting value: line 1 column 1 (char 0)");
    expect_error("tru", "Expecting value: line 1 column 1 (char 0)");
    expect_error("TRUE", "Expecting value: line 1 column 1 (char 0)");
    expect_error("[", "Expecting value: line 1 column 2 (char 1)");
    expect_error("{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)");
    expect_error(".5", "Expecting value: line 1 column 1 (char 0)");
    expect_error("+1", "Expecting value: line 1 column 1 (char 0)");
    expect_error("1.5e+", "Extra data: line 1 column 4 (char 3)");
    expect_error("0x10", "Extra data: line 1 column 2 (char 1)");
    expect_error("/*c*/1", "Expecting value: line 1 column 1 (char 0)");
    expect_error("[1,\n2 x]", "Expecting ',' delimiter: line 2 column 3 (char 6)");
    /* Columns count characters, not bytes. */
    expect_error("{\"\xc3\xa9\":1,\"x\" 2}", "Expecting ':' delimiter: line 1 column 12 (char 11)");
    /* DRF's STRICT_JSON wording. */
    expect_error("NaN", "Out of range float values are not JSON compliant: 'NaN'");
    expect_error("[Infinity]", "Out of range float values are not JSON compliant: 'Infinity'");
    expect_error("-Infinity", "Out of range float values are not JSON compliant: '-Infinity'");
}

static void test_parse_stricter_than_python(void **state)
{
    (void)state;
    /* Duplicate keys, at the top and nested, also when spelled with escapes. */
    expect_error("{\"a\":1,\"a\":2}", "Duplicate key \"a\": line 1 column 8 (char 7)");
    expect_error("{\"x\":[{\"k\":1,\"k\":1}]}", "Duplicate key \"k\": line 1 column 14 (char 13)");
    expect_error("{\"ab\":1,\"\\u0061b\":2}", "Duplicate key \"ab\": line 1 column 9 (char 8)");
    /* The first duplicate in the text is named, whichever object closes first. */
    expect_error("{\"a\":1,\"b\":{\"c\":1,\"c\":2},\"a\":3}",
                 "Duplicate key \"c\": line 1 column 19 (char 18)");
    expect_error("{\"a\":1,\"a\":{\"c\":1,\"c\":2}}",
                 "Duplicate key \"a\": line 1 column 8 (char 7)");
    expect_error("{\"q\\\"\":1,\"q\\\"\":2}", "Duplicate key \"q?\": line 1 column 10 (char 9)");
    /* A long key is cut at 40 bytes, never inside a UTF-8 sequence. */
    expect_error("{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9" "b\":1,"
                 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9" "b\":2}",
                 "Duplicate key \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\": "
                 "line 1 column 48 (char 47)");
    /* A syntax error wins over a duplicate, as Python would report it. */
    expect_error("{\"a\":1,\"a\":2} x", "Extra data: line 1 column 15 (char 14)");
    /* json-c would make these two keys the same C string "a". */
    expect_error("{\"a\\u0000b\":1}",
                 "Invalid \\u0000 in property name: line 1 column 4 (char 3)");
    /* Lone surrogates. */
    expect_error("\"\\ud800\"", "Invalid \\uXXXX escape: line 1 column 3 (char 2)");
    expect_error("\"\\udc00\"", "Invalid \\uXXXX escape: line 1 column 3 (char 2)");
    expect_error("\"\\ud800\\u0041\"", "Invalid \\uXXXX escape: line 1 column 3 (char 2)");
    /* Malformed UTF-8: invalid byte, overlong, encoded surrogate, truncated, > U+10FFFF. */
    expect_error("\"\xff\"", "Invalid UTF-8 at: line 1 column 2 (char 1)");
    expect_error("\"\xc0\xaf\"", "Invalid UTF-8 at: line 1 column 2 (char 1)");
    expect_error("\"\xed\xa0\x80\"", "Invalid UTF-8 at: line 1 column 2 (char 1)");
    expect_error("\"\xe2\x80\"", "Invalid UTF-8 at: line 1 column 2 (char 1)");
    expect_error("\"\xf4\x90\x80\x80\"", "Invalid UTF-8 at: line 1 column 2 (char 1)");
    /* Integers json-c would clamp. */
    expect_error("9223372036854775808", "Integer out of range: line 1 column 1 (char 0)");
    expect_error("[-9223372036854775809]", "Integer out of range: line 1 column 2 (char 1)");
    expect_error("{\"exp\":99999999999999999999999}",
                 "Integer out of range: line 1 column 8 (char 7)");
    /* Raw NUL anywhere. */
    expect_error_len("[1]\0", 4, "Extra data: line 1 column 4 (char 3)");
    expect_error_len("\"a\0\"", 4, "Invalid control character at: line 1 column 3 (char 2)");
}

static void test_parse_depth(void **state)
{
    (void)state;
    char buf[512];
    /* 64 levels pass, 65 do not (arrays and objects). */
    memset(buf, '[', 64);
    memset(buf + 64, ']', 64);
    buf[128] = '\0';
    json_object *o = NULL;
    assert_int_equal(sa_json_parse(buf, 128, &o, NULL), SA_OK);
    json_object_put(o);
    memset(buf, '[', 65);
    memset(buf + 65, ']', 65);
    buf[130] = '\0';
    expect_error(buf, "Nesting too deep: line 1 column 65 (char 64)");

    size_t p = 0;
    for (int i = 0; i < 65; i++)
        p += (size_t)snprintf(buf + p, sizeof buf - p, "{\"a\":");
    buf[p++] = '1';
    memset(buf + p, '}', 65);
    buf[p + 65] = '\0';
    expect_error(buf, "Nesting too deep: line 1 column 321 (char 320)");

    /* Very deep input fails fast without recursing past the bound. */
    size_t big = 1 << 20;
    char *deep = malloc(big + 1);
    assert_non_null(deep);
    memset(deep, '[', big);
    deep[big] = '\0';
    expect_error_len(deep, big, "Nesting too deep: line 1 column 65 (char 64)");
    free(deep);
}

/* Many keys in one object: duplicates found, and found quickly (sorting, not pairs). */
static void test_parse_many_keys(void **state)
{
    (void)state;
    size_t cap = 1 << 20, p = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    buf[p++] = '{';
    for (int i = 0; i < 50000; i++)
        p += (size_t)snprintf(buf + p, cap - p, "%s\"k%d\":%d", i ? "," : "", i, i);
    buf[p++] = '}';
    json_object *o = NULL;
    assert_int_equal(sa_json_parse(buf, p, &o, NULL), SA_OK);
    assert_int_equal(json_object_object_length(o), 50000);
    json_object_put(o);
    /* Same document with the last key repeating the first. */
    p--;
    p += (size_t)snprintf(buf + p, cap - p, ",\"k0\":1}");
    sa_error err = {0};
    assert_int_equal(sa_json_parse(buf, p, &o, &err), SA_ERR_INVALID);
    assert_null(o);
    assert_non_null(strstr(err.msg, "Duplicate key \"k0\""));
    free(buf);
}

/* Duplicates however the values and the other keys look. */
static void test_parse_duplicates_more(void **state)
{
    (void)state;
    /* The first value being null does not hide the key. */
    expect_error("{\"a\":null,\"a\":1}", "Duplicate key \"a\": line 1 column 11 (char 10)");
    /* The second of three is named; and the first duplicate when two keys repeat. */
    expect_error("{\"a\":1,\"a\":2,\"a\":3}", "Duplicate key \"a\": line 1 column 8 (char 7)");
    expect_error("{\"a\":1,\"b\":2,\"a\":3,\"b\":4}",
                 "Duplicate key \"a\": line 1 column 14 (char 13)");
    expect_error("{\"\":1,\"\":2}", "Duplicate key \"\": line 1 column 7 (char 6)");
    /* Equal keys in different objects are no duplicates. */
    expect_ok("[{\"a\":1},{\"a\":2,\"b\":{\"a\":3}}]", "[{\"a\":1},{\"a\":2,\"b\":{\"a\":3}}]");
    /* Key errors read like value errors. */
    expect_error("{\"a\\x\":1}", "Invalid \\escape: line 1 column 4 (char 3)");
    expect_error("{\"a\tb\":1}", "Invalid control character at: line 1 column 4 (char 3)");
    expect_error("{\"ab", "Unterminated string starting at: line 1 column 2 (char 1)");
    expect_error("\"a\\", "Unterminated string starting at: line 1 column 1 (char 0)");
    expect_error("{\"\xff\":1}", "Invalid UTF-8 at: line 1 column 3 (char 2)");
    expect_error("{\"a\":NaN}", "Out of range float values are not JSON compliant: 'NaN'");
    expect_error("[1,-I]", "Expecting value: line 1 column 4 (char 3)");
}

/* The tree holds json-c's types and values, members in the order of the text. */
static void test_parse_values(void **state)
{
    (void)state;
    json_object *o = NULL, *v = NULL;
    const char *text = "{\"z\":-0,\"min\":-9223372036854775808,\"max\":9223372036854775807,"
                       "\"d\":-12.25e-3,\"inf\":1e400,\"nz\":-0.0,\"s\":\"a\\u0000b\","
                       "\"t\":true,\"f\":false,\"n\":null,\"arr\":[null,1,\"x\"]}";
    assert_int_equal(sa_json_parse(text, strlen(text), &o, NULL), SA_OK);
    /* Members in order, doubles in their own spelling. */
    assert_string_equal(sa_json_compact(o, NULL),
                        "{\"z\":0,\"min\":-9223372036854775808,\"max\":9223372036854775807,"
                        "\"d\":-12.25e-3,\"inf\":1e400,\"nz\":-0.0,\"s\":\"a\\u0000b\","
                        "\"t\":true,\"f\":false,\"n\":null,\"arr\":[null,1,\"x\"]}");

    assert_true(json_object_object_get_ex(o, "z", &v));
    assert_true(json_object_is_type(v, json_type_int));
    assert_true(json_object_get_int64(v) == 0);
    assert_true(json_object_object_get_ex(o, "min", &v));
    assert_true(json_object_get_int64(v) == INT64_MIN);
    assert_true(json_object_object_get_ex(o, "max", &v));
    assert_true(json_object_get_int64(v) == INT64_MAX);
    assert_true(json_object_object_get_ex(o, "d", &v));
    assert_true(json_object_is_type(v, json_type_double));
    assert_true(json_object_get_double(v) == -12.25e-3);
    assert_true(json_object_object_get_ex(o, "inf", &v));
    assert_true(json_object_is_type(v, json_type_double));
    assert_true(json_object_get_double(v) > 1e308);
    assert_true(json_object_object_get_ex(o, "nz", &v));
    assert_true(json_object_is_type(v, json_type_double));
    assert_true(json_object_get_double(v) == 0.0);
    assert_true(json_object_object_get_ex(o, "s", &v));
    assert_int_equal(json_object_get_string_len(v), 3);
    assert_memory_equal(json_object_get_string(v), "a\0b", 4);
    assert_true(json_object_object_get_ex(o, "t", &v));
    assert_true(json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(o, "f", &v));
    assert_true(json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(o, "n", &v));
    assert_null(v);
    assert_true(json_object_object_get_ex(o, "arr", &v));
    assert_int_equal(json_object_array_length(v), 3);
    assert_null(json_object_array_get_idx(v, 0));
    json_object_put(o);

    /* Escapes among plain text, at either end and alone. */
    expect_ok("[\"ab\\u00e9cd\\tef\",\"\\n\",\"\\\\x\",\"x\\\"\"]",
              "[\"ab\xc3\xa9" "cd\\tef\",\"\\n\",\"\\\\x\",\"x\\\"\"]");
}

/* json-c 0.16's own tokener turns some valid surrogate pairs into U+FFFD: those whose code
 * point's low 16 bits look like a surrogate (U+1D800..U+1DFFF, U+2D800.., ...), so distinct
 * keys became one. We decode them as Python does. */
static void test_parse_surrogate_pairs(void **state)
{
    (void)state;
    expect_ok("\"\\ud837\\ude00\"", "\"\xf0\x9d\xb8\x80\"");        /* U+1DE00 */
    expect_ok("\"\\ud836\\udc00\"", "\"\xf0\x9d\xa0\x80\"");        /* U+1D800 */
    expect_ok("\"\\uD876\\uDC00\"", "\"\xf0\xad\xa0\x80\"");        /* U+2D800, upper case */
    expect_ok("{\"\\ud837\\ude00\":1,\"\\ud837\\ude01\":2}",
              "{\"\xf0\x9d\xb8\x80\":1,\"\xf0\x9d\xb8\x81\":2}");
    expect_error("{\"\\ud837\\ude00\":1,\"\\ud837\\ude00\":2}",
                 "Duplicate key \"\xf0\x9d\xb8\x80\": line 1 column 19 (char 18)");
}

/* Keys, escaped strings and doubles' text longer than the parser's small buffer. */
static void test_parse_long_text(void **state)
{
    (void)state;
    char ka[301], kb[301], text[4096], want[4096], esc[2101], dec[901], frac[301];
    memset(ka, 'a', 300);
    ka[300] = '\0';
    memset(kb, 'b', 300);
    kb[300] = '\0';
    /* A 600-character string spelled with an escape every other character. */
    size_t e = 0, d = 0;
    for (int i = 0; i < 300; i++) {
        e += (size_t)snprintf(esc + e, sizeof esc - e, "x\\u00e9");
        d += (size_t)snprintf(dec + d, sizeof dec - d, "x\xc3\xa9");
    }
    memset(frac, '7', 300);
    frac[300] = '\0';
    /* The outer key stays pending while the inner members move the buffer to the heap. */
    snprintf(text, sizeof text, "{\"%s\":{\"%s\":\"%s\",\"d\":0.%s},\"k\\n\":1}", ka, kb, esc,
             frac);
    snprintf(want, sizeof want, "{\"%s\":{\"%s\":\"%s\",\"d\":0.%s},\"k\\n\":1}", ka, kb, dec,
             frac);
    expect_ok(text, want);

    /* Duplicates are still found, and named, once the buffer has moved. */
    snprintf(text, sizeof text, "{\"%s\":{\"%s\":1},\"%s\":2}", ka, kb, ka);
    snprintf(want, sizeof want,
             "Duplicate key \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\": "
             "line 1 column %zu (char %zu)",
             strlen(ka) + strlen(kb) + 12, strlen(ka) + strlen(kb) + 11);
    expect_error(text, want);

    /* 64 open objects whose keys together outgrow the small buffer. */
    size_t p = 0, q = 0;
    for (int i = 0; i < 64; i++) {
        p += (size_t)snprintf(text + p, sizeof text - p, "{\"key%06d\":", i);
        q += (size_t)snprintf(want + q, sizeof want - q, "{\"key%06d\":", i);
    }
    p += (size_t)snprintf(text + p, sizeof text - p, "\"v\\/\"");
    q += (size_t)snprintf(want + q, sizeof want - q, "\"v/\"");
    for (int i = 0; i < 64; i++) {
        text[p++] = '}';
        want[q++] = '}';
    }
    text[p] = want[q] = '\0';
    expect_ok(text, want);
}

static void test_parse_args(void **state)
{
    (void)state;
    json_object *o = NULL;
    sa_error err = {0};
    assert_int_equal(sa_json_parse(NULL, 0, &o, &err), SA_ERR_INVALID);
    assert_string_equal(err.msg, "Expecting value: line 1 column 1 (char 0)");
    assert_int_equal(sa_json_parse(NULL, 3, &o, &err), SA_ERR_INVALID);
    assert_int_equal(sa_json_parse("{}", 2, NULL, &err), SA_ERR_INVALID);
    /* Not NUL-terminated: only len bytes are read ("{}" then junk). */
    char *exact = malloc(2);
    assert_non_null(exact);
    memcpy(exact, "12", 2);
    assert_int_equal(sa_json_parse(exact, 2, &o, NULL), SA_OK);
    assert_int_equal(json_object_get_int64(o), 12);
    json_object_put(o);
    free(exact);
}

static json_object *parse(const char *text)
{
    json_object *o = NULL;
    assert_int_equal(sa_json_parse(text, strlen(text), &o, NULL), SA_OK);
    return o;
}

static void test_getters(void **state)
{
    (void)state;
    json_object *o = parse("{\"s\":\"str\",\"e\":\"\",\"i\":42,\"neg\":-7,\"d\":1.0,\"big\":1e300,"
                           "\"bs\":\"false\",\"b\":false,\"t\":true,\"n\":null,\"is\":\"1\","
                           "\"nul\":\"a\\u0000b\",\"arr\":[1],\"obj\":{}}");
    const char *s = NULL;
    size_t n = 99;
    int64_t i = 0;
    bool b = true;

    assert_int_equal(sa_json_get_string(o, "s", &s, &n), SA_OK);
    assert_string_equal(s, "str");
    assert_int_equal(n, 3);
    assert_int_equal(sa_json_get_string(o, "e", &s, &n), SA_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sa_json_get_string(o, "s", NULL, NULL), SA_OK);
    assert_int_equal(sa_json_get_string(o, "missing", &s, &n), SA_ERR_NOT_FOUND);
    assert_int_equal(sa_json_get_string(o, "i", &s, &n), SA_ERR_INVALID);
    assert_int_equal(sa_json_get_string(o, "n", &s, &n), SA_ERR_INVALID);
    assert_int_equal(sa_json_get_string(o, "arr", &s, &n), SA_ERR_INVALID);
    /* Security: an embedded NUL would shorten the C string. */
    assert_int_equal(sa_json_get_string(o, "nul", &s, &n), SA_ERR_INVALID);

    assert_int_equal(sa_json_get_int64(o, "i", &i), SA_OK);
    assert_int_equal(i, 42);
    assert_int_equal(sa_json_get_int64(o, "neg", &i), SA_OK);
    assert_int_equal(i, -7);
    assert_int_equal(sa_json_get_int64(o, "d", &i), SA_ERR_INVALID);   /* 1.0 is a double */
    assert_int_equal(sa_json_get_int64(o, "big", &i), SA_ERR_INVALID); /* no saturation */
    assert_int_equal(sa_json_get_int64(o, "is", &i), SA_ERR_INVALID);  /* no "1" -> 1 */
    assert_int_equal(sa_json_get_int64(o, "t", &i), SA_ERR_INVALID);
    assert_int_equal(sa_json_get_int64(o, "n", &i), SA_ERR_INVALID);
    assert_int_equal(sa_json_get_int64(o, "missing", &i), SA_ERR_NOT_FOUND);

    assert_int_equal(sa_json_get_bool(o, "b", &b), SA_OK);
    assert_false(b);
    assert_int_equal(sa_json_get_bool(o, "t", &b), SA_OK);
    assert_true(b);
    assert_int_equal(sa_json_get_bool(o, "bs", &b), SA_ERR_INVALID); /* "false" is no bool */
    assert_int_equal(sa_json_get_bool(o, "i", &b), SA_ERR_INVALID);
    assert_int_equal(sa_json_get_bool(o, "n", &b), SA_ERR_INVALID);
    assert_int_equal(sa_json_get_bool(o, "missing", &b), SA_ERR_NOT_FOUND);

    assert_true(sa_json_is_null(o, "n"));
    assert_false(sa_json_is_null(o, "missing"));
    assert_false(sa_json_is_null(o, "b"));

    /* Not an object. */
    json_object *arr = NULL;
    assert_true(json_object_object_get_ex(o, "arr", &arr));
    assert_int_equal(sa_json_get_string(arr, "s", &s, &n), SA_ERR_INVALID);
    assert_int_equal(sa_json_get_int64(NULL, "i", &i), SA_ERR_INVALID);
    assert_false(sa_json_is_null(NULL, "n"));
    json_object_put(o);

    /* An unsigned value above INT64_MAX built in code is refused, not clamped. */
    json_object *u = json_object_new_object();
    json_object_object_add(u, "u", json_object_new_uint64(UINT64_C(9223372036854775808)));
    json_object_object_add(u, "m", json_object_new_int64(INT64_MAX));
    assert_int_equal(sa_json_get_int64(u, "u", &i), SA_ERR_INVALID);
    assert_int_equal(sa_json_get_int64(u, "m", &i), SA_OK);
    assert_true(i == INT64_MAX);
    json_object_put(u);
}

static void test_compact(void **state)
{
    (void)state;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "detail", json_object_new_string("Method \"GET\" not allowed."));
    json_object_object_add(o, "url", json_object_new_string("https://x/y"));
    json_object_object_add(o, "name", json_object_new_string("Zo\xc3\xab \xe2\x9c\x93"));
    json_object_object_add(o, "ctl", json_object_new_string_len("\x01\n\x00", 3));
    json_object_object_add(o, "list", json_object_new_array());
    size_t n = 0;
    const char *s = sa_json_compact(o, &n);
    const char *want = "{\"detail\":\"Method \\\"GET\\\" not allowed.\",\"url\":\"https://x/y\","
                       "\"name\":\"Zo\xc3\xab \xe2\x9c\x93\",\"ctl\":\"\\u0001\\n\\u0000\","
                       "\"list\":[]}";
    assert_string_equal(s, want);
    assert_int_equal(n, strlen(want));
    json_object_put(o);
}

static void test_append_string(void **state)
{
    (void)state;
    char buf[128];
    size_t p = 0;
    assert_int_equal(sa_json_append_string(buf, sizeof buf, &p, "a\"\\/\x01\x7f\xc3\xa9", 8,
                                           false),
                     SA_OK);
    assert_string_equal(buf, "\"a\\\"\\\\/\\u0001\x7f\xc3\xa9\"");
    assert_int_equal(p, strlen(buf));
    /* ensure_ascii as PyJWT: DEL and non-ASCII escaped, astral as a surrogate pair. */
    p = 0;
    assert_int_equal(sa_json_append_string(buf, sizeof buf, &p, "\x7f\xc3\xa9\xf0\x9f\x98\x80",
                                           7, true),
                     SA_OK);
    assert_string_equal(buf, "\"\\u007f\\u00e9\\ud83d\\ude00\"");
    /* Invalid UTF-8, and too small a buffer (p unchanged). */
    p = 0;
    assert_int_equal(sa_json_append_string(buf, sizeof buf, &p, "\xff", 1, false),
                     SA_ERR_INVALID);
    p = 3;
    assert_int_equal(sa_json_append_string(buf, 10, &p, "abcdefgh", 8, false),
                     SA_ERR_TOO_LARGE);
    assert_int_equal(p, 3);
    p = 0;
    assert_int_equal(sa_json_append_string(buf, 2, &p, "", 0, false), SA_ERR_TOO_LARGE);
    assert_int_equal(sa_json_append_string(buf, 3, &p, "", 0, false), SA_OK);
    assert_string_equal(buf, "\"\"");

    assert_true(sa_json_utf8_valid("", 0));
    assert_true(sa_json_utf8_valid("\xf4\x8f\xbf\xbf", 4));
    assert_false(sa_json_utf8_valid("\xf4\x90\x80\x80", 4));
    assert_false(sa_json_utf8_valid("\xe0\x80\x80", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_null_document),
        cmocka_unit_test(test_parse_python_messages),
        cmocka_unit_test(test_parse_stricter_than_python),
        cmocka_unit_test(test_parse_depth),
        cmocka_unit_test(test_parse_many_keys),
        cmocka_unit_test(test_parse_duplicates_more),
        cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_parse_surrogate_pairs),
        cmocka_unit_test(test_parse_long_text),
        cmocka_unit_test(test_parse_args),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_compact),
        cmocka_unit_test(test_append_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
