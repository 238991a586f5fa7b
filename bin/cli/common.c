/* common.c: the helpers every command family of `socialauth` shares (see cli.h). */
#include "cli.h"

#include "codec/json.h"
#include "codec/json_writer.h"
#include "http/http.h"
#include "core/utc.h"
#include "token/jwt.h"
#include "core/owner.h"
#include "api/user.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *cli_conf_path;

int cli_exit_for(sa_status status)
{
    switch (status) {
    case SA_OK: return CLI_EXIT_OK;
    case SA_ERR_NOT_FOUND: return CLI_EXIT_NOT_FOUND;
    case SA_ERR_CONFIG: return CLI_EXIT_CONFIG;
    default: return CLI_EXIT_FAILED;
    }
}

/* msg without a leading "<what>: " that would repeat the prefix already printed. */
static const char *without_prefix(const char *msg, const char *what)
{
    size_t n = strlen(what);
    return strncmp(msg, what, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ' ? msg + n + 2 : msg;
}

int cli_fail(const char *what, const sa_error *err)
{
    fprintf(stderr, "socialauth: %s: %s\n", what, without_prefix(err->msg, what));
    return cli_exit_for(err->status);
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    /* The command's name, from the usage's first line ("usage: socialauth user create ..."):
     * the lower-case words before the first argument or option. */
    const char *cmd = strncmp(usage, "usage: socialauth ", 18) == 0 ? usage + 18 : "";
    size_t n = 0, i = 0;
    while (cmd[i] >= 'a' && cmd[i] <= 'z') {
        while ((cmd[i] >= 'a' && cmd[i] <= 'z') || cmd[i] == '-')
            i++;
        n = i;
        if (cmd[i++] != ' ')
            break;
    }
    va_start(ap, fmt);
    fprintf(stderr, "socialauth: %.*s%s", (int)n, cmd, n ? ": " : "");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage);
    return CLI_EXIT_USAGE;
}

int cli_dispatch(const char *family, const cli_command *cmds, size_t n, int argc, char **argv)
{
    bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    if (argc >= 2 && !help) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(argv[1], cmds[i].name) == 0)
                return cmds[i].run(argc - 1, argv + 1);
    }
    FILE *to = help ? stdout : stderr;
    if (!help && argc < 2)
        fprintf(stderr, "socialauth: `%s` needs a command\n", family);
    else if (!help)
        fprintf(stderr, "socialauth: unknown command `%s %s`\n", family, argv[1]);
    fprintf(to, "usage: socialauth %s COMMAND [ARGS] (COMMAND --help for details)\n\ncommands:\n",
            family);
    for (size_t i = 0; i < n; i++)
        fprintf(to, "  %-12s %s\n", cmds[i].name, cmds[i].summary);
    return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

bool cli_help(int argc, char **argv, const char *usage)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return true;
        }
    return false;
}

int cli_start(int *argc, char **argv, const char *usage, cli_output *out, int nargs,
              const char *expected)
{
    if (cli_help(*argc, argv, usage))
        return CLI_EXIT_OK;
    if (out)
        cli_take_output_flags(argc, argv, out);
    if (nargs >= 0 && *argc - 1 != nargs) {
        if (nargs == 0)
            return cli_usage_error(usage, "unexpected argument %s", argv[1]);
        return cli_usage_error(usage, "expected %s, got %d argument%s", expected, *argc - 1,
                               *argc == 2 ? "" : "s");
    }
    return CLI_GO_ON;
}

bool cli_take_flag(int *argc, char **argv, const char *flag)
{
    bool seen = false;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], flag) == 0)
            seen = true;
        else
            argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    return seen;
}

void cli_take_output_flags(int *argc, char **argv, cli_output *out)
{
    bool json = cli_take_flag(argc, argv, "--json");
    bool table = cli_take_flag(argc, argv, "--table");
    out->json = json || (!table && !isatty(STDOUT_FILENO));
}

int cli_load_config(sa_config *cfg)
{
    sa_error err = {0};
    /* As root, work as the store's owner from here on: files made in the store or the key
     * directory stay readable to the endpoints. Switch before the checked load, so the key
     * files' owner check (config.h) sees the owner the endpoints run as, not root. */
    int rc = cli_parse_config(cfg);
    if (rc != CLI_EXIT_OK)
        return rc;
    sa_status st = sa_owner_become_store_owner(cfg->db_home, &err);
    sa_config_free(cfg);
    if (st != SA_OK) {
        cli_fail("store", &err);
        return CLI_EXIT_STORE;
    }
    if (sa_config_load(cfg, cli_conf_path, &err) != SA_OK) {
        fprintf(stderr, "socialauth: configuration: %s\n", err.msg);
        return CLI_EXIT_CONFIG;
    }
    return CLI_EXIT_OK;
}

int cli_parse_config(sa_config *cfg)
{
    sa_error err = {0};
    sa_config_defaults(cfg);
    FILE *f = fopen(cli_conf_path, "r");
    if (!f) {
        fprintf(stderr, "socialauth: configuration: cannot open %s: %s\n", cli_conf_path,
                strerror(errno));
        return CLI_EXIT_CONFIG;
    }
    char text[65536];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    if (sa_config_parse(cfg, text, n, cli_conf_path, &err) != SA_OK) {
        sa_config_free(cfg);
        return cli_fail("configuration", &err);
    }
    return CLI_EXIT_OK;
}

int cli_with_store(sa_store_mode mode, cli_store_action act, void *ctx)
{
    sa_config cfg;
    sa_store *store;
    sa_error err = {0};
    int rc = cli_load_config(&cfg);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (sa_store_open_config(&store, &cfg, mode, &err) != SA_OK) {
        fprintf(stderr, "socialauth: store %s: %s\n", cfg.db_home,
                without_prefix(err.msg, "store"));
        rc = CLI_EXIT_STORE;
    } else {
        rc = act(&cfg, store, ctx);
        sa_store_close(store);
    }
    sa_config_free(&cfg);
    return rc;
}

sa_status cli_find_user(sa_store *store, const char *key, sa_user *out, sa_error *err)
{
    static const sa_user_key order[] = {SA_BY_ID, SA_BY_EMAIL, SA_BY_USERNAME};
    sa_status st = SA_ERR_NOT_FOUND;
    for (size_t i = 0; i < 3 && st == SA_ERR_NOT_FOUND; i++)
        st = sa_store_user_get(store, order[i], key, out, err);
    if (st == SA_ERR_NOT_FOUND)
        SA_FAIL(err, st, "no user with id, e-mail or username \"%s\"", key);
    return st;
}

const char *cli_user_field(const sa_user *u, const char *field)
{
    return strcmp(field, "username") == 0 ? u->username
           : strcmp(field, "email") == 0  ? u->email
           : strcmp(field, "id") == 0     ? u->id
                                          : u->google_sub;
}

int cli_check_user_text(const sa_user *u)
{
    const char *bad = sa_user_bad_text(u);
    if (!bad)
        return CLI_EXIT_OK;
    fprintf(stderr,
            "socialauth: user %s: %s is not valid UTF-8 (stored by an older version); repair "
            "it with `socialauth user update %s --%s VALUE`\n", u->id, bad, u->id,
            strcmp(bad, "first_name") == 0 ? "first-name"
            : strcmp(bad, "last_name") == 0 ? "last-name" : bad);
    return CLI_EXIT_FAILED;
}

int cli_print_user_json(const sa_user *u)
{
    if (cli_check_user_text(u) != CLI_EXIT_OK)
        return CLI_EXIT_FAILED;
    sa_buf out = {0};
    sa_jw w;
    char when[32];
    sa_jw_begin(&w, &out);
    sa_jw_object(&w);
    sa_user_fields(&w, u);
    sa_jw_key(&w, "is_active");
    sa_jw_bool(&w, u->is_active);
    sa_jw_key(&w, "is_staff");
    sa_jw_bool(&w, u->is_staff);
    sa_jw_key(&w, "is_superuser");
    sa_jw_bool(&w, u->is_superuser);
    sa_format_utc(u->date_joined, when, sizeof when);
    sa_jw_member(&w, "date_joined", when);
    sa_jw_key(&w, "last_login");
    if (u->last_login) {
        sa_format_utc(u->last_login, when, sizeof when);
        sa_jw_string(&w, when);
    } else {
        sa_jw_null(&w);
    }
    sa_jw_key(&w, "google_sub");
    if (u->google_sub[0])
        sa_jw_string(&w, u->google_sub);
    else
        sa_jw_null(&w);
    /* Google's claims as kept at the last sign-in (the social account's extra data), written
     * as stored after checking it is one strict JSON value. */
    json_object *extra = NULL;
    sa_jw_key(&w, "google_extra");
    if (u->google_extra &&
        sa_json_parse(u->google_extra, strlen(u->google_extra), &extra, NULL) == SA_OK)
        sa_jw_raw(&w, u->google_extra, strlen(u->google_extra));
    else
        sa_jw_null(&w);
    json_object_put(extra);
    sa_jw_end(&w);
    int rc = CLI_EXIT_OK;
    if (!w.failed) {
        printf("%s\n", out.data);
    } else {
        fprintf(stderr, "socialauth: user %s: cannot be written as JSON\n", u->id);
        rc = CLI_EXIT_FAILED;
    }
    sa_buf_free(&out);
    return rc;
}

/* ---- tables ---- */

void cli_table_begin(cli_table *t, size_t cols, const char *const *heading)
{
    memset(t, 0, sizeof *t);
    t->cols = cols;
    cli_table_row(t, heading);
}

/* Analyzer: gcc 12's -fanalyzer loses track of pointers stored into a realloc'd array and
 * reports each strdup below as leaked; table_free() frees every cell (rows * cols of them),
 * and valgrind runs of the CLI tests show no leak. The one suppression in the tree. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
void cli_table_row(cli_table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **grown = realloc(t->cell, cap * t->cols * sizeof *grown);
        if (!grown)
            return;   /* out of memory: the row is dropped, the table still prints */
        t->cell = grown;
        t->cap = cap;
    }
    for (size_t c = 0; c < t->cols; c++)
        t->cell[t->rows * t->cols + c] = strdup(cells[c] ? cells[c] : "");
    t->rows++;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

static void table_free(cli_table *t)
{
    for (size_t i = 0; i < t->rows * t->cols; i++)
        free(t->cell[i]);
    free(t->cell);
    memset(t, 0, sizeof *t);
}

void cli_table_print_json(cli_table *t)
{
    sa_buf out = {0};
    for (size_t r = 1; r < t->rows; r++) {
        sa_jw w;
        sa_buf_reset(&out);
        sa_jw_begin(&w, &out);
        sa_jw_object(&w);
        for (size_t c = 0; c < t->cols; c++) {
            char key[64];
            const char *h = t->cell[c] ? t->cell[c] : "";
            size_t n = 0;
            for (; h[n] && n + 1 < sizeof key; n++)
                key[n] = (char)tolower((unsigned char)h[n]);
            key[n] = '\0';
            const char *v = t->cell[r * t->cols + c];
            sa_jw_member(&w, key, v ? v : "");
        }
        sa_jw_end(&w);
        if (!w.failed)
            printf("%s\n", out.data);
    }
    sa_buf_free(&out);
    table_free(t);
}

void cli_table_print(cli_table *t)
{
    size_t width[16] = {0};
    size_t cols = t->cols < 16 ? t->cols : 16;
    for (size_t r = 0; r < t->rows; r++)
        for (size_t c = 0; c < cols; c++) {
            const char *s = t->cell[r * t->cols + c];
            size_t n = s ? strlen(s) : 0;
            if (n > width[c])
                width[c] = n;
        }
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            const char *s = t->cell[r * t->cols + c];
            if (c + 1 < cols)
                printf("%-*s  ", (int)width[c], s ? s : "");
            else
                printf("%s\n", s ? s : "");
        }
    }
    table_free(t);
}

/* ---- progress ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_progress_begin(cli_progress *p, const char *what, uint64_t total)
{
    p->what = what;
    p->total = total;
    p->on = isatty(STDERR_FILENO);
    p->shown_ms = 0;
}

void cli_progress_update(cli_progress *p, uint64_t done)
{
    if (!p->on)
        return;
    int64_t now = now_ms();
    if (now - p->shown_ms < 100)
        return;
    p->shown_ms = now;
    if (p->total == 0) {
        fprintf(stderr, "\r%s: %llu", p->what, (unsigned long long)done);
        return;
    }
    uint64_t shown = done > p->total ? p->total : done;
    int filled = (int)(shown * 30 / p->total);
    fprintf(stderr, "\r%s [%.*s%*s] %llu/%llu", p->what, filled,
            "##############################", 30 - filled, "", (unsigned long long)shown,
            (unsigned long long)p->total);
}

void cli_progress_end(cli_progress *p)
{
    if (p->on)
        fprintf(stderr, "\r\033[K");
}
