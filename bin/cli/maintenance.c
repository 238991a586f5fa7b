/* maintenance.c: the store as a whole: backup, restore, verify, stats, checkpoint, purge,
 * export. */
#include "cli.h"
#include "core/owner.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- backup / restore ---- */

/* Bytes of the database and log files in dir (what a backup copies). */
static uint64_t store_bytes(const char *dir)
{
    uint64_t total = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (!((n > 3 && strcmp(e->d_name + n - 3, ".db") == 0) ||
              strncmp(e->d_name, "log.", 4) == 0))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, 0) == 0)
            total += (uint64_t)st.st_size;
    }
    if (d)
        closedir(d);
    return total;
}

/* The backup's progress on a terminal: a thread compares the bytes already in the target
 * with the store's, ten times a second, while Berkeley DB copies. */
typedef struct backup_watch {
    const char *target;
    cli_progress bar;
    atomic_bool done;
} backup_watch;

static void *watch_backup(void *arg)
{
    backup_watch *w = arg;
    while (!atomic_load(&w->done)) {
        cli_progress_update(&w->bar, store_bytes(w->target));
        struct timespec tick = {0, 100 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    return NULL;
}

typedef enum dir_state {
    DIR_ABSENT, DIR_EMPTY, DIR_BACKUP, DIR_OTHER, DIR_NOT_DIR, DIR_UNREADABLE
} dir_state;

/* What path is: absent, an empty directory, one holding a backup (users.db), one holding
 * other files, not a directory, or unreadable (*errno_out says why). */
static dir_state dir_state_of(const char *path, int *errno_out)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        *errno_out = errno;
        return errno == ENOENT ? DIR_ABSENT : DIR_UNREADABLE;
    }
    if (!S_ISDIR(st.st_mode))
        return DIR_NOT_DIR;
    DIR *d = opendir(path);
    if (!d) {
        *errno_out = errno;
        return DIR_UNREADABLE;
    }
    dir_state state = DIR_EMPTY;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strcmp(e->d_name, "users.db") == 0) {
            state = DIR_BACKUP;
            break;
        }
        state = DIR_OTHER;
    }
    closedir(d);
    return state;
}

/* A backup goes into a new directory, an empty one (made 0700), or one holding a backup
 * (which sa_store_backup refuses, naming it); never among other files. CLI_EXIT_OK or the
 * exit status after printing why. */
static int backup_target_ok(const char *target)
{
    int errno_seen = 0;
    switch (dir_state_of(target, &errno_seen)) {
    case DIR_NOT_DIR:
        fprintf(stderr, "socialauth: backup: %s exists and is not a directory\n", target);
        return CLI_EXIT_FAILED;
    case DIR_OTHER:   /* never mix a store into a directory of other files */
        fprintf(stderr, "socialauth: backup: %s holds other files: back up into a new or "
                        "empty directory\n", target);
        return CLI_EXIT_FAILED;
    case DIR_UNREADABLE: {
        char why[512];
        fprintf(stderr, "socialauth: backup: cannot use %s: %s %s\n", target,
                strerror(errno_seen), sa_owner_describe(target, why, sizeof why));
        return CLI_EXIT_FAILED;
    }
    case DIR_EMPTY:   /* the copy is as secret as the store: only its owner may open it */
        if (chmod(target, 0700) != 0) {
            fprintf(stderr, "socialauth: backup: cannot chmod 700 %s: %s\n", target,
                    strerror(errno));
            return CLI_EXIT_FAILED;
        }
        break;
    case DIR_ABSENT:
    case DIR_BACKUP:  /* refused by sa_store_backup, which says so */
        break;
    }
    return CLI_EXIT_OK;
}

static int act_backup(sa_config *cfg, sa_store *store, void *ctx)
{
    int rc = backup_target_ok(ctx);
    if (rc != CLI_EXIT_OK)
        return rc;
    sa_error err = {0};
    backup_watch w = {.target = ctx};
    pthread_t watcher;
    cli_progress_begin(&w.bar, "backup (bytes)", store_bytes(cfg->db_home));
    atomic_init(&w.done, false);
    bool watching = w.bar.on && pthread_create(&watcher, NULL, watch_backup, &w) == 0;
    sa_status st = sa_store_backup(store, ctx, &err);
    atomic_store(&w.done, true);
    if (watching)
        pthread_join(watcher, NULL);
    cli_progress_end(&w.bar);
    if (st != SA_OK)
        return cli_fail("backup", &err);
    fprintf(stderr, "socialauth: backup of %s written to %s\n", cfg->db_home, (char *)ctx);
    return CLI_EXIT_OK;
}

int cli_backup(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth backup DIR\n"
        "Copies the store into DIR (created, mode 0700; an existing DIR must be empty, and\n"
        "is then made 0700)\n"
        "while the endpoints keep serving. The copy is consistent: every transaction\n"
        "committed before the copy ended is in it, none half. Restore it with\n"
        "`socialauth restore DIR`.\n";
    int rc = cli_start(&argc, argv, usage, NULL, 1, "one directory");
    return rc != CLI_GO_ON ? rc : cli_with_store(SA_STORE_SERVE, act_backup, argv[1]);
}

static void print_problem(const char *message, void *ctx)
{
    cli_progress_end(ctx);
    printf("%s\n", message);
}

static void show_progress(size_t done, void *ctx)
{
    cli_progress_update(ctx, done);
}

/* Verify the open store; prints each problem on stdout. */
static int verify_store(sa_store *store, const char *what)
{
    sa_error err = {0};
    sa_store_stats stats;
    size_t problems = 0;
    cli_progress bar;
    if (sa_store_stats_get(store, &stats, &err) != SA_OK)
        return cli_fail(what, &err);
    /* users and sessions are each read, then each index entry of theirs */
    cli_progress_begin(&bar, what, 2 * stats.users + stats.google_links + stats.users +
                                       2 * stats.sessions);
    if (sa_store_verify(store, print_problem, show_progress, &bar, &problems, &err) != SA_OK) {
        cli_progress_end(&bar);
        return cli_fail(what, &err);
    }
    cli_progress_end(&bar);
    if (problems) {
        fprintf(stderr, "socialauth: %s: %zu problem%s found\n", what, problems,
                problems == 1 ? "" : "s");
        return CLI_EXIT_PROBLEMS;
    }
    fprintf(stderr, "socialauth: %s: %" PRIu64 " users and %" PRIu64 " sessions, no problem\n",
            what, stats.users, stats.sessions);
    return CLI_EXIT_OK;
}

static int act_verify(sa_config *cfg, sa_store *store, void *ctx)
{
    return verify_store(store, ctx);
}

/* Remove dir and the files in it (a restore's temporary directory: no subdirectories). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX];
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            (size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path)
            unlink(path);
    if (d)
        closedir(d);
    rmdir(dir);
}

/* 0 when dir does not exist or is an empty directory, else prints why and returns the exit. */
static int restore_target_free(const char *dir)
{
    int errno_seen = 0;
    dir_state state = dir_state_of(dir, &errno_seen);
    if (state == DIR_ABSENT || state == DIR_EMPTY)
        return CLI_EXIT_OK;
    if (state == DIR_UNREADABLE) {
        char why[512];
        fprintf(stderr, "socialauth: restore: cannot use db_home %s: %s %s\n", dir,
                strerror(errno_seen), sa_owner_describe(dir, why, sizeof why));
        return errno_seen == EACCES ? CLI_EXIT_STORE : CLI_EXIT_FAILED;
    }
    fprintf(stderr, "socialauth: restore: %s is not empty: restore only into a new or empty "
                    "directory (move the old store away first)\n", dir);
    return CLI_EXIT_FAILED;
}

/* Copy the backup into tmp and verify it there, as the owner of db_home: as root, tmp is
 * given to that owner and the work runs in a child that became it, so every store file is
 * the owner's while this process stays root for the rename beside db_home (whose parent,
 * /var/lib/socialauth after `make install`, only root may write). Returns the exit status. */
static int fill_as_store_owner(const char *backup, const char *tmp, const char *db_home)
{
    struct stat st;
    if (geteuid() == 0 && stat(db_home, &st) == 0 && st.st_uid != 0 &&
        chown(tmp, st.st_uid, st.st_gid) != 0) {
        fprintf(stderr, "socialauth: restore: cannot give %s to the owner of %s: %s\n", tmp,
                db_home, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "socialauth: restore: fork: %s\n", strerror(errno));
        return CLI_EXIT_FAILED;
    }
    if (pid > 0) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        return WIFEXITED(status) ? WEXITSTATUS(status) : CLI_EXIT_FAILED;
    }
    sa_error err = {0};
    sa_store *store = NULL;
    int rc;
    if (sa_owner_become_store_owner(db_home, &err) != SA_OK) {
        rc = cli_fail("restore", &err);
    } else if (sa_store_restore(backup, tmp, &err) != SA_OK) {
        rc = cli_fail("restore", &err);
    } else if (sa_store_open(&store, tmp, SA_STORE_CREATE, &err) != SA_OK) {
        fprintf(stderr, "socialauth: restore: the backup %s is damaged: %s\n", backup, err.msg);
        rc = CLI_EXIT_PROBLEMS;
    } else {
        rc = verify_store(store, "restore");
        sa_store_close(store);
    }
    fflush(NULL);
    _exit(rc);
}

/* Copy the backup into a temporary directory beside db_home, verify it there, and only then
 * rename it to db_home: on any failure db_home is left as it was. */
static int restore_verified(const char *backup, const char *db_home)
{
    char tmp[PATH_MAX];
    size_t n = strlen(db_home);
    while (n > 1 && db_home[n - 1] == '/')
        n--;
    if ((size_t)snprintf(tmp, sizeof tmp, "%.*s.restore-XXXXXX", (int)n, db_home) >= sizeof tmp) {
        fprintf(stderr, "socialauth: restore: db_home %s: path too long\n", db_home);
        return CLI_EXIT_FAILED;
    }
    int rc = restore_target_free(db_home);
    if (rc != CLI_EXIT_OK)
        return rc;
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s/users.db", backup);
    if (access(probe, R_OK) != 0) {   /* before anything is created */
        fprintf(stderr, "socialauth: restore: %s is not a readable socialauth backup (no "
                        "users.db: %s)\n", backup, strerror(errno));
        return CLI_EXIT_NOT_FOUND;
    }
    if (!mkdtemp(tmp)) {
        char why[512];
        int e = errno;
        fprintf(stderr, "socialauth: restore: cannot create a directory beside db_home (%s): "
                        "%s %s\n", tmp, strerror(e), sa_owner_describe(tmp, why, sizeof why));
        return e == EACCES ? CLI_EXIT_STORE : CLI_EXIT_FAILED;
    }
    rc = fill_as_store_owner(backup, tmp, db_home);
    if (rc == CLI_EXIT_OK && rename(tmp, db_home) != 0) {
        fprintf(stderr, "socialauth: restore: cannot move the verified copy %s to %s: %s\n", tmp,
                db_home, strerror(errno));
        rc = CLI_EXIT_FAILED;
    }
    if (rc != CLI_EXIT_OK) {
        remove_tree(tmp);
        fprintf(stderr, "socialauth: restore: nothing restored; %s is as it was\n", db_home);
        return rc;
    }
    fprintf(stderr, "socialauth: restore: restored %s into %s\n", backup, db_home);
    return CLI_EXIT_OK;
}

int cli_restore(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth restore DIR\n"
        "Copies the backup in DIR (made by `socialauth backup`) into a new directory beside\n"
        "`db_home`, verifies it there as `socialauth verify` does, and only then moves it to\n"
        "`db_home`, which must not exist or be empty (move the old store away first, with\n"
        "the servers stopped). A damaged backup (exit 6) leaves `db_home` as it was.\n";
    int rc = cli_start(&argc, argv, usage, NULL, 1, "the backup's directory");
    if (rc != CLI_GO_ON)
        return rc;
    /* As root with service_user set, the restored store is that user's, as after `init`:
     * an absent db_home is made for it first, and the copy below runs as its owner. */
    sa_config cfg;
    sa_error err = {0};
    if ((rc = cli_parse_config(&cfg)) != CLI_EXIT_OK)
        return rc;
    sa_status prepared = sa_owner_prepare(cfg.db_home, "", cfg.service_user, &err);
    sa_config_free(&cfg);
    if (prepared != SA_OK)
        return cli_fail("restore", &err);
    /* Parsed only, staying root: restore_verified does the store work as its owner. */
    rc = cli_parse_config(&cfg);
    if (rc != CLI_EXIT_OK)
        return rc;
    rc = restore_verified(argv[1], cfg.db_home);
    sa_config_free(&cfg);
    return rc;
}

int cli_verify(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth verify\n"
        "Checks the whole store: every record decodes; every user and session is in its\n"
        "indexes and every index entry points back at its record (so no two users share a\n"
        "username, e-mail or Google sub); every session's user exists. Prints one line per\n"
        "problem and exits 6 when there is any. Runs beside the serving endpoints; it\n"
        "reads without a snapshot, so a user deleted during the walk can show as a problem:\n"
        "run it again to confirm one.\n";
    int rc = cli_start(&argc, argv, usage, NULL, 0, NULL);
    return rc != CLI_GO_ON ? rc : cli_with_store(SA_STORE_SERVE, act_verify, "verify");
}

/* ---- stats / checkpoint / purge ---- */

static int act_stats(sa_config *cfg, sa_store *store, void *ctx)
{
    const cli_output *out = ctx;
    sa_store_stats s;
    sa_error err = {0};
    if (sa_store_stats_get(store, &s, &err) != SA_OK)
        return cli_fail("stats", &err);
    uint64_t per_user = s.users ? s.user_bytes / s.users : 0;
    uint64_t per_session = s.sessions ? s.session_bytes / s.sessions : 0;
    if (out->json) {
        printf("{\"users\":%" PRIu64 ",\"google_links\":%" PRIu64 ",\"sessions\":%" PRIu64
               ",\"user_bytes\":%" PRIu64 ",\"session_bytes\":%" PRIu64
               ",\"bytes_per_user\":%" PRIu64 ",\"bytes_per_session\":%" PRIu64 "}\n",
               s.users, s.google_links, s.sessions, s.user_bytes, s.session_bytes, per_user,
               per_session);
        return CLI_EXIT_OK;
    }
    char v[7][32];
    const uint64_t n[7] = {s.users, s.google_links, s.sessions, s.user_bytes, s.session_bytes,
                           per_user, per_session};
    const char *names[7] = {"users", "google links", "sessions", "user files (bytes)",
                            "session files (bytes)", "bytes per user", "bytes per session"};
    cli_table t;
    cli_table_begin(&t, 2, (const char *const[]){"WHAT", "COUNT"});
    for (size_t i = 0; i < 7; i++) {
        snprintf(v[i], sizeof v[i], "%" PRIu64, n[i]);
        cli_table_row(&t, (const char *const[]){names[i], v[i]});
    }
    cli_table_print(&t);
    return CLI_EXIT_OK;
}

int cli_stats(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth stats [--json|--table]\n"
        "Counts users, Google links and sessions, and the disk the store's files take.\n";
    cli_output out;
    int rc = cli_start(&argc, argv, usage, &out, 0, NULL);
    return rc != CLI_GO_ON ? rc : cli_with_store(SA_STORE_SERVE, act_stats, &out);
}

static int act_checkpoint(sa_config *cfg, sa_store *store, void *ctx)
{
    sa_error err = {0};
    if (sa_store_checkpoint(store, &err) != SA_OK)
        return cli_fail("checkpoint", &err);
    return CLI_EXIT_OK;
}

int cli_checkpoint(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth checkpoint\n"
        "Writes the store's cached pages to its files and removes log files recovery no\n"
        "longer needs (the endpoints also do this in the background).\n";
    int rc = cli_start(&argc, argv, usage, NULL, 0, NULL);
    return rc != CLI_GO_ON ? rc : cli_with_store(SA_STORE_SERVE, act_checkpoint, NULL);
}

static int act_purge(sa_config *cfg, sa_store *store, void *ctx)
{
    sa_error err = {0};
    size_t purged, total = 0;
    int64_t now = (int64_t)time(NULL);
    do {
        if (sa_store_session_purge(store, now, cfg->leeway, 1000, &purged, &err) != SA_OK)
            return cli_fail("purge", &err);
        total += purged;
    } while (purged == 1000);
    do {   /* jtis of tokens without sid: not counted, as before they existed */
        if (sa_store_jti_purge(store, now, cfg->leeway, 1000, &purged, &err) != SA_OK)
            return cli_fail("purge", &err);
    } while (purged == 1000);
    printf("%zu\n", total);
    return CLI_EXIT_OK;
}

int cli_purge(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth purge\n"
        "Deletes every expired session and remembered jti (past exp + leeway, 1000 per\n"
        "transaction) and prints how many sessions it deleted.\n";
    int rc = cli_start(&argc, argv, usage, NULL, 0, NULL);
    return rc != CLI_GO_ON ? rc : cli_with_store(SA_STORE_SERVE, act_purge, NULL);
}

/* ---- export ---- */

typedef struct export_ctx {
    cli_progress bar;
    uint64_t done;
} export_ctx;

static int export_one(const sa_user *u, void *ctx)
{
    export_ctx *c = ctx;
    cli_print_user_json(u);
    cli_progress_update(&c->bar, ++c->done);
    return 0;
}

static int act_export(sa_config *cfg, sa_store *store, void *ctx)
{
    export_ctx c = {0};
    sa_store_stats s;
    sa_error err = {0};
    if (sa_store_stats_get(store, &s, &err) != SA_OK)
        return cli_fail("export", &err);
    cli_progress_begin(&c.bar, "export", s.users);
    sa_status st = sa_store_user_each(store, export_one, &c, &err);
    cli_progress_end(&c.bar);
    if (st != SA_OK)
        return cli_fail("export", &err);
    fprintf(stderr, "socialauth: exported %" PRIu64 " users\n", c.done);
    return CLI_EXIT_OK;
}

int cli_export(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth export > users.jsonl\n"
        "Writes every user, with its Google link (google_sub) and the claims kept from its\n"
        "last sign-in, as one JSON object per line, in id order.\n";
    int rc = cli_start(&argc, argv, usage, NULL, 0, NULL);
    return rc != CLI_GO_ON ? rc : cli_with_store(SA_STORE_SERVE, act_export, NULL);
}
