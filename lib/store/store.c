/* store.c: the Berkeley DB environment behind store.h: opening and closing it (the one
 * place that opens every database and associates every index), the transaction runner with
 * its deadlock retry, the watchdog, and ping. The mapping of Berkeley DB errors to statuses
 * and what the tables share (record get and put, cursors, purge) live in store_db.c,
 * checkpoints and hot backup in store_maint.c, the index callbacks in store_index.c. Users,
 * sessions and keys live in store_user.c, store_session.c, store_keys.c; the record layout
 * in store_record.c.
 *
 * Environment: DB_CREATE|DB_INIT_TXN|DB_INIT_LOCK|DB_INIT_LOG|DB_INIT_MPOOL, one DB_ENV per
 * process, lock detection DB_LOCK_DEFAULT with a 2 s lock timeout, a 2 MiB shared cache
 * (Berkeley DB adds 25% to small caches), 1 MiB log files removed by sa_store_checkpoint().
 *
 * Killed processes: failchk, not DB_REGISTER (measured). With
 * DB_REGISTER|DB_RECOVER every death made the next opener recover, and every other process
 * then got DB_RUNRECOVERY, answered 503 and exited. Now DB_ENV->failchk (thread tracking,
 * an is_alive that asks the kernel) runs when a process opens the environment (a replacement
 * does at once: http.c), once a second in upkeep and when a lock wait times out: the dead
 * process's transaction is aborted, its locks freed, nobody else notices. Only a death inside
 * the library makes failchk refuse; then the environment is recovered (the old storm, rare).
 * store_env_join() says when recovery happens and why lock files replace DB_REGISTER (whose
 * failchk path hung every later opener for good once in 6 runs); store_watchdog() why a
 * watchdog thread (both schemes held requests 15 s and more without it).
 *
 * Measured: 6 client threads on token-refresh, google-login and user-me, 2 processes each,
 * kill -9 of a random one every 0.7 s, 12 runs, 240 kills per scheme (the load of
 * tests/integration/test_faults.py, longer):
 *                 recoveries  exits  our 503  lighttpd 500  lighttpd 503  outage p90 / max
 *   DB_REGISTER     >= 168     504     1057       227          14061       0.10 s / 1.9 s
 *   failchk              8      25       10        74            722      0.003 s / 1.0 s
 * (exits: processes ending by themselves; lighttpd answers 500 for a request a dying process
 * held, 503 while no process of an endpoint is up.) Neither lost one of the 9 600 users and
 * sessions committed meanwhile. */
#include "store/store.h"
#include "store/store_internal.h"
#include "store/store_remote.h"
#include "store/store_record.h"
#include "core/owner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define STORE_CACHE_BYTES (2u * 1024 * 1024)
#define STORE_LOG_FILE_BYTES (1u * 1024 * 1024)
#define STORE_LOCK_TIMEOUT_US 2000000u   /* a lock wait longer than this is a deadlock */
#define STORE_THREAD_COUNT 512u          /* thread slots failchk tracks: processes, roughly */
#define STORE_USERS_LOCK "env.lock"      /* held shared by every process with the env open */
#define STORE_OPEN_LOCK "open.lock"      /* held by the process opening (and recovering) */
#define STORE_RECOVERY_MARK "needs-recovery"
#define STORE_BOOT_ID "/proc/sys/kernel/random/boot_id"
#define STORE_REGION "__db.001"          /* the primary region: recovery recreates it */
#define STORE_WATCH_EVERY_MS 250
#define STORE_WATCH_AFTER_MS 1000        /* a transaction this old may wait in old regions */
#define STORE_STUCK_MS 2000              /* joining or failchk this long: a dead mutex */


/* ---- Berkeley DB events ---- */

static void store_event(DB_ENV *env, u_int32_t event, void *info)
{
    sa_store *store = env->app_private;
    (void)info;
    if (store && (event == DB_EVENT_PANIC || event == DB_EVENT_REG_PANIC))
        store->fatal = true;
}


/* ---- transactions ---- */

_Thread_local sa_store_commit sa_store_commit_note;

static void store_backoff(sa_store *store, int attempt)
{
    /* xorshift64: only spreads the retries of competing processes apart. */
    uint64_t x = store->jitter;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    store->jitter = x;
    long base_us = 200L << (attempt < 8 ? attempt : 8);  /* 0.2 ms .. 51 ms */
    long us = base_us / 2 + (long)(x % (uint64_t)base_us);
    struct timespec ts = {us / 1000000L, (us % 1000000L) * 1000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static sa_status store_txn_attempts(sa_store *store, sa_store_txn_fn fn, void *ctx,
                                    uint32_t commit_flags, bool txn, sa_error *err);

/* What the watchdog (store_watchdog) watches: since when this process is inside the
 * library, and doing what. */
static void store_busy(sa_store *store, int kind)
{
    atomic_store(&store->busy_kind, kind);
    atomic_store(&store->busy_since_ms, kind == STORE_BUSY_NONE ? 0 : monotonic_ms());
}

sa_status sa_store_txn_run(sa_store *store, sa_store_txn_fn fn, void *ctx,
                           uint32_t commit_flags, sa_error *err)
{
    store_busy(store, STORE_BUSY_TXN);
    sa_status st = store_txn_attempts(store, fn, ctx, commit_flags, true, err);
    store_busy(store, STORE_BUSY_NONE);
    return st;
}

sa_status sa_store_read_run(sa_store *store, sa_store_txn_fn fn, void *ctx, sa_error *err)
{
    store_busy(store, STORE_BUSY_TXN);
    sa_status st = store_txn_attempts(store, fn, ctx, 0, false, err);
    store_busy(store, STORE_BUSY_NONE);
    return st;
}

/* txn false: fn runs without a transaction (sa_store_read_run). */
static sa_status store_txn_attempts(sa_store *store, sa_store_txn_fn fn, void *ctx,
                                    uint32_t commit_flags, bool txn, sa_error *err)
{
    sa_status st = SA_ERR_UNAVAILABLE;

    for (int attempt = 0; attempt < SA_STORE_TRIES; attempt++) {
        sa_store_txn t = {store, NULL, commit_flags, false, false};
        int rc;

        if (store->fatal)
            return sa_store_fatal_status(err);
        if (!txn) {
            st = fn(&t, ctx, err);
            if (st == SA_OK)
                return SA_OK;
        } else if ((rc = store->env->txn_begin(store->env, NULL, &t.txn, 0)) != 0) {
            st = sa_store_db_fail(store, &t, rc, err, "begin transaction");
        } else {
            st = fn(&t, ctx, err);
            if (st == SA_OK) {
                /* On a replica this is EINVAL (no token there): only a master's counts. */
                if (store->rep)
                    sa_store_commit_note.token_set =
                        t.txn->set_commit_token(t.txn, &sa_store_commit_note.token) == 0;
                rc = t.txn->commit(t.txn, t.commit_flags);
                if (rc == 0)
                    return SA_OK;
                st = sa_store_db_fail(store, &t, rc, err, "commit");
            } else {
                rc = t.txn->abort(t.txn);
                if (rc != 0 && st != SA_ERR_FATAL)
                    st = sa_store_db_fail(store, NULL, rc, err, "abort");
            }
        }
        /* A lock wait that timed out may have waited for a process that died holding the
         * lock: failchk releases what the dead hold before the retry. */
        if (t.lock_timeout && !store->fatal) {
            (void)sa_store_failchk(store, err);
            store_busy(store, STORE_BUSY_TXN);
        }
        if (store->fatal)
            return st == SA_ERR_FATAL ? st : sa_store_fatal_status(err);
        if (!t.retry)
            return st;
        if (attempt + 1 < SA_STORE_TRIES)
            store_backoff(store, attempt);
    }
    return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: busy: gave up after %d deadlocks",
                   SA_STORE_TRIES);
}

/* ---- joining the environment ---- */

/* is_alive for failchk: whether process pid still runs. One thread per process, so tid is
 * not needed. A killed process stays a zombie until its parent reaps it: that counts as dead
 * (read from /proc, remembered for a tenth of a second: one failchk asks about every locker,
 * hundreds of times for a dozen processes, and reading /proc each time cost 1.7 ms per
 * failchk). Anything uncertain counts as alive: failchk must never clean up after a live
 * process. */
static int store_is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
    static struct { pid_t pid; int alive; long long at_ms; } seen[64];
    static unsigned next;
    char path[64], stat_line[256];
    (void)env;
    (void)tid;
    (void)flags;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return 0;
    long long now = monotonic_ms();
    for (unsigned i = 0; i < sizeof seen / sizeof seen[0]; i++)
        if (seen[i].pid == pid && now - seen[i].at_ms < 100)
            return seen[i].alive;
    int alive = 1;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        alive = errno != ENOENT;
    } else {
        ssize_t n = read(fd, stat_line, sizeof stat_line - 1);
        close(fd);
        if (n > 0) {
            stat_line[n] = '\0';
            const char *p = strrchr(stat_line, ')');   /* "pid (comm) S ..." */
            alive = !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
        }
    }
    unsigned i = next++ % (sizeof seen / sizeof seen[0]);
    seen[i].pid = pid;
    seen[i].alive = alive;
    seen[i].at_ms = now;
    return alive;
}

/* Contract: see store_internal.h. */
int sa_store_env_setup(DB_ENV *env)
{
    env->set_msgcall(env, sa_store_msgcall);
    int rc = env->set_cachesize(env, 0, STORE_CACHE_BYTES, 1);
    if (rc == 0)
        rc = env->set_lg_max(env, STORE_LOG_FILE_BYTES);
    /* Log files are zero-filled when created, so a synced commit's fdatasync writes data
     * only: the file's size (metadata) does not change on every commit. */
    if (rc == 0)
        rc = env->log_set_config(env, DB_LOG_ZERO, 1);
    if (rc == 0)
        rc = env->set_lk_detect(env, DB_LOCK_DEFAULT);
    if (rc == 0)
        rc = env->set_timeout(env, STORE_LOCK_TIMEOUT_US, DB_SET_LOCK_TIMEOUT);
    if (rc == 0) /* a timed-out lock wait says so (not DB_LOCK_DEADLOCK): then failchk */
        rc = env->set_flags(env, DB_TIME_NOTGRANTED, 1);
    /* The region files (__db.*) are memory-mapped: a page of one that the file system cannot
     * back when first touched is a SIGBUS, not an error (seen with a full tmpfs, by the disk
     * full test). DB_REGION_INIT writes them whole when the environment is created, so a
     * full disk shows up as an error at creation, never as a crash later. */
    if (rc == 0)
        rc = env->set_flags(env, DB_REGION_INIT, 1);
    if (rc == 0)
        rc = env->set_thread_count(env, STORE_THREAD_COUNT);
    if (rc == 0)
        rc = env->set_isalive(env, store_is_alive);
    return rc;
}

/* Contract: see store_internal.h. */
sa_status sa_store_failchk(sa_store *store, sa_error *err)
{
    if (store->fatal)
        return sa_store_fatal_status(err);
    store_busy(store, STORE_BUSY_CLEANUP);
    int rc = store->env->failchk(store->env, 0);
    store_busy(store, STORE_BUSY_NONE);
    if (rc == 0)
        return SA_OK;
    if (rc == DB_RUNRECOVERY) {
        /* A process died inside the library: the environment cannot be trusted by anyone.
         * Every process learns it at its next call; the next opener recovers. */
        store->env->set_flags(store->env, DB_PANIC_ENVIRONMENT, 1);
        store->fatal = true;
    }
    return sa_store_db_fail(store, NULL, rc, err, "failchk");
}

/* This boot's identity (empty when the system does not say). */
static void store_boot_id(char *out, size_t size)
{
    out[0] = '\0';
    int fd = open(STORE_BOOT_ID, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, size - 1);
    close(fd);
    out[n > 0 ? n : 0] = '\0';
}

/* Contract: see store_internal.h. */
/* flock(fd, op), again after EINTR; 0 or -1 with errno. */
static int store_flock(int fd, int op)
{
    int rc;
    while ((rc = flock(fd, op)) != 0 && errno == EINTR)
        ;
    return rc;
}

/* open.lock held with op (LOCK_EX or LOCK_SH), waiting: its descriptor or -1 with errno. */
static int store_gate(const char *home, int op)
{
    char path[PATH_MAX + sizeof STORE_OPEN_LOCK + 1];
    snprintf(path, sizeof path, "%s/%s", home, STORE_OPEN_LOCK);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (store_flock(fd, op) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Contract: see store_internal.h. */
int sa_store_open_gate(const char *home)
{
    return store_gate(home, LOCK_EX);
}

/* A new DB_ENV handle for store, configured (not opened). */
static int store_env_new(sa_store *store)
{
    int rc = db_env_create(&store->env, 0);
    if (rc != 0) {
        store->env = NULL;
        return rc;
    }
    store->env->app_private = store;
    store->env->set_errcall(store->env, sa_store_errcall);
    rc = store->env->set_event_notify(store->env, store_event);
    if (rc == 0)
        rc = sa_store_env_setup(store->env);
    return rc;
}

/* Open store->env at home, recovering exactly when needed and never while another opener
 * is at work (db_home/open.lock, held through this function, serialises them):
 * - db_home/needs-recovery exists: a process got stuck cleaning up after a dead one
 *   (the watchdog left the mark): recover;
 * - nobody else has the environment open (db_home/env.lock: every process holds it shared
 *   while its handle is open, the kernel drops it when the process dies) and the machine
 *   booted since the last such open (env.lock holds that boot's id): recover, the regions
 *   may be anything after a crash;
 * - otherwise join and run failchk, which cleans up after processes that died outside the
 *   library (their transactions aborted, their locks freed); when one died inside it
 *   (DB_RUNRECOVERY), raise the panic for every process and recover.
 * The watchdog ends this process, leaving the mark, when joining or failchk hangs (a dead
 * process holds a mutex they need). Returns a Berkeley DB error code or an errno; *what
 * names the step. */
static int store_env_join(sa_store *store, const char *home, const char **what)
{
    char path[sizeof store->home + 32], boot[64], seen[64];
    int rc = 0;

    *what = STORE_OPEN_LOCK;
    int gate = sa_store_open_gate(home);
    if (gate < 0)
        return errno;
    *what = STORE_USERS_LOCK;
    snprintf(path, sizeof path, "%s/%s", home, STORE_USERS_LOCK);
    store->users_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (store->users_fd < 0) {
        rc = errno;
        goto out;
    }
    bool alone = flock(store->users_fd, LOCK_EX | LOCK_NB) == 0;
    store_boot_id(boot, sizeof boot);
    ssize_t n = pread(store->users_fd, seen, sizeof seen - 1, 0);
    seen[n > 0 ? n : 0] = '\0';
    snprintf(path, sizeof path, "%s/%s", home, STORE_RECOVERY_MARK);
    bool recover = access(path, F_OK) == 0 || (alone && strcmp(seen, boot) != 0);

    *what = "open environment";
    if (!recover) {
        store_busy(store, STORE_BUSY_CLEANUP);
        rc = store->env->open(store->env, home, SA_STORE_ENV_FLAGS, 0600);
        if (rc == 0) {
            *what = "failchk";
            rc = store->env->failchk(store->env, 0);
        }
        if (rc == DB_RUNRECOVERY) {
            /* Panic every process still using the old regions, then let go of them. */
            store->env->set_flags(store->env, DB_PANIC_ENVIRONMENT, 1);
            store->env->set_flags(store->env, DB_NOPANIC, 1);
            store->env->close(store->env, 0);
            store->env = NULL;
            recover = true;
            rc = store_env_new(store);
        }
        store_busy(store, STORE_BUSY_NONE);
        if (rc != 0)
            goto out;
    }
    if (recover) {
        /* The mark stays if this process dies or fails while recovering: the next one
         * recovers again rather than join half-rebuilt regions. */
        int mark = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (mark < 0) {
            rc = errno;
            goto out;
        }
        close(mark);
        *what = "recover environment";
        rc = store->env->open(store->env, home, SA_STORE_ENV_FLAGS | DB_RECOVER, 0600);
        if (rc != 0)
            goto out;
        size_t len = strlen(boot);
        if (unlink(path) != 0 && errno != ENOENT)
            rc = errno;
        else if (ftruncate(store->users_fd, 0) != 0 ||
                 pwrite(store->users_fd, boot, len, 0) != (ssize_t)len)
            rc = errno;
    }
out:
    /* Held exclusively (alone) it becomes shared; under open.lock nobody can slip in. */
    if (store->users_fd >= 0)
        while (flock(store->users_fd, LOCK_SH) != 0 && errno == EINTR)
            ;
    close(gate);
    return rc;
}

/* ---- the watchdog ---- */

/* Whether db_home's primary region is another file than the one this handle attached to. */
static bool store_region_replaced(const sa_store *store)
{
    char path[sizeof store->home + sizeof STORE_REGION + 1];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", store->home, STORE_REGION);
    if (stat(path, &st) != 0)
        return errno == ENOENT;
    return st.st_ino != store->region_ino || st.st_dev != store->region_dev;
}

static void (*store_exit_hook)(void);

void sa_store_set_exit_hook(void (*hook)(void))
{
    store_exit_hook = hook;
}

static void store_watch_exit(const sa_store *store, bool mark, const char *msg, size_t len)
{
    if (mark) {
        char path[sizeof store->home + sizeof STORE_RECOVERY_MARK + 1];
        snprintf(path, sizeof path, "%s/%s", store->home, STORE_RECOVERY_MARK);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
    (void)!write(STDERR_FILENO, msg, len);
    if (store_exit_hook)
        store_exit_hook();
    _exit(1);
}

/* Two ways a process can wait inside Berkeley DB forever, which this thread ends as a fatal
 * store error would (the web server starts a fresh process):
 * - another process recovered the environment while this one waited for a lock or mutex:
 *   they live in the old regions, which nobody touches any more (recovery only raises the
 *   panic flag, read by a waiter after it wakes). Seen as a transaction older than a second
 *   while the region file was replaced. Measured without this: requests held 15 s and more.
 * - joining, or failchk, waits for a mutex a dead process held (it died inside the
 *   library): nothing frees it; the next opener must recover, and the mark says so. */
static void *store_watchdog(void *arg)
{
    static const char orphan[] = "socialauth: store: the environment was recovered while this "
                                 "process waited inside Berkeley DB: exiting\n";
    static const char stuck[] = "socialauth: store: stuck on what a dead process held: "
                                "exiting, the next process recovers the environment\n";
    sa_store *store = arg;

    pthread_mutex_lock(&store->watch_mutex);
    while (!store->watch_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += STORE_WATCH_EVERY_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&store->watch_cond, &store->watch_mutex, &until);
        long long since = atomic_load(&store->busy_since_ms);
        int kind = atomic_load(&store->busy_kind);
        long long busy = since ? monotonic_ms() - since : 0;
        if (store->watch_stop || busy == 0)
            continue;
        if (kind == STORE_BUSY_CLEANUP && busy > STORE_STUCK_MS)
            store_watch_exit(store, true, stuck, sizeof stuck - 1);
        if (busy > STORE_WATCH_AFTER_MS && atomic_load(&store->region_known) &&
            store_region_replaced(store))
            store_watch_exit(store, false, orphan, sizeof orphan - 1);
    }
    pthread_mutex_unlock(&store->watch_mutex);
    return NULL;
}

/* Start the watchdog (without one when the system refuses a thread: the process then only
 * lacks that protection). */
static void store_watch_start(sa_store *store)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return;
    bool ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&store->watch_cond, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!ok)
        return;
    if (pthread_mutex_init(&store->watch_mutex, NULL) != 0) {
        pthread_cond_destroy(&store->watch_cond);
        return;
    }
    store->watching = pthread_create(&store->watchdog, NULL, store_watchdog, store) == 0;
    if (!store->watching) {
        pthread_cond_destroy(&store->watch_cond);
        pthread_mutex_destroy(&store->watch_mutex);
    }
}

/* Remember the primary region file this handle attached to. */
static void store_watch_region(sa_store *store)
{
    char path[sizeof store->home + sizeof STORE_REGION + 1];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", store->home, STORE_REGION);
    if (stat(path, &st) != 0)
        return;
    store->region_dev = st.st_dev;
    store->region_ino = st.st_ino;
    atomic_store(&store->region_known, true);
}

static void store_watch_stop(sa_store *store)
{
    if (!store->watching)
        return;
    pthread_mutex_lock(&store->watch_mutex);
    store->watch_stop = true;
    pthread_cond_signal(&store->watch_cond);
    pthread_mutex_unlock(&store->watch_mutex);
    pthread_join(store->watchdog, NULL);
    pthread_cond_destroy(&store->watch_cond);
    pthread_mutex_destroy(&store->watch_mutex);
    store->watching = false;
}

/* ---- open / close ---- */

/* Open (with create, create if absent) one database; without txn the open is its own
 * transaction. Returns a Berkeley DB error code (ENOENT: absent, and create was false). */
static int store_open_db(sa_store *store, DB_TXN *txn, DB **out, const char *file,
                         u_int32_t db_flags, bool create)
{
    DB *db = NULL;
    int rc = db_create(&db, store->env, 0);
    if (rc != 0)
        return rc;
    if (db_flags)
        rc = db->set_flags(db, db_flags);
    if (rc == 0)
        rc = db->open(db, txn, file, NULL, DB_BTREE,
                      (create ? DB_CREATE : 0) | (txn ? 0 : DB_AUTO_COMMIT), 0600);
    if (rc != 0) {
        db->close(db, 0);
        return rc;
    }
    *out = db;
    return 0;
}

typedef struct db_spec {
    size_t offset;          /* of the DB * in sa_store */
    const char *file;
    u_int32_t flags;
    bool added;             /* came after the first release: created in place when absent */
} db_spec;

static const db_spec store_dbs[] = {
    {offsetof(sa_store, users), "users.db", 0, false},
    /* Case-folded usernames, duplicates allowed: stores made before case-insensitive
     * uniqueness may hold case variants (store_user.c). Replaces users_by_username.db; built
     * from users.db when absent (store_open_all), so not `added` (created empty). */
    {offsetof(sa_store, users_by_username), STORE_USERNAME_INDEX, DB_DUP | DB_DUPSORT, false},
    {offsetof(sa_store, users_by_email), "users_by_email.db", 0, false},
    {offsetof(sa_store, users_by_sub), "users_by_sub.db", 0, false},
    {offsetof(sa_store, sessions), "sessions.db", 0, false},
    {offsetof(sa_store, sessions_by_user), "sessions_by_user.db", DB_DUP | DB_DUPSORT, false},
    /* Replaces sessions_by_expiry.db (exact times); built from sessions.db when absent. */
    {offsetof(sa_store, sessions_by_expiry), STORE_SESSION_EXPIRY_INDEX, 0, false},
    {offsetof(sa_store, meta), "meta.db", 0, false},
    {offsetof(sa_store, jtis), "jtis.db", 0, true},
    {offsetof(sa_store, jtis_by_expiry), "jtis_by_expiry.db", DB_DUP | DB_DUPSORT, true},
    {offsetof(sa_store, not_before), "not_before.db", 0, true},
};
#define STORE_NDBS (sizeof store_dbs / sizeof store_dbs[0])

static DB **store_db_slot(sa_store *store, size_t i)
{
    return (DB **)(void *)((char *)store + store_dbs[i].offset);
}

static bool store_has_file(const sa_store *store, const char *file)
{
    char path[sizeof store->home + 64];
    snprintf(path, sizeof path, "%s/%s", store->home, file);
    return access(path, F_OK) == 0;
}

/* A store made before database i existed (an upgrade): create it in place, empty, in its
 * own transaction, under open.lock so that processes starting together do not race to
 * create one file (the loser then simply opens it). Its index, created alongside, is empty
 * too, so nothing needs rebuilding. gate_held: the caller holds open.lock already (flock
 * locks are per open file: taking it again here would wait for ever). Returns a Berkeley DB
 * error code or an errno. */
static int store_create_added(sa_store *store, size_t i, bool gate_held)
{
    int gate = gate_held ? -1 : sa_store_open_gate(store->home);
    if (!gate_held && gate < 0)
        return errno;
    int rc = store_open_db(store, NULL, store_db_slot(store, i), store_dbs[i].file,
                           store_dbs[i].flags, true);
    if (gate >= 0)
        close(gate);
    return rc;
}

/* An index that replaced an older one in an upgrade: absent from a store made before it,
 * it is built from its primary's records when the store is opened. */
typedef struct rebuilt_index {
    const char *file;      /* the index */
    const char *primary;   /* the file it is built from */
} rebuilt_index;

static const rebuilt_index store_rebuilt[] = {
    {STORE_USERNAME_INDEX, "users.db"},
    {STORE_SESSION_EXPIRY_INDEX, "sessions.db"},
};
#define STORE_NREBUILT (sizeof store_rebuilt / sizeof store_rebuilt[0])

static bool store_needs_build(const sa_store *store, size_t r)
{
    return !store_has_file(store, store_rebuilt[r].file) &&
           store_has_file(store, store_rebuilt[r].primary);
}

/* Open every database and associate every index, inside txn when creating. On failure
 * *what names the step.
 * Upgrade in place: a store made before an index in store_rebuilt[] (the case-folded
 * usernames, the sessions by rounded expiry) has no such file; the first process to open it
 * creates the index and fills it from its primary (DB->associate with DB_CREATE fills an
 * empty secondary), each in one auto-committed transaction under db_home/open.lock so that
 * exactly one process builds it. The index it replaced (users_by_username.db,
 * sessions_by_expiry.db) is no longer opened; sa_store_username_variants() reports the
 * case variants an older store may hold. */
int sa_store_open_all(sa_store *store, DB_TXN *txn, bool create, const char **what)
{
    u_int32_t assoc = create ? DB_CREATE : 0;
    bool build[STORE_NREBUILT] = {false}, any = false;
    int gate = -1, rc = 0;

    /* Why every opener takes open.lock: a builder creates an index's file before it fills it, so a
     * process that saw the file and used it meanwhile would insert into the empty index,
     * and the builder's DB_CREATE then skips the fill (the index is not empty): the older
     * records would stay unindexed for ever (never purged; deleting or moving one fails
     * with DB_SECONDARY_BAD). Every opener therefore looks at the files under open.lock:
     * shared when nothing is missing, exclusive (and looking again) when something is. */
    if (!create) {
        *what = STORE_OPEN_LOCK;
        gate = store_gate(store->home, LOCK_SH);
        if (gate < 0)
            return errno;
        for (size_t r = 0; r < STORE_NREBUILT; r++)
            any |= store_needs_build(store, r);
        for (size_t i = 0; i < STORE_NDBS; i++)   /* store_create_added needs it exclusive */
            any |= store_dbs[i].added && !store_has_file(store, store_dbs[i].file);
    }
    if (any) {
        if (store_flock(gate, LOCK_EX) != 0) {
            int e = errno;
            close(gate);
            return e;
        }
        for (size_t r = 0; r < STORE_NREBUILT; r++)   /* again: another process may have */
            build[r] = store_needs_build(store, r);   /* built it while we waited */
    }
    bool build_username = build[0], build_expiry = build[1];
    for (size_t i = 0; i < STORE_NDBS && rc == 0; i++) {
        DB **slot = store_db_slot(store, i);
        *what = store_dbs[i].file;
        rc = store_open_db(store, txn, slot, store_dbs[i].file, store_dbs[i].flags,
                           create || (build_username && slot == &store->users_by_username) ||
                               (build_expiry && slot == &store->sessions_by_expiry));
        /* (Held shared, nothing was missing: taking it again would wait for ourselves.) */
        if (rc == ENOENT && store_dbs[i].added && (gate < 0 || any))
            rc = store_create_added(store, i, any);   /* any: held exclusively */
    }
    if (rc == 0) {
        *what = build_username ? "build the case-folded username index" : "associate indexes";
        rc = store->users->associate(store->users, txn, store->users_by_username,
                                     sa_store_index_username,
                                     build_username ? DB_CREATE : assoc);
    }
    if (rc == 0) {
        *what = build_expiry ? "build the rounded session expiry index" : "associate indexes";
        rc = store->sessions->associate(store->sessions, txn, store->sessions_by_expiry,
                                        sa_store_index_session_expiry,
                                        build_expiry ? DB_CREATE : assoc);
    }
    if (gate >= 0)
        close(gate);
    if (rc != 0)
        return rc;
    store->username_index_built = build_username;
    *what = "associate indexes";
    if (rc == 0)
        rc = store->users->associate(store->users, txn, store->users_by_email,
                                     sa_store_index_email, assoc);
    if (rc == 0)
        rc = store->users->associate(store->users, txn, store->users_by_sub,
                                     sa_store_index_sub, assoc);
    if (rc == 0)
        rc = store->sessions->associate(store->sessions, txn, store->sessions_by_user,
                                        sa_store_index_session_user,
                                        assoc | DB_IMMUTABLE_KEY);
    if (rc == 0)
        rc = store->jtis->associate(store->jtis, txn, store->jtis_by_expiry,
                                    sa_store_index_jti_expiry, assoc);
    return rc;
}

/* Write the format record when absent, check it when present. */
sa_status sa_store_meta_format(sa_store_txn *t, void *ctx, sa_error *err)
{
    bool create = *(bool *)ctx;
    unsigned char buf[2];
    sa_record rec = {buf, sizeof buf};
    DBT data;
    sa_status st;

    st = sa_store_record_get(t, t->store->meta, SA_META_FORMAT_KEY, create ? DB_RMW : 0, &data,
                             "store: no format record", "read format record", err);
    if (st == SA_OK)
        return sa_record_meta_check(data.data, data.size, err);
    if (st != SA_ERR_NOT_FOUND)
        return st;
    if (!create)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE,
                       "store: not initialised (no format record): run `socialauth init`");
    sa_record_meta_encode(buf);
    return sa_store_record_put(t, t->store->meta, SA_META_FORMAT_KEY, &rec, 0,
                               SA_META_FORMAT_KEY, "write format record", err);
}

/* A permission error while opening names the path and who we are and who owns it: the
 * usual cause is a store made by root for a web server running as www-data. */
static sa_status store_denied(const char *db_home, const char *what, int rc, sa_error *err)
{
    char path[PATH_MAX], why[PATH_MAX + 96];
    /* `what` is a file in db_home (open.lock, users.db, ...) or a step ("open environment"). */
    if (strchr(what, '.') && !strchr(what, ' '))
        snprintf(path, sizeof path, "%s/%s", db_home, what);
    else
        snprintf(path, sizeof path, "%s", db_home);
    sa_owner_describe(path, why, sizeof why);
    return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: %s: %s %s", path, strerror(rc), why);
}

static sa_status store_check_home(const char *db_home, sa_store_mode mode, sa_error *err)
{
    struct stat st;

    if (!db_home || !db_home[0])
        return SA_FAIL(err, SA_ERR_INVALID, "store: db_home is empty");
    if (strnlen(db_home, PATH_MAX) >= PATH_MAX)
        return SA_FAIL(err, SA_ERR_INVALID, "store: db_home is too long");
    if (mode == SA_STORE_CREATE && mkdir(db_home, 0700) != 0 && errno != EEXIST) {
        char why[PATH_MAX + 96];
        int e = errno; /* sa_owner_describe may change errno */
        sa_owner_describe(db_home, why, sizeof why);
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: cannot create %s: %s %s", db_home,
                       strerror(e), why);
    }
    if (stat(db_home, &st) != 0) {
        if (errno == ENOENT)
            return SA_FAIL(err, SA_ERR_UNAVAILABLE,
                           "store: %s does not exist: run `socialauth init` first", db_home);
        return store_denied(db_home, "", errno, err);
    }
    if (!S_ISDIR(st.st_mode))
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: %s is not a directory", db_home);
    return SA_OK;
}

/* Contract: SA_OK with *out set; SA_ERR_INVALID (db_home empty or too long);
 * SA_ERR_UNAVAILABLE (directory missing in SERVE mode, a database missing, permissions,
 * an unknown format version, any other open failure; err->msg says which); SA_ERR_FATAL
 * (recovery failed); SA_ERR_UNAVAILABLE. On failure nothing stays open. */
static sa_status store_open_once(sa_store **out, const char *db_home, sa_store_mode mode,
                                 sa_error *err)
{
    sa_store *store = NULL;
    DB_TXN *txn = NULL;
    bool create = mode == SA_STORE_CREATE;
    const char *what = "open environment";
    sa_status st;
    int rc;

    *out = NULL;
    st = store_check_home(db_home, mode, err);
    if (st != SA_OK)
        return st;
    store = calloc(1, sizeof *store);
    if (!store)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: out of memory");
    store->sync_rotation = true;
    store->users_fd = -1;
    memcpy(store->home, db_home, strlen(db_home) + 1);
    store->jitter = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ 0x9e3779b97f4a7c15u;

    store_watch_start(store);
    rc = store_env_new(store);
    if (rc == 0)
        rc = store_env_join(store, db_home, &what);
    if (rc != 0)
        goto fail_db;
    store_watch_region(store);
    what = "open environment";

    if (create) {
        what = "begin transaction";
        rc = store->env->txn_begin(store->env, NULL, &txn, 0);
        if (rc != 0)
            goto fail_db;
    }
    rc = sa_store_open_all(store, txn, create, &what);
    if (rc != 0)
        goto fail_db;
    if (txn) {
        what = "commit";
        rc = txn->commit(txn, 0);
        txn = NULL;
        if (rc != 0)
            goto fail_db;
    }
    st = sa_store_txn_run(store, sa_store_meta_format, &create, 0, err);
    if (st != SA_OK)
        goto fail;
    *out = store;
    return SA_OK;

fail_db:
    if (rc == ENOENT && !create)
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE,
                     "store: %s in %s is missing: run `socialauth init` first", what, db_home);
    else if (rc == EACCES || rc == EPERM)
        st = store_denied(db_home, what, rc, err);
    else
        st = sa_store_db_fail(store, NULL, rc, err, what);
fail:
    if (txn)
        txn->abort(txn);
    sa_store_close(store);
    return st;
}

/* Contract: see store.h. A first attempt that finds the environment in need of recovery
 * (a process was killed inside Berkeley DB, and failchk or the recovery mark says so) leaves
 * the mark behind and fails with SA_ERR_FATAL; the second attempt, being the next opener, runs
 * the recovery. So a fresh process (the admin command, a respawned endpoint) recovers at once
 * instead of telling its caller to start it again. */
sa_status sa_store_open(sa_store **out, const char *db_home, sa_store_mode mode, sa_error *err)
{
    sa_status st = store_open_once(out, db_home, mode, err);
    if (st == SA_ERR_FATAL)
        st = store_open_once(out, db_home, mode, err);
    return st;
}

/* Contract: see store_internal.h. */
void sa_store_close_dbs(sa_store *store)
{
    for (size_t i = STORE_NDBS; i-- > 0;) {
        DB **slot = store_db_slot(store, i);
        if (*slot && (*slot)->close(*slot, 0) == DB_RUNRECOVERY)
            store->fatal = true;
        *slot = NULL;
    }
}

/* Contract: closes every database (indexes first) and the environment; store may be NULL. */
void sa_store_close(sa_store *store)
{
    if (!store)
        return;
    if (store->remote) {
        sa_store_remote_close(store);
        return;
    }
    store_watch_stop(store);
    sa_store_close_dbs(store);
    if (store->env)
        store->env->close(store->env, 0);
    if (store->users_fd >= 0)
        close(store->users_fd); /* not a user of the environment any more */
    free(store);
}

/* Contract: see store.h; false for NULL. */
bool sa_store_upgraded(const sa_store *store)
{
    return store && store->username_index_built;
}

/* Contract: sync false makes later rotation commits DB_TXN_WRITE_NOSYNC; no failure. */
void sa_store_set_sync_rotation(sa_store *store, bool sync)
{
    if (store)
        store->sync_rotation = sync;
}

/* ---- ping ---- */

static sa_status store_ping_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    bool create = false;
    (void)ctx;
    return sa_store_meta_format(t, &create, err);
}

/* Contract: SA_OK after reading the format record in a transaction; SA_ERR_UNAVAILABLE or
 * SA_ERR_FATAL when the store cannot answer. */
sa_status sa_store_ping(sa_store *store, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_ping(store, err);
    return sa_store_txn_run(store, store_ping_txn, NULL, 0, err);
}
