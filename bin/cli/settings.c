/* settings.c: `socialauth config check|show|defaults`: the settings the programs will use, and
 * every setting there is (lib/config/config.h's table). */
#include "cli.h"

#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The effective value of s as text. Security: secrets are shown only as set or not. */
static void value_of(const sa_config *cfg, const sa_setting *s, char *out, size_t size)
{
    const char *base = (const char *)cfg + s->offset;
    switch (s->type) {
    case SA_SETTING_PATH:
    case SA_SETTING_STRING:
    case SA_SETTING_CHOICE: snprintf(out, size, "%s", base); break;
    case SA_SETTING_SECRET: snprintf(out, size, "%s", *base ? "(set, hidden)" : ""); break;
    case SA_SETTING_KEY: snprintf(out, size, "(%zu bytes, hidden)", cfg->signing_key_len); break;
    case SA_SETTING_DURATION: snprintf(out, size, "%" PRId64 "s", *(const int64_t *)base); break;
    case SA_SETTING_BOOL: snprintf(out, size, "%s", *(const bool *)base ? "true" : "false"); break;
    case SA_SETTING_SIZE: snprintf(out, size, "%zu", *(const size_t *)base); break;
    case SA_SETTING_INT: snprintf(out, size, "%d", *(const int *)base); break;
    case SA_SETTING_SWITCH: {
        /* the second choice when true, else the first */
        const char *c = s->choices;
        if (*(const bool *)base)
            c += strcspn(c, " ") + 1;
        snprintf(out, size, "%.*s", (int)strcspn(c, " "), c);
        break;
    }
    case SA_SETTING_LIST: {
        const sa_strlist *l = (const sa_strlist *)base;
        size_t used = 0;
        out[0] = '\0';
        for (size_t i = 0; i < l->n && used < size; i++) {
            int n = snprintf(out + used, size - used, "%s%s", i ? " " : "", l->v[i]);
            used += n > 0 ? (size_t)n : 0;
        }
        break;
    }
    }
}

/* Where each key was last set in the file: its line number, 0 when not set there. */
static void sources(const char *path, unsigned *line_of)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    unsigned no = 0;
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        no++;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        size_t n = strcspn(p, " \t=");
        for (size_t i = 0; i < sa_settings_count; i++)
            if (strlen(sa_settings[i].name) == n && strncmp(p, sa_settings[i].name, n) == 0)
                line_of[i] = no;
    }
    fclose(f);
}

static int config_show(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth config show [--json|--table]\n"
        "Prints every setting as the programs will use it, and where it comes from (the\n"
        "file and line, or the default). Secrets are never printed.\n";
    cli_output out;
    int rc = cli_start(&argc, argv, usage, &out, 0, NULL);
    if (rc != CLI_GO_ON)
        return rc;
    sa_config cfg;
    rc = cli_load_config(&cfg);
    if (rc != CLI_EXIT_OK)
        return rc;
    unsigned *line_of = calloc(sa_settings_count, sizeof *line_of);
    if (!line_of) {
        sa_config_free(&cfg);
        fputs("socialauth: out of memory\n", stderr);
        return CLI_EXIT_FAILED;
    }
    sources(cfg.path, line_of);
    cli_table t;
    cli_table_begin(&t, 3, (const char *const[]){"SETTING", "VALUE", "SOURCE"});
    for (size_t i = 0; i < sa_settings_count; i++) {
        char value[2048], source[1100];
        value_of(&cfg, &sa_settings[i], value, sizeof value);
        /* a secret read from a file (`<name>_file = PATH`) comes from that file */
        if (sa_settings[i].type == SA_SETTING_KEY && cfg.signing_key_file[0])
            snprintf(source, sizeof source, "%s", cfg.signing_key_file);
        else if (sa_settings[i].type == SA_SETTING_SECRET && cfg.google_client_secret_file[0])
            snprintf(source, sizeof source, "%s", cfg.google_client_secret_file);
        else if (line_of[i])
            snprintf(source, sizeof source, "%s:%u", cfg.path, line_of[i]);
        else
            snprintf(source, sizeof source, "default");
        cli_table_row(&t, (const char *const[]){sa_settings[i].name, value, source});
    }
    if (out.json)
        cli_table_print_json(&t);
    else
        cli_table_print(&t);
    free(line_of);
    sa_config_free(&cfg);
    return CLI_EXIT_OK;
}

static int config_check(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth config check\n"
        "Reads the settings and the signing key as the endpoints do; exits 0 and says so\n"
        "when they are usable, else prints what is wrong and exits 4.\n";
    int rc = cli_start(&argc, argv, usage, NULL, 0, NULL);
    if (rc != CLI_GO_ON)
        return rc;
    sa_config cfg;
    rc = cli_load_config(&cfg);
    if (rc != CLI_EXIT_OK)
        return rc;
    fprintf(stderr, "socialauth: %s is usable\n", cfg.path);
    sa_config_free(&cfg);
    return CLI_EXIT_OK;
}

static int config_defaults(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth config defaults\n"
        "Prints every setting there is as a settings file: what it does, what its value must\n"
        "look like, and its default (a setting without one is commented out). Reads no file.\n";
    int rc = cli_start(&argc, argv, usage, NULL, 0, NULL);
    if (rc != CLI_GO_ON)
        return rc;
    printf("# socialauth settings: every key with its default (`socialauth config defaults`).\n"
           "# `key = value` lines, `#` comments; relative paths are relative to the file.\n");
    for (size_t i = 0; i < sa_settings_count; i++) {
        const sa_setting *s = &sa_settings[i];
        char expected[128];
        sa_setting_expected(s, expected, sizeof expected);
        printf("\n# %s\n# value: %s%s\n", s->help, expected, s->secret ? " (a secret)" : "");
        if (s->def)
            printf("%s = %s\n", s->name, s->def);
        else
            printf("# %s =\n", s->name);
    }
    return CLI_EXIT_OK;
}

int cli_config(int argc, char **argv)
{
    static const cli_command cmds[] = {
        {"check", "read the settings and the key as the endpoints do", config_check},
        {"show", "the effective settings and their sources (secrets hidden)", config_show},
        {"defaults", "every setting: what it does, its value's form, its default", config_defaults},
    };
    return cli_dispatch("config", cmds, sizeof cmds / sizeof cmds[0], argc, argv);
}
