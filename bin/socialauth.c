/* socialauth: the admin command. Every subcommand takes --help; errors go to stderr with a
 * non-zero exit status (1: failed, 2: bad usage). Settings from $SOCIALAUTH_CONF or --config. */
#include "config.h"
#include "jwt.h"
#include "session.h"
#include "json.h"
#include "owner.h"
#include "store.h"
#include "tokens.h"
#include "user.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *conf_path;

static const char usage_main[] =
    "usage: socialauth [--config FILE] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  init                         create the store and, if absent, a development signing key\n"
    "  user create --username U --email E [--first-name F] [--last-name L] [--staff]\n"
    "              [--superuser] [--inactive] [--id ID]\n"
    "  user list                    one JSON object per user\n"
    "  user show ID|EMAIL|USERNAME\n"
    "  user set-active ID true|false\n"
    "  user delete ID\n"
    "  token mint ID|EMAIL|USERNAME open a session and print {\"access\":...,\"refresh\":...}\n"
    "  session list ID|EMAIL|USERNAME\n"
    "  session revoke SID | --all ID|EMAIL|USERNAME\n"
    "  session count                how many sessions the store holds\n"
    "  backup DIR                   hot backup of the store into DIR\n"
    "\n"
    "Settings come from --config, else $SOCIALAUTH_CONF, else " SA_DEFAULT_CONF ".\n"
    "Run `socialauth COMMAND --help` for a command's details.\n";

static int fail(const char *what, const sa_error *err)
{
    fprintf(stderr, "socialauth: %s: %s\n", what, err->msg);
    return 1;
}

static int usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "socialauth: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage);
    return 2;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

/* What a command does once its settings are loaded and the store is open; returns the exit
 * status. It may return early: with_store() closes everything. */
typedef int (*store_action)(sa_config *cfg, sa_store *store, void *ctx);

/* Load settings, open the store (mode), run act, close. On a failure to open, print why and
 * return 1. */
static int with_store(sa_store_mode mode, store_action act, void *ctx)
{
    sa_config cfg;
    sa_store *store;
    sa_error err = {0};
    int rc;

    if (sa_config_load(&cfg, conf_path, &err) != SA_OK)
        return fail("configuration", &err);
    /* As root, work as the store's owner: files created now stay readable to the endpoints. */
    if (sa_owner_become_store_owner(cfg.db_home, &err) != SA_OK) {
        rc = fail("store", &err);
    } else if (sa_store_open(&store, cfg.db_home, mode, &err) != SA_OK) {
        rc = fail("store", &err);
    } else {
        rc = act(&cfg, store, ctx);
        sa_store_close(store);
    }
    sa_config_free(&cfg);
    return rc;
}

static void print_user(const sa_user *u)
{
    sa_buf out = {0};
    sa_jw w;
    sa_jw_begin(&w, &out);
    sa_jw_object(&w);
    sa_user_fields(&w, u);
    sa_jw_key(&w, "is_active");
    sa_jw_bool(&w, u->is_active);
    sa_jw_key(&w, "is_staff");
    sa_jw_bool(&w, u->is_staff);
    sa_jw_key(&w, "is_superuser");
    sa_jw_bool(&w, u->is_superuser);
    char when[32];
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
    if (u->google_extra && sa_json_parse(u->google_extra, strlen(u->google_extra), &extra,
                                         NULL) == SA_OK)
        sa_jw_raw(&w, u->google_extra, strlen(u->google_extra));
    else
        sa_jw_null(&w);
    json_object_put(extra);
    sa_jw_end(&w);
    if (!w.failed)
        printf("%s\n", out.data);
    sa_buf_free(&out);
}

/* Find a user by id, then e-mail, then username. */
static sa_status find_user(sa_store *store, const char *key, sa_user *out, sa_error *err)
{
    static const sa_user_key order[] = {SA_BY_ID, SA_BY_EMAIL, SA_BY_USERNAME};
    sa_status st = SA_ERR_NOT_FOUND;
    for (size_t i = 0; i < 3 && st == SA_ERR_NOT_FOUND; i++)
        st = sa_store_user_get(store, order[i], key, out, err);
    if (st == SA_ERR_NOT_FOUND)
        SA_FAIL(err, st, "no user with id, e-mail or username \"%s\"", key);
    return st;
}

/* Create the key file named by the configuration, 64 random hex bytes, mode 0600. */
static int create_key_file(const char *path)
{
    char key[65];
    if (sa_random_hex(key, 64) != SA_OK) {
        fprintf(stderr, "socialauth: cannot get random bytes for the signing key\n");
        return 1;
    }
    key[64] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, key, sizeof key) != (ssize_t)sizeof key || close(fd) != 0) {
        fprintf(stderr, "socialauth: cannot write signing key %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(stderr, "socialauth: created development signing key %s\n", path);
    return 0;
}

static int act_init(sa_config *cfg, sa_store *store, void *ctx)
{
    fprintf(stderr, "socialauth: store ready in %s\n", cfg->db_home);
    return 0;
}

static int cmd_init(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth init\n"
        "Creates the Berkeley DB environment named by `db_home` and, when `signing_key_file`\n"
        "names a file that does not exist, a new random signing key there (mode 0600).\n"
        "Safe to run again: what exists is kept.\n";
    if (wants_help(argc, argv)) { fputs(usage, stdout); return 0; }
    if (argc > 1) return usage_error(usage, "init takes no arguments: %s", argv[1]);

    /* Read the file once without the checks, to learn where the key should be. */
    sa_config probe;
    sa_config_defaults(&probe);
    sa_error err = {0};
    FILE *f = fopen(conf_path, "r");
    if (!f) {
        fprintf(stderr, "socialauth: cannot open %s: %s\n", conf_path, strerror(errno));
        return 1;
    }
    char text[65536];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    if (sa_config_parse(&probe, text, n, conf_path, &err) != SA_OK)
        return fail("configuration", &err);
    int rc = 0;
    /* As root with service_user set: db_home and the key belong to that user, or we refuse. */
    if (sa_owner_prepare(probe.db_home, probe.signing_key_file, probe.service_user, &err) != SA_OK)
        rc = fail("init", &err);
    else if (probe.signing_key_file[0] && access(probe.signing_key_file, F_OK) != 0) {
        rc = create_key_file(probe.signing_key_file);
        if (rc == 0 && sa_owner_give(probe.signing_key_file, probe.service_user, &err) != SA_OK)
            rc = fail("init", &err);
    }
    sa_config_free(&probe);
    if (rc)
        return rc;

    return with_store(SA_STORE_CREATE, act_init, NULL);
}

static int act_user_create(sa_config *cfg, sa_store *store, void *ctx)
{
    sa_user *u = ctx;
    sa_error err = {0};
    if (sa_store_user_create(store, u, &err) != SA_OK)
        return fail("user create", &err);
    print_user(u);
    return 0;
}

static int cmd_user_create(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth user create --username U --email E [--first-name F] [--last-name L]\n"
        "                              [--staff] [--superuser] [--inactive] [--id ID]\n"
        "Creates a user and prints it as JSON. The id is a new UUID4 unless --id gives one\n"
        "(to import a Django user with its primary key, so its old tokens keep working).\n";
    if (wants_help(argc, argv)) { fputs(usage, stdout); return 0; }
    sa_user u = {0};
    u.is_active = true;
    struct { const char *flag; char *dst; size_t size; } fields[] = {
        {"--id", u.id, sizeof u.id},
        {"--username", u.username, sizeof u.username},
        {"--email", u.email, sizeof u.email},
        {"--first-name", u.first_name, sizeof u.first_name},
        {"--last-name", u.last_name, sizeof u.last_name},
    };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--staff") == 0) { u.is_staff = true; continue; }
        if (strcmp(argv[i], "--superuser") == 0) { u.is_superuser = true; continue; }
        if (strcmp(argv[i], "--inactive") == 0) { u.is_active = false; continue; }
        size_t k;
        for (k = 0; k < 5 && strcmp(argv[i], fields[k].flag) != 0; k++)
            ;
        if (k == 5)
            return usage_error(usage, "unknown option %s", argv[i]);
        if (i + 1 >= argc)
            return usage_error(usage, "%s needs a value", argv[i]);
        size_t len = strlen(argv[++i]);
        if (len >= fields[k].size)
            return usage_error(usage, "%s is too long", fields[k].flag);
        memcpy(fields[k].dst, argv[i], len + 1);
    }
    if (!u.username[0] || !u.email[0])
        return usage_error(usage, "%s", "--username and --email are required");
    if (!sa_username_valid(u.username))
        return usage_error(usage, "%s",
                           "invalid username: use letters, digits and @/./+/-/_ only");
    if (!strchr(u.email, '@'))
        return usage_error(usage, "invalid e-mail address: %s", u.email);

    u.date_joined = (int64_t)time(NULL);
    int rc = with_store(SA_STORE_SERVE, act_user_create, &u);
    sa_user_clear(&u);
    return rc;
}

static int print_each(const sa_user *u, void *ctx)
{
    (void)ctx;
    print_user(u);
    return 0;
}

static int act_user_list(sa_config *cfg, sa_store *store, void *ctx)
{
    sa_error err = {0};
    if (sa_store_user_each(store, print_each, NULL, &err) != SA_OK)
        return fail("user list", &err);
    return 0;
}

static int cmd_user_list(int argc, char **argv)
{
    static const char usage[] = "usage: socialauth user list\nPrints every user, one JSON "
                                "object per line, in id order.\n";
    if (wants_help(argc, argv)) { fputs(usage, stdout); return 0; }
    if (argc > 1) return usage_error(usage, "unexpected argument %s", argv[1]);
    return with_store(SA_STORE_SERVE, act_user_list, NULL);
}

/* `user show`, `user set-active`, `user delete` and `token mint`: act on one user. */
typedef int (*user_action)(sa_config *cfg, sa_store *store, sa_user *u, const char *arg);

typedef struct user_ctx {
    const char *key;    /* id, e-mail or username */
    const char *arg;    /* the action's argument, or NULL */
    user_action act;
} user_ctx;

static int act_on_user(sa_config *cfg, sa_store *store, void *ctx)
{
    user_ctx *c = ctx;
    sa_user u = {0};
    sa_error err = {0};
    int rc = find_user(store, c->key, &u, &err) == SA_OK ? c->act(cfg, store, &u, c->arg)
                                                          : fail("user", &err);
    sa_user_clear(&u);
    return rc;
}

static int with_user(int argc, char **argv, const char *usage, bool needs_arg, user_action act)
{
    if (wants_help(argc, argv)) { fputs(usage, stdout); return 0; }
    if (argc != (needs_arg ? 3 : 2))
        return usage_error(usage, "%s", "wrong number of arguments");
    user_ctx c = {argv[1], needs_arg ? argv[2] : NULL, act};
    return with_store(SA_STORE_SERVE, act_on_user, &c);
}

static int act_show(sa_config *cfg, sa_store *store, sa_user *u, const char *arg)
{
    print_user(u);
    return 0;
}

static int act_set_active(sa_config *cfg, sa_store *store, sa_user *u, const char *arg)
{
    bool active;
    if (sa_parse_bool(arg, &active) != SA_OK) {
        fprintf(stderr, "socialauth: set-active wants true or false, not \"%s\"\n", arg);
        return 2;
    }
    u->is_active = active;
    sa_error err = {0};
    if (sa_store_user_update(store, u, &err) != SA_OK)
        return fail("user set-active", &err);
    print_user(u);
    return 0;
}

static int act_delete(sa_config *cfg, sa_store *store, sa_user *u, const char *arg)
{
    sa_error err = {0};
    if (sa_store_user_delete(store, u->id, &err) != SA_OK)
        return fail("user delete", &err);
    fprintf(stderr, "socialauth: deleted user %s\n", u->id);
    return 0;
}

static int act_mint(sa_config *cfg, sa_store *store, sa_user *u, const char *arg)
{
    sa_token access, refresh;
    sa_error err = {0};
    if (sa_session_open(cfg, store, u->id, (int64_t)time(NULL), &access, &refresh, &err) != SA_OK)
        return fail("token mint", &err);
    printf("{\"access\":\"%s\",\"refresh\":\"%s\"}\n", access.text, refresh.text);
    return 0;
}

static int print_session(const sa_session *s, void *ctx)
{
    char created[32], expires[32];
    sa_format_utc(s->created_at, created, sizeof created);
    sa_format_utc(s->expires_at, expires, sizeof expires);
    printf("{\"sid\":\"%s\",\"user_id\":\"%s\",\"created\":\"%s\",\"expires\":\"%s\","
           "\"revoked\":%s}\n", s->sid, s->user_id, created, expires, s->revoked ? "true" : "false");
    return 0;
}

static int act_session_list(sa_config *cfg, sa_store *store, sa_user *u, const char *arg)
{
    sa_error err = {0};
    if (sa_store_session_each_of_user(store, u->id, print_session, NULL, &err) != SA_OK)
        return fail("session list", &err);
    return 0;
}

static int act_session_revoke_all(sa_config *cfg, sa_store *store, sa_user *u, const char *arg)
{
    sa_error err = {0};
    if (sa_store_session_revoke_all(store, u->id, (int64_t)time(NULL), &err) != SA_OK)
        return fail("session revoke", &err);
    fprintf(stderr, "socialauth: revoked every session of user %s\n", u->id);
    return 0;
}

static int act_session_revoke(sa_config *cfg, sa_store *store, void *ctx)
{
    const char *sid = ctx;
    sa_error err = {0};
    sa_status st = sa_store_session_revoke(store, sid, &err);
    if (st == SA_ERR_NOT_FOUND) {
        fprintf(stderr, "socialauth: no session \"%s\"\n", sid);
        return 1;
    }
    if (st != SA_OK)
        return fail("session revoke", &err);
    return 0;
}

static int cmd_session_revoke(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth session revoke SID\n"
        "       socialauth session revoke --all ID|EMAIL|USERNAME\n"
        "Revokes one session, or every session of a user: their refresh and access tokens\n"
        "stop working at once. --all also refuses the user's tokens without sid (minted by\n"
        "a Django service sharing the key) issued until now.\n";
    if (wants_help(argc, argv)) { fputs(usage, stdout); return 0; }
    if (argc == 3 && strcmp(argv[1], "--all") == 0)
        return with_user(argc - 1, argv + 1, usage, false, act_session_revoke_all);
    if (argc != 2)
        return usage_error(usage, "%s", "wrong number of arguments");
    return with_store(SA_STORE_SERVE, act_session_revoke, argv[1]);
}

static int act_session_count(sa_config *cfg, sa_store *store, void *ctx)
{
    sa_error err = {0};
    size_t count = 0;
    if (sa_store_session_count(store, &count, &err) != SA_OK)
        return fail("session count", &err);
    printf("%zu\n", count);
    return 0;
}

static int cmd_session_count(int argc, char **argv)
{
    static const char usage[] = "usage: socialauth session count\nPrints how many sessions the "
                                "store holds (expired ones are purged by normal traffic).\n";
    if (wants_help(argc, argv)) { fputs(usage, stdout); return 0; }
    return with_store(SA_STORE_SERVE, act_session_count, NULL);
}

static int act_backup(sa_config *cfg, sa_store *store, void *ctx)
{
    sa_error err = {0};
    if (sa_store_backup(store, ctx, &err) != SA_OK)
        return fail("backup", &err);
    return 0;
}

static int cmd_backup(int argc, char **argv)
{
    static const char usage[] = "usage: socialauth backup DIR\nCopies the store, while it "
                                "serves, into DIR (created), ready to be used as db_home.\n";
    if (wants_help(argc, argv)) { fputs(usage, stdout); return 0; }
    if (argc != 2) return usage_error(usage, "%s", "backup needs one directory");
    return with_store(SA_STORE_SERVE, act_backup, argv[1]);
}

int main(int argc, char **argv)
{
    conf_path = sa_config_default_path();
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "--config") == 0) {
        conf_path = argv[i + 1];
        i += 2;
    }
    if (i >= argc) {
        fputs(usage_main, stderr);
        return 2;
    }
    const char *cmd = argv[i];
    int sub_argc = argc - i;
    char **sub = argv + i;
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "init") == 0)
        return cmd_init(sub_argc, sub);
    if (strcmp(cmd, "backup") == 0)
        return cmd_backup(sub_argc, sub);
    if (strcmp(cmd, "session") == 0 && sub_argc >= 2) {
        const char *verb = sub[1];
        if (strcmp(verb, "list") == 0)
            return with_user(sub_argc - 1, sub + 1,
                             "usage: socialauth session list ID|EMAIL|USERNAME\nPrints the "
                             "user's sessions, one JSON object per line.\n", false,
                             act_session_list);
        if (strcmp(verb, "revoke") == 0)
            return cmd_session_revoke(sub_argc - 1, sub + 1);
        if (strcmp(verb, "count") == 0)
            return cmd_session_count(sub_argc - 1, sub + 1);
    }
    if ((strcmp(cmd, "user") == 0 || strcmp(cmd, "token") == 0 || strcmp(cmd, "session") == 0) &&
        sub_argc < 2) {
        fprintf(stderr, "socialauth: %s needs a subcommand\n%s", cmd, usage_main);
        return 2;
    }
    if (strcmp(cmd, "user") == 0 || strcmp(cmd, "token") == 0) {
        const char *verb = sub[1];
        sub_argc--;
        sub++;
        if (strcmp(cmd, "token") == 0 && strcmp(verb, "mint") == 0)
            return with_user(sub_argc, sub,
                             "usage: socialauth token mint ID|EMAIL|USERNAME\nOpens a new "
                             "session for that user and prints its access and refresh tokens "
                             "as JSON.\n",
                             false, act_mint);
        if (strcmp(cmd, "user") == 0) {
            if (strcmp(verb, "create") == 0) return cmd_user_create(sub_argc, sub);
            if (strcmp(verb, "list") == 0) return cmd_user_list(sub_argc, sub);
            if (strcmp(verb, "show") == 0)
                return with_user(sub_argc, sub, "usage: socialauth user show ID|EMAIL|USERNAME\n"
                                 "Prints the user as JSON.\n", false, act_show);
            if (strcmp(verb, "set-active") == 0)
                return with_user(sub_argc, sub, "usage: socialauth user set-active ID true|false\n"
                                 "Enables or disables sign-in for the user.\n", true,
                                 act_set_active);
            if (strcmp(verb, "delete") == 0)
                return with_user(sub_argc, sub, "usage: socialauth user delete ID\n"
                                 "Deletes the user, its Google link and its sessions.\n", false,
                                 act_delete);
        }
        fprintf(stderr, "socialauth: unknown command `%s %s`\n%s", cmd, verb, usage_main);
        return 2;
    }
    fprintf(stderr, "socialauth: unknown command `%s`\n%s", cmd, usage_main);
    return 2;
}
