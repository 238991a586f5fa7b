/* store_stats.c: how much the store holds and how much disk that takes (`socialauth stats`;
 * see store.h). Counts come from Berkeley DB's own Btree statistics (DB->stat, a full walk
 * of the tree's pages without reading records through the cursor layer); sizes from the
 * database files' lengths. */
#include "store/store_internal.h"
#include "store/store_remote.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Records (keys, plus duplicates for an index that has them) in db. */
static sa_status count_records(sa_store_txn *t, DB *db, uint64_t *out, sa_error *err)
{
    DB_BTREE_STAT *sp = NULL;
    int rc = db->stat(db, t->txn, &sp, DB_READ_COMMITTED);
    if (rc != 0)
        return sa_store_db_fail(t->store, t, rc, err, "stat");
    *out = sp->bt_ndata;
    free(sp);
    return SA_OK;
}

static sa_status stats_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    sa_store_stats *s = ctx;
    sa_store *store = t->store;
    uint64_t sessions = 0;
    sa_status st = count_records(t, store->users, &s->users, err);
    if (st == SA_OK)
        st = count_records(t, store->users_by_sub, &s->google_links, err);
    if (st == SA_OK)
        st = count_records(t, store->sessions, &sessions, err);
    s->sessions = sessions;
    return st;
}

static uint64_t file_bytes(const char *home, const char *file)
{
    char path[PATH_MAX];
    struct stat st;
    int n = snprintf(path, sizeof path, "%s/%s", home, file);
    if (n < 0 || (size_t)n >= sizeof path || stat(path, &st) != 0)
        return 0;
    return (uint64_t)st.st_size;
}

/* Contract in store.h. */
sa_status sa_store_stats_get(sa_store *store, sa_store_stats *out, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_stats_get(store, out, err);
    static const char *user_files[] = {"users.db", STORE_USERNAME_INDEX, "users_by_email.db",
                                       "users_by_sub.db"};
    static const char *session_files[] = {"sessions.db", "sessions_by_user.db",
                                          STORE_SESSION_EXPIRY_INDEX};
    memset(out, 0, sizeof *out);
    sa_status st = sa_store_txn_run(store, stats_txn, out, 0, err);
    if (st != SA_OK)
        return st;
    for (size_t i = 0; i < 4; i++)
        out->user_bytes += file_bytes(store->home, user_files[i]);
    for (size_t i = 0; i < 3; i++)
        out->session_bytes += file_bytes(store->home, session_files[i]);
    return SA_OK;
}
