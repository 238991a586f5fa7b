/* store_db.c: what every table of the store shares on top of Berkeley DB: the mapping of
 * its errors to statuses (and the message it left), DBTs, the per-thread read buffers of a
 * replicated (free-threaded) environment, and record get and put, cursors, counting and the
 * bounded purge of expired records. Contracts in store_internal.h. */
#include "store/store.h"
#include "store/store_internal.h"
#include "store/store_record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ---- */

void sa_store_errcall(const DB_ENV *env, const char *prefix, const char *msg)
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

/* Berkeley DB's informational messages (failchk's "Freeing ..." notes) would go to stdout,
 * which is not ours to write to: dropped. */
void sa_store_msgcall(const DB_ENV *env, const char *msg)
{
    (void)env;
    (void)msg;
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
        if (t) {
            t->retry = true;
            t->lock_timeout = t->lock_timeout || rc == DB_LOCK_NOTGRANTED;
        }
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: %s: %s", what, db_strerror(rc));
    case DB_REP_HANDLE_DEAD:
        /* A replica rolled back a commit these handles saw: store_rep.c reopens them. */
        if (store)
            atomic_store(&store->handles_dead, true);
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: %s: %s", what, db_strerror(rc));
        break;
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

/* Contract: see store_internal.h. */
sa_status sa_store_fatal_status(sa_error *err)
{
    return SA_FAIL(err, SA_ERR_FATAL, "store: the environment needs recovery; run the command (or restart the program) again");
}

void sa_store_dbt(DBT *dbt, const void *data, size_t len)
{
    memset(dbt, 0, sizeof *dbt);
    dbt->data = (void *)data;
    dbt->size = (u_int32_t)len;
}

/* ---- free-threaded reads ---- */

#define STORE_TDBT_SLOTS 32
static _Thread_local struct { const void *db; int role; void *buf; } store_tdbt[STORE_TDBT_SLOTS];

static void **store_tdbt_slot(const void *db, int role)
{
    for (size_t i = 0; i < STORE_TDBT_SLOTS; i++) {
        if (store_tdbt[i].db == db && store_tdbt[i].role == role)
            return &store_tdbt[i].buf;
        if (!store_tdbt[i].db) {
            store_tdbt[i].db = db;
            store_tdbt[i].role = role;
            return &store_tdbt[i].buf;
        }
    }
    return NULL;
}

/* Contract: see store_internal.h. */
void sa_store_tdbt(const sa_store *store, const void *db, int role, DBT *dbt)
{
    if (!store->rep)
        return;
    void **slot = store_tdbt_slot(db, role);
    dbt->flags = (dbt->flags & DB_DBT_PARTIAL) | (slot ? DB_DBT_REALLOC : DB_DBT_MALLOC);
    dbt->data = slot ? *slot : NULL;
}

void sa_store_tdbt_keep(const sa_store *store, const void *db, int role, const DBT *dbt)
{
    if (!store->rep)
        return;
    void **slot = store_tdbt_slot(db, role);
    if (slot)
        *slot = dbt->data;
}

void sa_store_thread_end(void)
{
    for (size_t i = 0; i < STORE_TDBT_SLOTS; i++) {
        free(store_tdbt[i].buf);
        store_tdbt[i].db = NULL;
        store_tdbt[i].buf = NULL;
    }
}

/* ---- records ---- */

sa_status sa_store_record_get(sa_store_txn *t, DB *db, const char *key, u_int32_t flags,
                              DBT *data, const char *missing, const char *what, sa_error *err)
{
    DBT k;
    int rc;

    sa_store_dbt(&k, key, strlen(key));
    sa_store_dbt(data, NULL, 0);
    sa_store_tdbt(t->store, db, 0, data);
    rc = db->get(db, t->txn, &k, data, flags);
    sa_store_tdbt_keep(t->store, db, 0, data);
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

/* Contract: see store_internal.h. */
sa_status sa_store_record_replace(sa_store_txn *t, DB *db, const char *key,
                                  const sa_record *rec, const char *missing, const char *what,
                                  sa_error *err)
{
    DBC *cur = NULL;
    DBT k, data;
    sa_status st = sa_store_cursor_open(t, db, 0, &cur, err);
    int rc;

    if (st != SA_OK || !cur)   /* (!cur: never with SA_OK; said for scan-build) */
        return st;
    sa_store_dbt(&k, key, strlen(key));
    sa_store_dbt(&data, NULL, 0);
    data.flags = DB_DBT_PARTIAL;   /* position only: zero bytes of the record */
    rc = cur->get(cur, &k, &data, DB_SET | DB_RMW);
    if (rc == 0) {
        sa_store_dbt(&data, rec->data, rec->len);
        rc = cur->put(cur, &k, &data, DB_CURRENT);
    }
    if (rc == DB_NOTFOUND) {
        st = SA_FAIL(err, SA_ERR_NOT_FOUND, "%s", missing);
    } else if (rc == EINVAL) {
        t->retry = true;   /* a unique index refused the value: as sa_store_record_put */
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: unique index conflict");
    } else if (rc != 0) {
        st = sa_store_db_fail(t->store, t, rc, err, what);
    }
    return sa_store_cursor_close(t, cur, st, err);
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

/* Contract: see store_internal.h. */
sa_status sa_store_purge_expired(sa_store_txn *t, DB *by_expiry, int64_t now, int64_t leeway,
                                 size_t limit, size_t *purged, sa_error *err)
{
    /* Security: records live until exp + leeway, while sa_jwt_verify still accepts the
     * token; forgetting a revoked or adopted jti earlier would make its token new again. */
    int64_t cutoff = leeway <= 0 ? now : now < INT64_MIN + leeway ? INT64_MIN : now - leeway;
    sa_store *store = t->store;
    DBC *cur = NULL;
    DBT k, data;
    sa_status st = SA_OK;
    int rc;

    *purged = 0;
    if (limit == 0)
        return SA_OK;
    /* The common case, nothing expired, is a read whose lock is released at once, so that
     * purging on every request does not serialise requests on the index's first page. */
    st = sa_store_cursor_open(t, by_expiry, DB_READ_COMMITTED, &cur, err);
    if (st != SA_OK || !cur) /* (!cur: never with SA_OK; said for scan-build, which loses */
        return st;           /*  track of it through Berkeley DB's function pointers) */
    sa_store_dbt(&k, NULL, 0);
    sa_store_dbt(&data, NULL, 0);
    data.flags = DB_DBT_PARTIAL;
    rc = cur->get(cur, &k, &data, DB_FIRST);
    bool expired = rc == 0 && k.size >= SA_RECORD_I64_SIZE && sa_record_i64_get(k.data) < cutoff;
    if (rc != 0 && rc != DB_NOTFOUND)
        st = sa_store_db_fail(store, t, rc, err, "purge expired");
    st = sa_store_cursor_close(t, cur, st, err);
    if (st != SA_OK || !expired)
        return st;

    st = sa_store_cursor_open(t, by_expiry, 0, &cur, err);
    if (st != SA_OK || !cur)
        return st;
    rc = cur->get(cur, &k, &data, DB_FIRST | DB_RMW);
    while (rc == 0 && k.size >= SA_RECORD_I64_SIZE && sa_record_i64_get(k.data) < cutoff) {
        rc = cur->del(cur, 0);   /* through the index: the primary and every index entry */
        if (rc != 0 || ++*purged >= limit)
            break;
        rc = cur->get(cur, &k, &data, DB_NEXT | DB_RMW);
    }
    if (rc != 0 && rc != DB_NOTFOUND)
        st = sa_store_db_fail(store, t, rc, err, "purge expired");
    return sa_store_cursor_close(t, cur, st, err);
}

/* Contract: see store_internal.h. */
sa_status sa_store_count_keys(sa_store_txn *t, DB *db, size_t *count, sa_error *err)
{
    DB_BTREE_STAT *sp = NULL;
    int rc = db->stat(db, t->txn, &sp, DB_READ_COMMITTED);

    if (rc != 0)
        return sa_store_db_fail(t->store, t, rc, err, "count records");
    *count = sp->bt_nkeys;
    free(sp);
    return SA_OK;
}
