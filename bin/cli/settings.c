/* settings.c: `socialauth config check|show`: the settings the programs will use. */
#include "cli.h"

#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum kind { K_STRING, K_SECRET, K_DURATION, K_BOOL, K_LIST, K_SIZE, K_INT, K_KEY } kind;

typedef struct setting {
    const char *name;
    kind kind;
    size_t offset;
} setting;

#define S(name, kind) {#name, kind, offsetof(sa_config, name)}
static const setting settings[] = {
    S(db_home, K_STRING), {"signing_key", K_KEY, 0}, S(signing_key_file, K_STRING),
    S(signing_key_dir, K_STRING),
    S(jwt_audience, K_STRING), S(jwt_issuer, K_STRING),
    S(access_token_lifetime, K_DURATION), S(refresh_token_lifetime, K_DURATION),
    S(rotate_refresh_tokens, K_BOOL), S(reuse_grace, K_DURATION), S(leeway, K_DURATION),
    S(sync_rotation, K_BOOL), S(google_client_ids, K_LIST), S(google_client_secret, K_SECRET),
    S(google_redirect_uri, K_STRING), S(google_issuers, K_LIST), S(google_jwks_url, K_STRING),
    S(google_tokeninfo_url, K_STRING), S(google_userinfo_url, K_STRING),
    S(google_token_url, K_STRING), S(google_timeout, K_DURATION),
    S(link_verified_email, K_BOOL), S(cors_allowed_origins, K_LIST), S(cookie_mode, K_BOOL),
    S(cookie_secure, K_BOOL), S(cookie_samesite, K_STRING), S(cookie_domain, K_STRING),
    S(cookie_access_name, K_STRING), S(cookie_refresh_name, K_STRING), S(max_body, K_SIZE),
    S(max_procs, K_INT),
};
#undef S
#define NSETTINGS (sizeof settings / sizeof settings[0])

/* The effective value as text. Security: secrets are shown only as set or not. */
static void value_of(const sa_config *cfg, const setting *s, char *out, size_t size)
{
    const char *base = (const char *)cfg + s->offset;
    switch (s->kind) {
    case K_STRING: snprintf(out, size, "%s", base); break;
    case K_SECRET: snprintf(out, size, "%s", *base ? "(set, hidden)" : ""); break;
    case K_KEY: snprintf(out, size, "(%zu bytes, hidden)", cfg->signing_key_len); break;
    case K_DURATION: snprintf(out, size, "%" PRId64 "s", *(const int64_t *)base); break;
    case K_BOOL: snprintf(out, size, "%s", *(const bool *)base ? "true" : "false"); break;
    case K_SIZE: snprintf(out, size, "%zu", *(const size_t *)base); break;
    case K_INT: snprintf(out, size, "%d", *(const int *)base); break;
    case K_LIST: {
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
        for (size_t i = 0; i < NSETTINGS; i++)
            if (strlen(settings[i].name) == n && strncmp(p, settings[i].name, n) == 0)
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
    unsigned line_of[NSETTINGS] = {0};
    sources(cfg.path, line_of);
    cli_table t;
    cli_table_begin(&t, 3, (const char *const[]){"SETTING", "VALUE", "SOURCE"});
    for (size_t i = 0; i < NSETTINGS; i++) {
        char value[2048], source[1100];
        value_of(&cfg, &settings[i], value, sizeof value);
        if (settings[i].kind == K_KEY && cfg.signing_key_file[0])
            snprintf(source, sizeof source, "%s", cfg.signing_key_file);
        else if (line_of[i])
            snprintf(source, sizeof source, "%s:%u", cfg.path, line_of[i]);
        else
            snprintf(source, sizeof source, "default");
        cli_table_row(&t, (const char *const[]){settings[i].name, value, source});
    }
    if (out.json)
        cli_table_print_json(&t);
    else
        cli_table_print(&t);
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

int cli_config(int argc, char **argv)
{
    static const cli_command cmds[] = {
        {"check", "read the settings and the key as the endpoints do", config_check},
        {"show", "the effective settings and their sources (secrets hidden)", config_show},
    };
    return cli_dispatch("config", cmds, sizeof cmds / sizeof cmds[0], argc, argv);
}
