/* cli.h: what the files of the `socialauth` admin command share (bin/cli/, one command
 * family each: main.c dispatches, common.c holds these helpers).
 *
 * Output: results on stdout (JSON lines when --json is given or stdout is not a terminal,
 * aligned tables otherwise), messages on stderr as "socialauth: <command>: <why>", progress
 * on stderr only when it is a terminal. Exit statuses are the CLI_EXIT_* values below, the
 * table README.md's "Operations" section and `socialauth --help` repeat. */
#ifndef SA_CLI_H
#define SA_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "store/store.h"

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILED = 1,     /* the operation failed: refused (duplicate, exists) or store error */
    CLI_EXIT_USAGE = 2,      /* bad command line */
    CLI_EXIT_NOT_FOUND = 3,  /* no such user, session, key, backup or input file */
    CLI_EXIT_CONFIG = 4,     /* the settings file or a key cannot be read or is wrong */
    CLI_EXIT_STORE = 5,      /* the store cannot be opened (missing, no permission, in use) */
    CLI_EXIT_PROBLEMS = 6    /* verify found problems, a damaged backup, import skipped records */
};

#define CLI_EXIT_TABLE \
    "exit status:\n" \
    "  0  success\n" \
    "  1  failed: refused (a duplicate, an existing backup, the signing key retired) or a\n" \
    "     store error\n" \
    "  2  bad command line\n" \
    "  3  no such user, session, key, backup or input file\n" \
    "  4  the settings file or a key file or directory cannot be read, written or is wrong\n" \
    "  5  the store cannot be opened (missing, no permission)\n" \
    "  6  verify found problems, a backup to restore is damaged, or import-django skipped\n" \
    "     records (each one printed)\n"

/* The settings file named by --config, $SOCIALAUTH_CONF or the default (main.c sets it). */
extern const char *cli_conf_path;

/* One command of a family: name, one-line summary for the family's help, the function. */
typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);   /* argv[0] is the command's name */
} cli_command;

/* Run the command of family `family` named by argv[1]; `family --help` lists the commands
 * with their summaries (exit 0), a missing or unknown one is a usage error (exit 2). */
int cli_dispatch(const char *family, const cli_command *cmds, size_t n, int argc, char **argv);

/* Print "socialauth: <what>: <err->msg>" and return the exit status for err->status. */
int cli_fail(const char *what, const sa_error *err);
/* The exit status for a library status (SA_ERR_NOT_FOUND -> 3, SA_ERR_CONFIG -> 4, ...). */
int cli_exit_for(sa_status status);
/* Print "socialauth: <message>", then the usage; return CLI_EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Options shared by commands that print results, removed from argv by cli_take_flags. */
typedef struct cli_output {
    bool json;        /* --json, or stdout is not a terminal */
} cli_output;

/* If argv holds --help/-h: print usage to stdout and return true (the command exits 0). */
bool cli_help(int argc, char **argv, const char *usage);

#define CLI_GO_ON (-1)
/* The start every command shares: --help anywhere prints usage and returns CLI_EXIT_OK;
 * --json/--table are taken into *out when out is non-NULL; then exactly nargs arguments must
 * remain (nargs < 0: any number), else a usage error says "expected <expected>". Returns
 * CLI_GO_ON when the command should go on (argc/argv updated), else the exit status. */
int cli_start(int *argc, char **argv, const char *usage, cli_output *out, int nargs,
              const char *expected);
/* Remove --json / --table from argv (argc updated) and fill *out. */
void cli_take_output_flags(int *argc, char **argv, cli_output *out);
/* Remove a boolean flag from argv; true when it was there. */
bool cli_take_flag(int *argc, char **argv, const char *flag);

/* Load the settings (exit 4 on failure, after printing why). */
int cli_load_config(sa_config *cfg);
/* Read the settings file without the checks or reading any key (for commands that create
 * what the checks need: init, key); exit 4 on failure. Free with sa_config_free. */
int cli_parse_config(sa_config *cfg);

/* What a command does once the store is open; returns the exit status. */
typedef int (*cli_store_action)(sa_config *cfg, sa_store *store, void *ctx);
/* Load settings, open the store (mode), run act, close everything; exit 4 or 5 when the
 * settings or the store cannot be opened. */
int cli_with_store(sa_store_mode mode, cli_store_action act, void *ctx);

/* Find a user by id, then e-mail, then username; SA_ERR_NOT_FOUND names the key. */
sa_status cli_find_user(sa_store *store, const char *key, sa_user *out, sa_error *err);

/* The value of u's unique field named as the store names it in SA_ERR_EXISTS ("username",
 * "email", "id", "google_sub"). */
const char *cli_user_field(const sa_user *u, const char *field);

/* A user as one JSON object line (password-free: the store keeps none to show). Returns
 * CLI_EXIT_OK, or CLI_EXIT_FAILED after naming the user and field on stderr when a text
 * field is not valid UTF-8 (a record an older version wrote: issue 9.2) and nothing can be
 * printed: such a user is never silently left out. */
int cli_print_user_json(const sa_user *u);

/* CLI_EXIT_OK when u's text fields are valid UTF-8, else CLI_EXIT_FAILED after saying on
 * stderr which user and field, and how to repair it. */
int cli_check_user_text(const sa_user *u);

/* ---- aligned tables for people ---- */

typedef struct cli_table {
    size_t cols;
    size_t rows;          /* including the heading */
    size_t cap;
    char **cell;          /* rows * cols strings, owned */
} cli_table;

/* Start a table whose heading is the `cols` names given. */
void cli_table_begin(cli_table *t, size_t cols, const char *const *heading);
/* Add one row of t->cols cells (copied). */
void cli_table_row(cli_table *t, const char *const *cells);
/* Print every row, each column padded to its widest cell, then free the table. */
void cli_table_print(cli_table *t);
/* Print each row but the heading as one JSON object of strings whose keys are the heading's
 * names in lower case, then free the table. */
void cli_table_print_json(cli_table *t);

/* ---- progress on a terminal ---- */

typedef struct cli_progress {
    const char *what;
    uint64_t total;       /* 0: unknown, only the count is shown */
    bool on;              /* stderr is a terminal */
    int64_t shown_ms;
} cli_progress;

void cli_progress_begin(cli_progress *p, const char *what, uint64_t total);
/* Redraw the bar (at most 10 times a second) for `done` of total. */
void cli_progress_update(cli_progress *p, uint64_t done);
/* Clear the bar line. */
void cli_progress_end(cli_progress *p);

/* The command families (one file each). */
int cli_user(int argc, char **argv);
int cli_createsuperuser(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_session(int argc, char **argv);
int cli_config(int argc, char **argv);
int cli_key(int argc, char **argv);
int cli_init(int argc, char **argv);
int cli_backup(int argc, char **argv);
int cli_restore(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_stats(int argc, char **argv);
int cli_checkpoint(int argc, char **argv);
int cli_purge(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_import_django(int argc, char **argv);
/* node.c: the replicated store's process and its status (README "Several nodes"). */
int cli_node(int argc, char **argv);
int cli_cluster(int argc, char **argv);

#endif
