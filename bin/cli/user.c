/* user.c: `socialauth user ...` and `socialauth createsuperuser` (Django's manage.py
 * createsuperuser and admin user pages, without passwords: users sign in with Google). */
#include "cli.h"

#include "core/utc.h"
#include "token/jwt.h"
#include "api/user.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *yes_no(bool b)
{
    return b ? "yes" : "no";
}

/* A user for people: one "field  value" row each. */
static void print_user_table(const sa_user *u)
{
    char joined[32], login[32];
    sa_format_utc(u->date_joined, joined, sizeof joined);
    if (u->last_login)
        sa_format_utc(u->last_login, login, sizeof login);
    else
        snprintf(login, sizeof login, "never");
    const char *rows[][2] = {
        {"id", u->id}, {"username", u->username}, {"email", u->email},
        {"first_name", u->first_name}, {"last_name", u->last_name},
        {"active", yes_no(u->is_active)}, {"staff", yes_no(u->is_staff)},
        {"superuser", yes_no(u->is_superuser)}, {"date_joined", joined},
        {"last_login", login}, {"google_sub", u->google_sub[0] ? u->google_sub : "-"},
    };
    cli_table t;
    cli_table_begin(&t, 2, (const char *const[]){"FIELD", "VALUE"});
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        cli_table_row(&t, rows[i]);
    cli_table_print(&t);
}

/* Returns CLI_EXIT_OK, or CLI_EXIT_FAILED when the user's text cannot be shown (cli.h). */
static int print_user(const sa_user *u, const cli_output *out)
{
    if (out->json)
        return cli_print_user_json(u);
    if (cli_check_user_text(u) != CLI_EXIT_OK)
        return CLI_EXIT_FAILED;
    print_user_table(u);
    return CLI_EXIT_OK;
}

/* ---- create / update: the fields given on the command line ---- */

typedef struct user_fields {
    sa_user u;
    bool set[5];         /* which of the string fields below were given */
    int staff, superuser, active;   /* -1: not given */
} user_fields;

/* Parse --id/--username/--email/--first-name/--last-name/--staff/--superuser/--inactive.
 * Returns CLI_EXIT_OK or a usage error. */
static int parse_fields(int argc, char **argv, const char *usage, bool allow_id, user_fields *f)
{
    struct { const char *flag; char *dst; size_t size; } fields[] = {
        {"--id", f->u.id, sizeof f->u.id},
        {"--username", f->u.username, sizeof f->u.username},
        {"--email", f->u.email, sizeof f->u.email},
        {"--first-name", f->u.first_name, sizeof f->u.first_name},
        {"--last-name", f->u.last_name, sizeof f->u.last_name},
    };
    const struct { const char *flag; int *dst; int value; } flags[] = {
        {"--staff", &f->staff, 1}, {"--no-staff", &f->staff, 0},
        {"--superuser", &f->superuser, 1}, {"--no-superuser", &f->superuser, 0},
        {"--inactive", &f->active, 0}, {"--active", &f->active, 1},
    };
    f->staff = f->superuser = f->active = -1;
    for (int i = 1; i < argc; i++) {
        size_t k;
        for (k = 0; k < 6 && strcmp(argv[i], flags[k].flag) != 0; k++)
            ;
        if (k < 6) {
            *flags[k].dst = flags[k].value;
            continue;
        }
        for (k = allow_id ? 0 : 1; k < 5 && strcmp(argv[i], fields[k].flag) != 0; k++)
            ;
        if (k == 5)
            return cli_usage_error(usage, "unknown option %s", argv[i]);
        if (i + 1 >= argc)
            return cli_usage_error(usage, "%s needs a value", argv[i]);
        size_t len = strlen(argv[++i]);
        if (len >= fields[k].size)
            return cli_usage_error(usage, "%s is too long: at most %zu bytes", fields[k].flag,
                                   fields[k].size - 1);
        memcpy(fields[k].dst, argv[i], len + 1);
        f->set[k] = true;
    }
    if (f->set[1]) {
        /* Django's rules, as PATCH /api/auth/user/ applies them: NFKC, \w and @.+-, 150
         * characters (user.h); the username kept is the normalised one. */
        char normal[SA_USERNAME_MAX + 1];
        const char *msgs[2];
        if (sa_username_check(f->u.username, strlen(f->u.username), normal, msgs) > 0)
            return cli_usage_error(usage, "invalid username: %s", msgs[0]);
        memcpy(f->u.username, normal, strlen(normal) + 1);
    }
    if (f->set[2] && f->u.email[0] && !strchr(f->u.email, '@'))
        return cli_usage_error(usage, "invalid e-mail address: %s", f->u.email);
    return CLI_EXIT_OK;
}

/* The store names a taken unique field exactly ("username", "email", ...): say whose value. */
static int fail_write(const char *what, const sa_user *u, const sa_error *err)
{
    if (err->status != SA_ERR_EXISTS)
        return cli_fail(what, err);
    fprintf(stderr, "socialauth: %s: another user already has %s \"%s\"\n", what, err->msg,
            cli_user_field(u, err->msg));
    return CLI_EXIT_FAILED;
}

typedef struct create_ctx {
    sa_user *u;
    cli_output out;
    const char *what;
} create_ctx;

static int act_create(sa_config *cfg, sa_store *store, void *ctx)
{
    create_ctx *c = ctx;
    sa_error err = {0};
    if (sa_store_user_create(store, c->u, &err) != SA_OK)
        return fail_write(c->what, c->u, &err);
    return print_user(c->u, &c->out);
}

static int create_user(int argc, char **argv, const char *usage, bool superuser)
{
    create_ctx c = {0};
    int rc = cli_start(&argc, argv, usage, &c.out, -1, NULL);
    if (rc != CLI_GO_ON)
        return rc;
    user_fields f = {0};
    rc = parse_fields(argc, argv, usage, true, &f);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (!f.u.username[0] || !f.u.email[0])
        return cli_usage_error(usage, "%s", "--username and --email are required");
    f.u.is_active = f.active != 0;
    f.u.is_staff = superuser || f.staff == 1;
    f.u.is_superuser = superuser || f.superuser == 1;
    f.u.date_joined = (int64_t)time(NULL);
    c.u = &f.u;
    c.what = superuser ? "createsuperuser" : "user create";
    rc = cli_with_store(SA_STORE_SERVE, act_create, &c);
    sa_user_clear(&f.u);
    return rc;
}

static int user_create(int argc, char **argv)
{
    return create_user(argc, argv,
        "usage: socialauth user create --username U --email E [--first-name F] [--last-name L]\n"
        "                              [--staff] [--superuser] [--inactive] [--id ID] [--json]\n"
        "Creates a user and prints it. The id is a new UUID4 unless --id gives one (to keep a\n"
        "Django user's primary key, so that its old tokens keep working).\n", false);
}

int cli_createsuperuser(int argc, char **argv)
{
    return create_user(argc, argv,
        "usage: socialauth createsuperuser --username U --email E [--first-name F]\n"
        "                                  [--last-name L] [--id ID] [--json]\n"
        "Creates an active user with staff and superuser status (Django's createsuperuser;\n"
        "there is no password: the user signs in with Google, or gets tokens from\n"
        "`socialauth token mint`).\n", true);
}

/* ---- list ---- */

/* Listing: a user that cannot be shown is named on stderr and counted, never left out
 * silently; the command then exits CLI_EXIT_FAILED after listing the others. */
typedef struct list_ctx {
    cli_table t;
    size_t failed;
} list_ctx;

static int list_json(const sa_user *u, void *ctx)
{
    list_ctx *c = ctx;
    if (cli_print_user_json(u) != CLI_EXIT_OK)
        c->failed++;
    return 0;
}

static int list_row(const sa_user *u, void *ctx)
{
    list_ctx *c = ctx;
    if (cli_check_user_text(u) != CLI_EXIT_OK) {
        c->failed++;
        return 0;
    }
    char joined[32];
    sa_format_utc(u->date_joined, joined, sizeof joined);
    const char *row[] = {u->id, u->username, u->email, yes_no(u->is_active),
                         yes_no(u->is_staff), yes_no(u->is_superuser),
                         u->google_sub[0] ? "linked" : "-", joined};
    cli_table_row(&c->t, row);
    return 0;
}

static int act_list(sa_config *cfg, sa_store *store, void *ctx)
{
    const cli_output *out = ctx;
    sa_error err = {0};
    list_ctx c = {.failed = 0};
    sa_status st;
    if (out->json) {
        st = sa_store_user_each(store, list_json, &c, &err);
    } else {
        cli_table_begin(&c.t, 8, (const char *const[]){"ID", "USERNAME", "EMAIL", "ACTIVE",
                                                       "STAFF", "SUPERUSER", "GOOGLE",
                                                       "JOINED"});
        st = sa_store_user_each(store, list_row, &c, &err);
        cli_table_print(&c.t);
    }
    if (st != SA_OK)
        return cli_fail("user list", &err);
    if (c.failed) {
        fprintf(stderr, "socialauth: user list: %zu user(s) could not be shown\n", c.failed);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

static int user_list(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth user list [--json|--table]\n"
        "Lists every user in id order: a table on a terminal, one JSON object per line\n"
        "otherwise (or with --json).\n";
    cli_output out;
    int rc = cli_start(&argc, argv, usage, &out, 0, NULL);
    return rc != CLI_GO_ON ? rc : cli_with_store(SA_STORE_SERVE, act_list, &out);
}

/* ---- commands on one user ---- */

typedef int (*user_action)(sa_store *store, sa_user *u, char **args, const cli_output *out);

typedef struct one_user {
    const char *key;
    char **args;
    user_action act;
    char what[48];   /* "user <command>", for messages */
    cli_output out;
} one_user;

static int act_one(sa_config *cfg, sa_store *store, void *ctx)
{
    one_user *c = ctx;
    sa_user u = {0};
    sa_error err = {0};
    int rc = cli_find_user(store, c->key, &u, &err) == SA_OK ? c->act(store, &u, c->args, &c->out)
                                                            : cli_fail(c->what, &err);
    sa_user_clear(&u);
    return rc;
}

/* Run act on the user named by argv[1], with `nargs` more arguments after it. */
static int with_user(int argc, char **argv, const char *usage, int nargs, user_action act)
{
    one_user c = {0};
    int rc = cli_start(&argc, argv, usage, &c.out, 1 + nargs,
                       nargs ? "a user and a value" : "one user");
    if (rc != CLI_GO_ON)
        return rc;
    c.key = argv[1];
    c.args = argv + 2;
    c.act = act;
    snprintf(c.what, sizeof c.what, "user %s", argv[0]);
    return cli_with_store(SA_STORE_SERVE, act_one, &c);
}

static int act_show(sa_store *store, sa_user *u, char **args, const cli_output *out)
{
    return print_user(u, out);
}

static int user_show(int argc, char **argv)
{
    return with_user(argc, argv,
                     "usage: socialauth user show ID|EMAIL|USERNAME [--json|--table]\n"
                     "Prints the user (never a secret: no password hash, no token).\n", 0,
                     act_show);
}

/* set-active / set-staff: one boolean field. */
static int set_flag(sa_store *store, sa_user *u, const char *value, bool *field,
                    const char *what, const cli_output *out)
{
    bool b;
    if (sa_parse_bool(value, &b) != SA_OK) {
        fprintf(stderr, "socialauth: %s: expected true or false, not \"%s\"\n", what, value);
        return CLI_EXIT_USAGE;
    }
    *field = b;
    sa_error err = {0};
    if (sa_store_user_update(store, u, &err) != SA_OK)
        return cli_fail(what, &err);
    return print_user(u, out);
}

static int act_set_active(sa_store *store, sa_user *u, char **args, const cli_output *out)
{
    return set_flag(store, u, args[0], &u->is_active, "user set-active", out);
}

static int act_set_staff(sa_store *store, sa_user *u, char **args, const cli_output *out)
{
    return set_flag(store, u, args[0], &u->is_staff, "user set-staff", out);
}

static int user_set_active(int argc, char **argv)
{
    return with_user(argc, argv,
                     "usage: socialauth user set-active ID|EMAIL|USERNAME true|false\n"
                     "Enables or disables the user: an inactive user cannot sign in, and its\n"
                     "tokens are refused (401 user_inactive).\n", 1, act_set_active);
}

static int user_set_staff(int argc, char **argv)
{
    return with_user(argc, argv,
                     "usage: socialauth user set-staff ID|EMAIL|USERNAME true|false\n"
                     "Sets Django's is_staff flag.\n", 1, act_set_staff);
}

static int act_delete(sa_store *store, sa_user *u, char **args, const cli_output *out)
{
    sa_error err = {0};
    if (sa_store_user_delete(store, u->id, &err) != SA_OK)
        return cli_fail("user delete", &err);
    fprintf(stderr, "socialauth: deleted user %s, its Google link and its sessions\n", u->id);
    return CLI_EXIT_OK;
}

static int user_delete(int argc, char **argv)
{
    return with_user(argc, argv,
                     "usage: socialauth user delete ID|EMAIL|USERNAME\n"
                     "Deletes the user, its Google link and every session (its tokens stop\n"
                     "working at once). Signing in with Google again makes a new user.\n", 0,
                     act_delete);
}

/* update: the options given replace those fields. */
typedef struct update_ctx {
    user_fields f;
    cli_output out;
    const char *key;
} update_ctx;

static int act_update(sa_config *cfg, sa_store *store, void *ctx)
{
    update_ctx *c = ctx;
    sa_user u = {0};
    sa_error err = {0};
    if (cli_find_user(store, c->key, &u, &err) != SA_OK)
        return cli_fail("user update", &err);
    char *dst[] = {NULL, u.username, u.email, u.first_name, u.last_name};
    const char *src[] = {NULL, c->f.u.username, c->f.u.email, c->f.u.first_name,
                         c->f.u.last_name};
    size_t size[] = {0, sizeof u.username, sizeof u.email, sizeof u.first_name,
                     sizeof u.last_name};
    for (size_t i = 1; i < 5; i++)
        if (c->f.set[i])
            snprintf(dst[i], size[i], "%s", src[i]);
    if (c->f.staff >= 0) u.is_staff = c->f.staff;
    if (c->f.superuser >= 0) u.is_superuser = c->f.superuser;
    if (c->f.active >= 0) u.is_active = c->f.active;
    int rc = CLI_EXIT_OK;
    if (sa_store_user_update(store, &u, &err) != SA_OK)
        rc = fail_write("user update", &u, &err);
    else
        rc = print_user(&u, &c->out);
    sa_user_clear(&u);
    return rc;
}

static int user_update(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth user update ID|EMAIL|USERNAME [--username U] [--email E]\n"
        "              [--first-name F] [--last-name L] [--staff|--no-staff]\n"
        "              [--superuser|--no-superuser] [--active|--inactive] [--json]\n"
        "Changes the fields given and prints the user. The id never changes.\n";
    update_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return CLI_EXIT_FAILED;
    int rc = cli_start(&argc, argv, usage, &c->out, -1, NULL);
    if (rc != CLI_GO_ON) {
        free(c);
        return rc;
    }
    rc = argc < 2 ? cli_usage_error(usage, "%s", "which user?") : CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK) {
        c->key = argv[1];
        rc = parse_fields(argc - 1, argv + 1, usage, false, &c->f);
    }
    if (rc == CLI_EXIT_OK && c->f.set[2] && !c->f.u.email[0])
        rc = cli_usage_error(usage, "%s", "--email may not be empty");
    if (rc == CLI_EXIT_OK)
        rc = cli_with_store(SA_STORE_SERVE, act_update, c);
    free(c);
    return rc;
}

int cli_user(int argc, char **argv)
{
    static const cli_command cmds[] = {
        {"list", "list every user (table, or JSON lines with --json)", user_list},
        {"show", "show one user, by id, e-mail or username", user_show},
        {"create", "create a user", user_create},
        {"update", "change a user's names, e-mail or flags", user_update},
        {"set-active", "enable or disable a user", user_set_active},
        {"set-staff", "set or clear staff status", user_set_staff},
        {"delete", "delete a user, its Google link and its sessions", user_delete},
    };
    return cli_dispatch("user", cmds, sizeof cmds / sizeof cmds[0], argc, argv);
}
