/* store.c: the Berkeley DB environment behind store.h: opening and closing it (the one
 * place that opens every database and associates every index), the transaction runner with
 * its deadlock retry, the mapping of Berkeley DB errors to statuses, the record get and put
 * and the cursor open and close the tables share, ping, checkpoints and hot backup. Users,
 * sessions and keys live in store_user.c, store_session.c, store_keys.c; the record layout
 * in store_record.c.
 *
 * Environment: DB_CREATE|DB_INIT_TXN|DB_INIT_LOCK|DB_INIT_LOG|DB_INIT_MPOOL|DB_REGISTER|
 * DB_RECOVER, one DB_ENV per process, lock detection DB_LOCK_DEFAULT, a 2 MiB shared cache
 * (Berkeley DB adds 25% to small caches), 1 MiB log files removed by sa_store_checkpoint(). */
#include "store.h"
#include "store_internal.h"
#include "store_record.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define STORE_CACHE_BYTES (2u * 1024 * 1024)
#define STORE_LOG_FILE_BYTES (1u * 1024 * 1024)
#define STORE_LOCK_TIMEOUT_US 2000000u   /* a lock wait longer than this is a deadlock */
#define STORE_CHECKPOINT_KBYTE 64u       /* checkpoint once this much log was written */


/* ---- errors ---- */

static void store_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
    sa_store *store = env->app_private;
    (void)prefix;
    if (!store || !msg)
        return;
    /* Library code never logs: keep the last message for the next error report. */
    size_t n = strnlen(msg, sizeof store->db_message - 1);
    memcpy(store->db_message, msg, n);
    store->db_message[n] = '\0';
}

static void store_event(DB_ENV *env, u_int32_t event, void *info)
{
    sa_store *store = env->app_private;
    (void)info;
    if (store && (event == DB_EVENT_PANIC || event == DB_EVENT_REG_PANIC))
        store->fatal = true;
}

sa_status sa_store_db_fail(sa_store *store, sa_store_txn *t, int rc, sa_error *err,
                           const char *what)
{
    const char *detail = store && store->db_message[0] ? store->db_message : "";
    const char *sep = detail[0] ? " / " : "";
    sa_status st;

    switch (rc) {
    case DB_NOTFOUND:
        return SA_FAIL(err, SA_ERR_NOT_FOUND, "store: %s: not found", what);
    case DB_KEYEXIST:
        return SA_FAIL(err, SA_ERR_EXISTS, "store: %s: already exists", what);
    case DB_LOCK_DEADLOCK:
    case DB_LOCK_NOTGRANTED:
        if (t)
            t->retry = true;
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: %s: %s", what, db_strerror(rc));
    case DB_RUNRECOVERY:
        if (store)
            store->fatal = true;
        st = SA_FAIL(err, SA_ERR_FATAL, "store: %s: %s%s%s", what, db_strerror(rc), sep,
                     detail);
        break;
    default:
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: %s: %s%s%s", what, db_strerror(rc), sep,
                     detail);
        break;
    }
    if (store)
        store->db_message[0] = '\0';
    return st;
}

void sa_store_dbt(DBT *dbt, const void *data, size_t len)
{
    memset(dbt, 0, sizeof *dbt);
    dbt->data = (void *)data;
    dbt->size = (u_int32_t)len;
}

/* ---- records ---- */

int sa_store_index_field(const DBT *data, sa_record_field field, DBT *result)
{
    const unsigned char *value;
    size_t len;

    if (!sa_record_field_get(data->data, data->size, field, &value, &len))
        return EINVAL;
    if (len == 0)
        return DB_DONOTINDEX;
    result->data = (void *)value;
    result->size = (u_int32_t)len;
    return 0;
}

sa_status sa_store_record_get(sa_store_txn *t, DB *db, const char *key, u_int32_t flags,
                              DBT *data, const char *missing, const char *what, sa_error *err)
{
    DBT k;
    int rc;

    sa_store_dbt(&k, key, strlen(key));
    sa_store_dbt(data, NULL, 0);
    rc = db->get(db, t->txn, &k, data, flags);
    if (rc == DB_NOTFOUND)
        return SA_FAIL(err, SA_ERR_NOT_FOUND, "%s", missing);
    if (rc != 0)
        return sa_store_db_fail(t->store, t, rc, err, what);
    return SA_OK;
}

sa_status sa_store_record_put(sa_store_txn *t, DB *db, const char *key, const sa_record *rec,
                              u_int32_t flags, const char *key_name, const char *what,
                              sa_error *err)
{
    DBT k, data;
    int rc;

    sa_store_dbt(&k, key, strlen(key));
    sa_store_dbt(&data, rec->data, rec->len);
    rc = db->put(db, t->txn, &k, &data, flags);
    if (rc == 0)
        return SA_OK;
    if (rc == DB_KEYEXIST)
        return SA_FAIL(err, SA_ERR_EXISTS, "%s", key_name);
    if (rc == EINVAL) {
        /* A unique index refused the value although the caller checked it free in this
         * transaction: only a race could do that. Retry the whole transaction; the check
         * then names the field. */
        t->retry = true;
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: unique index conflict");
    }
    return sa_store_db_fail(t->store, t, rc, err, what);
}

sa_status sa_store_cursor_open(sa_store_txn *t, DB *db, u_int32_t flags, DBC **cur,
                               sa_error *err)
{
    int rc = db->cursor(db, t->txn, cur, flags);
    if (rc == 0)
        return SA_OK;
    *cur = NULL;
    return sa_store_db_fail(t->store, t, rc, err, "open cursor");
}

sa_status sa_store_cursor_close(sa_store_txn *t, DBC *cur, sa_status st, sa_error *err)
{
    int rc = cur->close(cur);
    if (rc != 0 && st == SA_OK)
        st = sa_store_db_fail(t->store, t, rc, err, "close cursor");
    return st;
}

/* ---- transactions ---- */

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

static sa_status fatal_status(sa_error *err)
{
    return SA_FAIL(err, SA_ERR_FATAL, "store: the environment needs recovery; restart");
}

sa_status sa_store_txn_run(sa_store *store, sa_store_txn_fn fn, void *ctx,
                           uint32_t commit_flags, sa_error *err)
{
    sa_status st = SA_ERR_UNAVAILABLE;

    for (int attempt = 0; attempt < SA_STORE_TRIES; attempt++) {
        sa_store_txn t = {store, NULL, commit_flags, false};
        int rc;

        if (store->fatal)
            return fatal_status(err);
        rc = store->env->txn_begin(store->env, NULL, &t.txn, 0);
        if (rc != 0) {
            st = sa_store_db_fail(store, &t, rc, err, "begin transaction");
        } else {
            st = fn(&t, ctx, err);
            if (st == SA_OK) {
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
        if (store->fatal)
            return st == SA_ERR_FATAL ? st : fatal_status(err);
        if (!t.retry)
            return st;
        if (attempt + 1 < SA_STORE_TRIES)
            store_backoff(store, attempt);
    }
    return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: busy: gave up after %d deadlocks",
                   SA_STORE_TRIES);
}

/* ---- open / close ---- */

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
                      create ? DB_CREATE : DB_AUTO_COMMIT, 0600);
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
} db_spec;

static const db_spec store_dbs[] = {
    {offsetof(sa_store, users), "users.db", 0},
    {offsetof(sa_store, users_by_username), "users_by_username.db", 0},
    {offsetof(sa_store, users_by_email), "users_by_email.db", 0},
    {offsetof(sa_store, users_by_sub), "users_by_sub.db", 0},
    {offsetof(sa_store, sessions), "sessions.db", 0},
    {offsetof(sa_store, sessions_by_user), "sessions_by_user.db", DB_DUP | DB_DUPSORT},
    {offsetof(sa_store, sessions_by_expiry), "sessions_by_expiry.db", DB_DUP | DB_DUPSORT},
    {offsetof(sa_store, meta), "meta.db", 0},
};
#define STORE_NDBS (sizeof store_dbs / sizeof store_dbs[0])

static DB **store_db_slot(sa_store *store, size_t i)
{
    return (DB **)(void *)((char *)store + store_dbs[i].offset);
}

/* Open every database and associate every index, inside txn when creating. On failure
 * *what names the step. */
static int store_open_all(sa_store *store, DB_TXN *txn, bool create, const char **what)
{
    u_int32_t assoc = create ? DB_CREATE : 0;
    int rc = 0;

    for (size_t i = 0; i < STORE_NDBS && rc == 0; i++) {
        *what = store_dbs[i].file;
        rc = store_open_db(store, txn, store_db_slot(store, i), store_dbs[i].file,
                           store_dbs[i].flags, create);
    }
    if (rc != 0)
        return rc;
    *what = "associate indexes";
    rc = store->users->associate(store->users, txn, store->users_by_username,
                                 sa_store_index_username, assoc);
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
        rc = store->sessions->associate(store->sessions, txn, store->sessions_by_expiry,
                                        sa_store_index_session_expiry, assoc);
    return rc;
}

/* Write the format record when absent, check it when present. */
static sa_status store_meta_format(sa_store_txn *t, void *ctx, sa_error *err)
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

static sa_status store_check_home(const char *db_home, sa_store_mode mode, sa_error *err)
{
    struct stat st;

    if (!db_home || !db_home[0])
        return SA_FAIL(err, SA_ERR_INVALID, "store: db_home is empty");
    if (strnlen(db_home, PATH_MAX) >= PATH_MAX)
        return SA_FAIL(err, SA_ERR_INVALID, "store: db_home is too long");
    if (mode == SA_STORE_CREATE && mkdir(db_home, 0700) != 0 && errno != EEXIST)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: cannot create %s: %s", db_home,
                       strerror(errno));
    if (stat(db_home, &st) != 0) {
        if (errno == ENOENT)
            return SA_FAIL(err, SA_ERR_UNAVAILABLE,
                           "store: %s does not exist: run `socialauth init` first", db_home);
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: %s: %s", db_home, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: %s is not a directory", db_home);
    return SA_OK;
}

/* Contract: SA_OK with *out set; SA_ERR_INVALID (db_home empty or too long);
 * SA_ERR_UNAVAILABLE (directory missing in SERVE mode, a database missing, permissions,
 * an unknown format version, any other open failure; err->msg says which); SA_ERR_FATAL
 * (recovery failed); SA_ERR_UNAVAILABLE. On failure nothing stays open. */
sa_status sa_store_open(sa_store **out, const char *db_home, sa_store_mode mode, sa_error *err)
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
    memcpy(store->home, db_home, strlen(db_home) + 1);
    store->jitter = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ 0x9e3779b97f4a7c15u;

    rc = db_env_create(&store->env, 0);
    if (rc != 0) {
        store->env = NULL;
        goto fail_db;
    }
    store->env->app_private = store;
    store->env->set_errcall(store->env, store_errcall);
    rc = store->env->set_event_notify(store->env, store_event);
    if (rc == 0)
        rc = store->env->set_cachesize(store->env, 0, STORE_CACHE_BYTES, 1);
    if (rc == 0)
        rc = store->env->set_lg_max(store->env, STORE_LOG_FILE_BYTES);
    if (rc == 0)
        rc = store->env->set_lk_detect(store->env, DB_LOCK_DEFAULT);
    if (rc == 0)
        rc = store->env->set_timeout(store->env, STORE_LOCK_TIMEOUT_US, DB_SET_LOCK_TIMEOUT);
    if (rc == 0)
        rc = store->env->open(store->env, db_home, SA_STORE_ENV_FLAGS, 0600);
    if (rc != 0)
        goto fail_db;

    if (create) {
        what = "begin transaction";
        rc = store->env->txn_begin(store->env, NULL, &txn, 0);
        if (rc != 0)
            goto fail_db;
    }
    rc = store_open_all(store, txn, create, &what);
    if (rc != 0)
        goto fail_db;
    if (txn) {
        what = "commit";
        rc = txn->commit(txn, 0);
        txn = NULL;
        if (rc != 0)
            goto fail_db;
    }
    st = sa_store_txn_run(store, store_meta_format, &create, 0, err);
    if (st != SA_OK)
        goto fail;
    *out = store;
    return SA_OK;

fail_db:
    if (rc == ENOENT && !create)
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE,
                     "store: %s in %s is missing: run `socialauth init` first", what, db_home);
    else
        st = sa_store_db_fail(store, NULL, rc, err, what);
fail:
    if (txn)
        txn->abort(txn);
    sa_store_close(store);
    return st;
}

/* Contract: closes every database (indexes first) and the environment; store may be NULL. */
void sa_store_close(sa_store *store)
{
    if (!store)
        return;
    for (size_t i = STORE_NDBS; i-- > 0;) {
        DB **slot = store_db_slot(store, i);
        if (*slot && (*slot)->close(*slot, 0) == DB_RUNRECOVERY)
            store->fatal = true;
        *slot = NULL;
    }
    if (store->env)
        store->env->close(store->env, 0);
    free(store);
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
    return store_meta_format(t, &create, err);
}

/* Contract: SA_OK after reading the format record in a transaction; SA_ERR_UNAVAILABLE or
 * SA_ERR_FATAL when the store cannot answer. */
sa_status sa_store_ping(sa_store *store, sa_error *err)
{
    return sa_store_txn_run(store, store_ping_txn, NULL, 0, err);
}

/* ---- maintenance ---- */

static sa_status store_checkpoint_env(sa_store *store, DB_ENV *env, u_int32_t kbyte,
                                      u_int32_t flags, sa_error *err)
{
    int rc = env->txn_checkpoint(env, kbyte, 0, flags);
    if (rc != 0)
        return sa_store_db_fail(store, NULL, rc, err, "checkpoint");
    rc = env->log_archive(env, NULL, DB_ARCH_REMOVE);
    if (rc != 0)
        return sa_store_db_fail(store, NULL, rc, err, "remove old logs");
    return SA_OK;
}

/* Contract: SA_OK after a checkpoint (taken only once 64 KiB of log were written since the
 * last one, so calling it often is cheap) and removal of log files no longer needed for
 * normal recovery; SA_ERR_UNAVAILABLE / SA_ERR_FATAL on store trouble. Cost of a real
 * checkpoint: the dirty pages of the 2 MiB cache are written and each touched file fsynced. */
sa_status sa_store_checkpoint(sa_store *store, sa_error *err)
{
    if (store->fatal)
        return fatal_status(err);
    return store_checkpoint_env(store, store->env, STORE_CHECKPOINT_KBYTE, 0, err);
}

/* Make a copied environment consistent on its own: catastrophic recovery replays every log
 * copied after the databases (as db_hotbackup does), then a checkpoint lets the logs that
 * recovery no longer needs go. A private environment leaves no region files behind. */
static sa_status store_recover_copy(const char *dir, sa_error *err)
{
    DB_ENV *env = NULL;
    sa_status st = SA_OK;
    int rc = db_env_create(&env, 0);

    if (rc != 0)
        return sa_store_db_fail(NULL, NULL, rc, err, "backup: create environment");
    rc = env->open(env, dir,
                   DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL |
                       DB_PRIVATE | DB_RECOVER_FATAL,
                   0600);
    if (rc != 0)
        st = sa_store_db_fail(NULL, NULL, rc, err, "backup: recover the copy");
    else
        st = store_checkpoint_env(NULL, env, 0, DB_FORCE, err);
    rc = env->close(env, 0);
    if (rc != 0 && st == SA_OK)
        st = sa_store_db_fail(NULL, NULL, rc, err, "backup: close the copy");
    return st;
}

/* Contract: SA_OK when dir (created with mode 0700 if absent; it must not already hold any
 * file of the backup) holds a recovered copy of every database that sa_store_open() can open
 * as a store; SA_ERR_INVALID (dir empty or too long); SA_ERR_EXISTS (a backup file is already
 * there); SA_ERR_UNAVAILABLE / SA_ERR_FATAL on store or file system trouble. Runs while other
 * processes keep serving. */
sa_status sa_store_backup(sa_store *store, const char *dir, sa_error *err)
{
    sa_status st;
    int rc;

    if (!dir || !dir[0] || strnlen(dir, PATH_MAX) >= PATH_MAX)
        return SA_FAIL(err, SA_ERR_INVALID, "backup: directory name empty or too long");
    if (store->fatal)
        return fatal_status(err);
    /* A fresh checkpoint keeps the log the copy must replay short. */
    st = store_checkpoint_env(store, store->env, 0, DB_FORCE, err);
    if (st != SA_OK)
        return st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "backup: cannot create %s: %s", dir,
                       strerror(errno));
    /* Security: DB_EXCL instead of DB_BACKUP_CLEAN, so a mistyped target never has its
     * files deleted or overwritten. */
    rc = store->env->backup(store->env, dir, DB_CREATE | DB_EXCL);
    if (rc == EEXIST)
        return SA_FAIL(err, SA_ERR_EXISTS, "backup: %s already holds a backup", dir);
    if (rc != 0)
        return sa_store_db_fail(store, NULL, rc, err, "backup");
    return store_recover_copy(dir, err);
}
