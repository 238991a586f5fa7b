/* The shipped etc/socialauth.conf.example against the settings table (lib/config/config.h): a key
 * the parser does not know, a setting the example leaves out, or a default the example
 * states differently from the table, each fails. Every default in the table also parses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#define EXAMPLE "etc/socialauth.conf.example"
#define SEEN_MAX 128

/* The whole example file (run from the top of the tree, as `make test` does); caller frees. */
static char *read_example(void)
{
    FILE *f = fopen(EXAMPLE, "r");
    assert_non_null(f);
    static char buf[64 * 1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    assert_true(feof(f));
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* If line sets a key, active (`key = value`) or commented out (`# key = value`), put the key
 * and value in key/value and return true. Prose comments do not match: the key must follow
 * "# " at once and be a lower-case word followed by " =". */
static bool setting_line(const char *line, char *key, size_t ksize, const char **value)
{
    if (line[0] == '#')
        line += line[1] == ' ' ? 2 : 1;
    size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz_");
    if (n == 0 || n >= ksize || strncmp(line + n, " =", 2) != 0)
        return false;
    memcpy(key, line, n);
    key[n] = '\0';
    *value = line + n + 2;
    while (**value == ' ')
        (*value)++;
    return true;
}

/* Whether the parser takes `key = value` over the defaults (err says why not). */
static bool parses(const char *key, const char *value, sa_error *err)
{
    sa_config cfg;
    char one[512];
    sa_config_defaults(&cfg);
    snprintf(one, sizeof one, "%s = %s\n", key, value);
    bool ok = sa_config_parse(&cfg, one, strlen(one), "/etc/x.conf", err) == SA_OK;
    sa_config_free(&cfg);
    return ok;
}

/* Problems between the example text and the table, the first described in why. */
static int example_problems(const char *text, char *why, size_t size)
{
    bool seen[SEEN_MAX] = {false};
    int problems = 0;
    assert_true(sa_settings_count <= SEEN_MAX);
    why[0] = '\0';
#define PROBLEM(...) do { if (!problems++) snprintf(why, size, __VA_ARGS__); } while (0)
    char *copy = strdup(text), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char key[64];
        const char *value;
        if (!setting_line(line, key, sizeof key, &value))
            continue;
        const sa_setting *s = sa_setting_find(key);
        if (!s) {
            PROBLEM("`%s` is in the example but the parser does not know it", key);
            continue;
        }
        seen[s - sa_settings] = true;
        /* the parser takes the line as the example writes it */
        sa_error err = {0};
        if (!parses(key, value, &err))
            PROBLEM("the example's `%s` does not parse: %s", key, err.msg);
        if (s->def && strcmp(value, s->def) != 0)
            PROBLEM("the example says `%s = %s`, the default is `%s`", key, value, s->def);
    }
    free(copy);
    for (size_t i = 0; i < sa_settings_count; i++)
        if (!seen[i])
            PROBLEM("`%s` is missing from the example", sa_settings[i].name);
#undef PROBLEM
    return problems;
}

static void test_example_matches_table(void **state)
{
    char *text = read_example(), why[256];
    int n = example_problems(text, why, sizeof why);
    if (n)
        fprintf(stderr, EXAMPLE ": %d problem(s), first: %s\n", n, why);
    assert_int_equal(n, 0);
    free(text);
}

/* The check itself fails on each kind of drift, planted in a copy of the real file. */
static void test_drift_is_caught(void **state)
{
    char *text = read_example(), why[256];
    size_t len = strlen(text);
    char *planted = malloc(len + 64);

    snprintf(planted, len + 64, "%sfrobnicate = 1\n", text);          /* unknown key */
    assert_int_equal(example_problems(planted, why, sizeof why), 1);
    assert_non_null(strstr(why, "`frobnicate` is in the example but the parser does not know"));

    memcpy(planted, text, len + 1);                                   /* a wrong default */
    char *line = strstr(planted, "\nmax_body = 64k\n");
    assert_non_null(line);
    memcpy(line + 1, "max_body = 32k", 14);
    assert_int_equal(example_problems(planted, why, sizeof why), 1);
    assert_string_equal(why, "the example says `max_body = 32k`, the default is `64k`");

    memcpy(planted, text, len + 1);                                   /* a setting left out */
    line = strstr(planted, "\nreuse_grace = 30s\n");
    assert_non_null(line);
    memmove(line + 1, line + 18, strlen(line + 18) + 1);
    assert_int_equal(example_problems(planted, why, sizeof why), 1);
    assert_string_equal(why, "`reuse_grace` is missing from the example");

    snprintf(planted, len + 64, "%smax_procs = 0\n", text);           /* a value it refuses */
    assert_true(example_problems(planted, why, sizeof why) >= 1);
    assert_non_null(strstr(why, "`max_procs` does not parse"));
    free(planted);
    free(text);
}

/* Each default is a value of the file, and the table's names are unique. */
static void test_table_defaults_parse(void **state)
{
    for (size_t i = 0; i < sa_settings_count; i++) {
        const sa_setting *s = &sa_settings[i];
        assert_ptr_equal(sa_setting_find(s->name), s);
        assert_non_null(s->help);
        if (!s->def)
            continue;
        sa_error err = {0};
        if (!parses(s->name, s->def, &err))
            fail_msg("default of %s: %s", s->name, err.msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_matches_table),
        cmocka_unit_test(test_drift_is_caught),
        cmocka_unit_test(test_table_defaults_parse),
    };
    return cmocka_run_group_tests_name("config example", tests, NULL, NULL);
}
