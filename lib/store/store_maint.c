/* store_maint.c: checkpoints (log files removed once written to the databases), flushing
 * the log, and hot backup (Berkeley DB "Hot backup": DB_ENV->backup, then catastrophic
 * recovery of the copy so it opens on its own). Contracts in store.h. */
#include "store/store.h"
#include "store/store_internal.h"
#include "store/store_remote.h"
#include "core/owner.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#define STORE_CHECKPOINT_KBYTE 64u       /* checkpoint once this much log was written */

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
    if (store->remote)
        return sa_store_remote_checkpoint(store, err);
    if (store->fatal)
        return sa_store_fatal_status(err);
    return store_checkpoint_env(store, store->env, STORE_CHECKPOINT_KBYTE, 0, err);
}

/* Contract in store.h. */
sa_status sa_store_flush(sa_store *store, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_flush(store, err);
    if (store->fatal)
        return sa_store_fatal_status(err);
    int rc = store->env->log_flush(store->env, NULL);
    return rc == 0 ? SA_OK : sa_store_db_fail(store, NULL, rc, err, "flush the log");
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
    if (store->remote)
        return sa_store_remote_backup(store, dir, err);
    sa_status st;
    int rc;

    if (!dir || !dir[0] || strnlen(dir, PATH_MAX) >= PATH_MAX)
        return SA_FAIL(err, SA_ERR_INVALID, "backup: directory name empty or too long");
    if (store->fatal)
        return sa_store_fatal_status(err);
    /* A fresh checkpoint keeps the log the copy must replay short. */
    st = store_checkpoint_env(store, store->env, 0, DB_FORCE, err);
    if (st != SA_OK)
        return st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        char why[PATH_MAX + 96];
        int e = errno; /* sa_owner_describe may change errno */
        sa_owner_describe(dir, why, sizeof why);
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "backup: cannot create %s: %s %s", dir,
                       strerror(e), why);
    }
    /* Security: DB_EXCL instead of DB_BACKUP_CLEAN, so a mistyped target never has its
     * files deleted or overwritten. */
    rc = store->env->backup(store->env, dir, DB_CREATE | DB_EXCL);
    if (rc == EEXIST)
        return SA_FAIL(err, SA_ERR_EXISTS, "backup: %s already holds a backup", dir);
    if (rc != 0)
        return sa_store_db_fail(store, NULL, rc, err, "backup");
    return store_recover_copy(dir, err);
}
