/* Unit tests for the text module (text.c, on GNU libunistring): validity, counting, cutting,
 * NFKC/NFKD, `\w`, case folding, ASCII folding.
 *
 * `test_text --dump` prints, for every code point outside the surrogates, one line when it is
 * `\w` ("w <hex>") and one when NFKC changes it ("n <hex> <hex of the NFKC UTF-8>");
 * tests/integration/test_text_python.py compares that with Debian's Python. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"

static void test_check(void **state)
{
    static const struct { const char *s; size_t len; sa_text_fault want; } cases[] = {
        {"", 0, SA_TEXT_OK},
        {"plain", 5, SA_TEXT_OK},
        {"\xc3\xa9\xe5\xa4\xaa\xf0\x9f\x98\x80", 9, SA_TEXT_OK},   /* é 太 😀 */
        {"\xf4\x8f\xbf\xbf", 4, SA_TEXT_OK},                       /* U+10FFFF */
        {"a\0b", 3, SA_TEXT_NUL},
        {"\xff", 1, SA_TEXT_NOT_UTF8},
        {"\x80", 1, SA_TEXT_NOT_UTF8},                             /* stray continuation */
        {"\xc3", 1, SA_TEXT_NOT_UTF8},                             /* truncated */
        {"\xc0\xaf", 2, SA_TEXT_NOT_UTF8},                         /* overlong '/' */
        {"\xe0\x80\xaf", 3, SA_TEXT_NOT_UTF8},                     /* overlong, 3 bytes */
        {"\xf0\x80\x80\xaf", 4, SA_TEXT_NOT_UTF8},                 /* overlong, 4 bytes */
        {"\xed\xa0\x80", 3, SA_TEXT_NOT_UTF8},                     /* U+D800 */
        {"\xed\xbf\xbf", 3, SA_TEXT_NOT_UTF8},                     /* U+DFFF */
        {"\xf4\x90\x80\x80", 4, SA_TEXT_NOT_UTF8},                 /* above U+10FFFF */
        {"\xff\0", 2, SA_TEXT_NOT_UTF8},                           /* UTF-8 first */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(sa_text_check(cases[i].s, cases[i].len), cases[i].want);
}

static void test_count_and_cut(void **state)
{
    assert_int_equal(sa_text_chars("", 0), 0);
    assert_int_equal(sa_text_chars("abc", 3), 3);
    assert_int_equal(sa_text_chars("\xe5\xa4\xaa\xe9\x83\x8e", 6), 2);
    assert_int_equal(sa_text_chars("\xf0\x9f\x98\x80!", 5), 2);
    /* 199 'a' and 'é': 200 characters, 201 bytes; a cut at 200 characters keeps it whole,
     * a cut at 199 drops the whole 'é', a 200-byte bound never splits it. */
    char s[256];
    memset(s, 'a', 199);
    memcpy(s + 199, "\xc3\xa9", 3);
    assert_int_equal(sa_text_cut(s, 201, 200), 201);
    assert_int_equal(sa_text_cut(s, 201, 199), 199);
    assert_int_equal(sa_text_cut(s, 200, 200), 199);
    char out[201];
    assert_int_equal(sa_text_copy_cut(out, sizeof out, s, 1000), 199);
    assert_int_equal(strlen(out), 199);
    char big[300];
    assert_int_equal(sa_text_copy_cut(big, sizeof big, s, 1000), 201);
    assert_string_equal(big, s);
    /* The valid prefix ends at the first ill-formed byte. */
    assert_int_equal(sa_text_cut("ab\xff" "cd", 5, 10), 2);
    assert_int_equal(sa_text_cut("\xe5\xa4", 2, 10), 0);
    assert_int_equal(sa_text_copy_cut(out, 1, "abc", 10), 0);
    assert_string_equal(out, "");
}

static void test_normalize(void **state)
{
    char out[64];
    size_t n;
    sa_error err = {0};
    assert_int_equal(sa_text_nfkc("\xef\xbc\xaa\xef\xbd\x8f\xef\xbd\x88\xef\xbd\x8e", 12, out,
                                  sizeof out, &n, &err), SA_OK);
    assert_string_equal(out, "John");
    assert_int_equal(n, 4);
    assert_int_equal(sa_text_nfkc("e\xcc\x81", 3, out, sizeof out, &n, &err), SA_OK);
    assert_string_equal(out, "\xc3\xa9");                 /* composed é */
    assert_int_equal(sa_text_nfkd("\xc3\xa9", 2, out, sizeof out, &n, &err), SA_OK);
    assert_string_equal(out, "e\xcc\x81");
    assert_int_equal(sa_text_nfkc("\xef\xac\x81", 3, out, sizeof out, &n, &err), SA_OK);
    assert_string_equal(out, "fi");                       /* ligature */
    assert_int_equal(sa_text_nfkc("\xff", 1, out, sizeof out, &n, &err), SA_ERR_INVALID);
    /* U+FDFA grows to 18 characters (33 bytes): does not fit 16 bytes. */
    assert_int_equal(sa_text_nfkc("\xef\xb7\xba", 3, out, 16, &n, &err), SA_ERR_TOO_LARGE);
    assert_int_equal(sa_text_nfkc("\xef\xb7\xba", 3, out, sizeof out, &n, &err), SA_OK);
    assert_int_equal(sa_text_chars(out, n), 18);
}

static void test_word(void **state)
{
    static const uint32_t word[] = {
        'a', 'Z', '0', '_', 0xE9, 0x4E00 /* 一 */, 0x0663 /* Arabic-Indic three */,
        0x0967 /* Devanagari one */, 0x2160 /* Roman numeral one, Nl */, 0xB2 /* ², No */,
        0x00BD /* ½ */, 0x01C5 /* Dž, Lt */, 0x02B0 /* ʰ, Lm */, 0x0930 /* र */,
    };
    static const uint32_t not_word[] = {
        ' ', '-', '.', '@', '+', 0x00A0, 0x0085, 0x200B, 0x200D, 0x202E, 0x00AD, 0x1F600,
        0x20AC, 0x093E /* ा, Mc */, 0x0301 /* combining acute, Mn */, 0x3000, 0xFEFF,
    };
    for (size_t i = 0; i < sizeof word / sizeof word[0]; i++)
        assert_true(sa_text_is_word(word[i]));
    for (size_t i = 0; i < sizeof not_word / sizeof not_word[0]; i++)
        assert_false(sa_text_is_word(not_word[i]));
    assert_true(sa_text_all_word("a.b@c+d-e_f", 11, "@.+-"));
    assert_false(sa_text_all_word("a.b", 3, "@+-"));
    assert_false(sa_text_all_word("a\xff", 2, "@.+-"));
    assert_true(sa_text_all_word("", 0, ""));
}

static void test_casefold(void **state)
{
    static const struct { const char *in, *want; } cases[] = {
        {"ALICE", "alice"}, {"Alice", "alice"}, {"alice", "alice"},
        {"STRASSE", "strasse"}, {"Stra\xc3\x9f" "e", "strasse"},
        {"\xce\xa3\xce\x99\xce\xa3", "\xcf\x83\xce\xb9\xcf\x83"},    /* ΣΙΣ -> σισ */
        {"\xcf\x82", "\xcf\x83"},                                    /* final sigma */
        {"\xef\xbc\xa1", "a"},                                       /* full-width A */
        {"\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd", "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd"}, /* Иван */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        size_t n;
        assert_int_equal(sa_text_casefold(cases[i].in, strlen(cases[i].in), &out, &n, NULL), SA_OK);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
        free(out);
    }
    char *out = NULL;
    size_t n;
    assert_int_equal(sa_text_casefold("\xff", 1, &out, &n, NULL), SA_ERR_INVALID);
    assert_null(out);
}

static void test_ascii_fold(void **state)
{
    static const struct { const char *in, *want; } cases[] = {
        {"Nguy\xe1\xbb\x85n", "Nguyen"},
        {"\xc8\x98tefan", "Stefan"},        /* Ș comma below */
        {"\xc5\x9e" "tefan", "Stefan"},     /* Ş cedilla */
        {"\xef\xbc\xaa\xef\xbd\x8f\xef\xbd\x88\xef\xbd\x8e", "John"},
        {"\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd", ""},
        {"\xc5\x81ukasz", "ukasz"},          /* Ł has no decomposition: dropped, as allauth */
        {"Stra\xc3\x9f" "e", "Strae"},
        {"\xe2\x85\xa0", "I"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sa_text_ascii_fold(cases[i].in, out, sizeof out);
        assert_string_equal(out, cases[i].want);
    }
    assert_int_equal(sa_text_ascii_fold("bad\xff", out, sizeof out), 0);
    assert_int_equal(sa_text_ascii_fold("abcdef", out, 4), 3);
    assert_string_equal(out, "abc");
}

/* See the opening comment. */
static int dump(void)
{
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        if (sa_text_is_word(cp))
            printf("w %x\n", cp);
        unsigned char u[4];
        size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (n == 1) {
            u[0] = (unsigned char)cp;
        } else {
            for (size_t i = n - 1; i > 0; i--)
                u[i] = (unsigned char)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3F));
            u[0] = (unsigned char)((n == 2 ? 0xC0 : n == 3 ? 0xE0 : 0xF0) | (cp >> (6 * (n - 1))));
        }
        char out[256];
        size_t len;
        if (sa_text_nfkc((const char *)u, n, out, sizeof out, &len, NULL) != SA_OK)
            return 1;
        if (len != n || memcmp(out, u, n) != 0) {
            printf("n %x ", cp);
            for (size_t i = 0; i < len; i++)
                printf("%02x", (unsigned char)out[i]);
            printf("\n");
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--dump") == 0)
        return dump();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_count_and_cut),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_word),
        cmocka_unit_test(test_casefold),
        cmocka_unit_test(test_ascii_fold),
    };
    return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
