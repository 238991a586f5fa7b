/* session.c: `socialauth session ...` and `socialauth token mint` (api.html#sessions). */
#include "cli.h"

#include "core/utc.h"
#include "token/jwt.h"
#include "api/session.h"
#include "api/tokens.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct user_ctx {
    const char *key;
    cli_output out;
    cli_table table;
} user_ctx;

static int print_session(const sa_session *s, void *ctx)
{
    user_ctx *c = ctx;
    char created[32], expires[32];
    sa_format_utc(s->created_at, created, sizeof created);
    sa_format_utc(s->expires_at, expires, sizeof expires);
    if (c->out.json) {
        printf("{\"sid\":\"%s\",\"user_id\":\"%s\",\"created\":\"%s\",\"expires\":\"%s\","
               "\"revoked\":%s}\n", s->sid, s->user_id, created, expires,
               s->revoked ? "true" : "false");
    } else {
        const char *row[] = {s->sid, created, expires, s->revoked ? "yes" : "no"};
        cli_table_row(&c->table, row);
    }
    return 0;
}

static int act_list(sa_config *cfg, sa_store *store, void *ctx)
{
    user_ctx *c = ctx;
    sa_user u = {0};
    sa_error err = {0};
    if (cli_find_user(store, c->key, &u, &err) != SA_OK)
        return cli_fail("session list", &err);
    if (!c->out.json)
        cli_table_begin(&c->table, 4, (const char *const[]){"SID", "CREATED", "EXPIRES",
                                                            "REVOKED"});
    sa_status st = sa_store_session_each_of_user(store, u.id, print_session, c, &err);
    if (!c->out.json)
        cli_table_print(&c->table);
    sa_user_clear(&u);
    return st == SA_OK ? CLI_EXIT_OK : cli_fail("session list", &err);
}

static int session_list(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth session list ID|EMAIL|USERNAME [--json|--table]\n"
        "Lists the user's sessions (one per sign-in; API reference, api.html#sessions).\n";
    user_ctx c = {0};
    int rc = cli_start(&argc, argv, usage, &c.out, 1, "one user");
    if (rc != CLI_GO_ON)
        return rc;
    c.key = argv[1];
    return cli_with_store(SA_STORE_SERVE, act_list, &c);
}

static int act_revoke_all(sa_config *cfg, sa_store *store, void *ctx)
{
    user_ctx *c = ctx;
    sa_user u = {0};
    sa_error err = {0};
    int rc = CLI_EXIT_OK;
    if (cli_find_user(store, c->key, &u, &err) != SA_OK ||
        sa_store_session_revoke_all(store, u.id, (int64_t)time(NULL), &err) != SA_OK)
        rc = cli_fail("session revoke", &err);
    else
        fprintf(stderr, "socialauth: revoked every session of user %s\n", u.id);
    sa_user_clear(&u);
    return rc;
}

static int act_revoke(sa_config *cfg, sa_store *store, void *ctx)
{
    const char *sid = ctx;
    sa_error err = {0};
    sa_status st = sa_store_session_revoke(store, sid, &err);
    if (st == SA_ERR_NOT_FOUND) {
        fprintf(stderr, "socialauth: session revoke: no session \"%s\"\n", sid);
        return CLI_EXIT_NOT_FOUND;
    }
    return st == SA_OK ? CLI_EXIT_OK : cli_fail("session revoke", &err);
}

static int session_revoke(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth session revoke SID\n"
        "       socialauth session revoke --all ID|EMAIL|USERNAME\n"
        "Revokes one session, or every session of a user: their refresh and access tokens\n"
        "stop working at once. --all also refuses the user's tokens without sid (minted by\n"
        "a Django service sharing the key) issued until now.\n";
    int rc = cli_start(&argc, argv, usage, NULL, -1, NULL);
    if (rc != CLI_GO_ON)
        return rc;
    if (argc == 3 && strcmp(argv[1], "--all") == 0) {
        user_ctx c = {.key = argv[2]};
        return cli_with_store(SA_STORE_SERVE, act_revoke_all, &c);
    }
    if (argc != 2)
        return cli_usage_error(usage, "%s", "expected a sid, or --all and a user");
    return cli_with_store(SA_STORE_SERVE, act_revoke, argv[1]);
}

static int act_count(sa_config *cfg, sa_store *store, void *ctx)
{
    sa_error err = {0};
    size_t count = 0;
    if (sa_store_session_count(store, &count, &err) != SA_OK)
        return cli_fail("session count", &err);
    printf("%zu\n", count);
    return CLI_EXIT_OK;
}

static int session_count(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth session count\n"
        "Prints how many sessions the store holds (expired ones go with `socialauth purge`\n"
        "or, a few at a time, with normal traffic).\n";
    int rc = cli_start(&argc, argv, usage, NULL, 0, NULL);
    return rc != CLI_GO_ON ? rc : cli_with_store(SA_STORE_SERVE, act_count, NULL);
}

int cli_session(int argc, char **argv)
{
    static const cli_command cmds[] = {
        {"list", "list a user's sessions", session_list},
        {"revoke", "revoke one session, or all of a user's", session_revoke},
        {"count", "how many sessions the store holds", session_count},
    };
    return cli_dispatch("session", cmds, sizeof cmds / sizeof cmds[0], argc, argv);
}

/* ---- token mint ---- */

static int act_mint(sa_config *cfg, sa_store *store, void *ctx)
{
    user_ctx *c = ctx;
    sa_user u = {0};
    sa_error err = {0};
    sa_token access, refresh;
    int rc = CLI_EXIT_OK;
    if (cli_find_user(store, c->key, &u, &err) != SA_OK) {
        rc = cli_fail("token mint", &err);
    } else if (!u.is_active) {   /* the endpoints would refuse its tokens (user_inactive) */
        fprintf(stderr, "socialauth: token mint: user %s is inactive: its tokens would be "
                        "refused (401 user_inactive); `socialauth user set-active %s true` "
                        "first\n", u.id, u.id);
        rc = CLI_EXIT_FAILED;
    } else if (sa_session_open(cfg, store, u.id, (int64_t)time(NULL), &access, &refresh,
                               &err) != SA_OK) {
        rc = cli_fail("token mint", &err);
    } else
        printf("{\"access\":\"%s\",\"refresh\":\"%s\"}\n", access.text, refresh.text);
    sa_user_clear(&u);
    return rc;
}

static int token_mint(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth token mint ID|EMAIL|USERNAME\n"
        "Opens a new session for the user and prints its access and refresh tokens as JSON\n"
        "(for scripts and tests; the tokens are secrets: keep them out of logs). An inactive\n"
        "user is refused (exit 1). The user is looked up by id, then e-mail, then username.\n";
    int rc = cli_start(&argc, argv, usage, NULL, 1, "one user");
    if (rc != CLI_GO_ON)
        return rc;
    user_ctx c = {.key = argv[1]};
    return cli_with_store(SA_STORE_SERVE, act_mint, &c);
}

int cli_token(int argc, char **argv)
{
    static const cli_command cmds[] = {
        {"mint", "open a session for a user and print its tokens", token_mint},
    };
    return cli_dispatch("token", cmds, sizeof cmds / sizeof cmds[0], argc, argv);
}
