/* store_keys.c: the cache of Google's signing keys (JWKS) shared by every process, and the
 * claim that limits forced refetches (an unknown kid) to one per interval across processes.
 *
 * One record under "google_keys" in the meta database. Its commits are written to the OS
 * but not flushed (DB_TXN_WRITE_NOSYNC): losing the cache in a machine crash only costs a
 * refetch. */
#include "store/store.h"
#include "store/store_internal.h"
#include "store/store_remote.h"
#include "store/store_record.h"

#include <stdlib.h>
#include <string.h>

/* Contract: frees jwks_json and zeroes *keys; keys may be NULL. */
void sa_google_keys_clear(sa_google_keys *keys)
{
    if (!keys)
        return;
    free(keys->jwks_json);
    memset(keys, 0, sizeof *keys);
}

/* Read the record into *out (jwks_json malloc'd). SA_ERR_NOT_FOUND when there is none. */
static sa_status keys_read(sa_store_txn *t, u_int32_t flags, sa_google_keys *out,
                           sa_error *err)
{
    DBT data;
    sa_status st = sa_store_record_get(t, t->store->meta, SA_META_KEYS_KEY, flags, &data,
                                       "store: no Google keys cached", "read Google keys", err);
    if (st != SA_OK)
        return st;
    return sa_record_keys_decode(data.data, data.size, out, err);
}

static sa_status keys_write(sa_store_txn *t, const sa_google_keys *keys, sa_error *err)
{
    sa_record rec = {NULL, 0};
    sa_status st = sa_record_keys_encode(keys, &rec, err);
    if (st == SA_OK)
        st = sa_store_record_put(t, t->store->meta, SA_META_KEYS_KEY, &rec, 0,
                                 SA_META_KEYS_KEY, "write Google keys", err);
    sa_record_free(&rec);
    if (st == SA_OK)
        t->commit_flags = DB_TXN_WRITE_NOSYNC;
    return st;
}

/* ---- get ---- */

static sa_status keys_get_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    sa_google_keys *tmp = ctx;
    sa_google_keys_clear(tmp);
    return keys_read(t, 0, tmp, err);
}

/* Contract: SA_OK with *out filled (jwks_json owned, NULL when none was stored; *out's
 * previous contents are overwritten, not freed); SA_ERR_NOT_FOUND (nothing cached yet);
 * SA_ERR_UNAVAILABLE, SA_ERR_FATAL. */
sa_status sa_store_google_keys_get(sa_store *store, sa_google_keys *out, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_google_keys_get(store, out, err);
    sa_google_keys tmp = {NULL, 0, 0, 0};
    sa_status st = sa_store_txn_run(store, keys_get_txn, &tmp, 0, err);
    if (st != SA_OK) {
        sa_google_keys_clear(&tmp);
        return st;
    }
    *out = tmp;
    return SA_OK;
}

/* ---- put ---- */

static sa_status keys_put_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    const sa_google_keys *keys = ctx;
    sa_google_keys old = {NULL, 0, 0, 0};
    sa_google_keys next = *keys;
    sa_status st = keys_read(t, DB_RMW, &old, err);

    if (st != SA_OK && st != SA_ERR_NOT_FOUND)
        return st;
    /* A claim made by another process since the caller read the keys stays in force. */
    if (st == SA_OK && old.forced_at > next.forced_at)
        next.forced_at = old.forced_at;
    sa_google_keys_clear(&old);
    return keys_write(t, &next, err);
}

/* Contract: SA_OK when keys replaced the cached record (forced_at never moves backwards);
 * SA_ERR_INVALID (the document is over 256 KiB); SA_ERR_UNAVAILABLE, SA_ERR_FATAL. */
sa_status sa_store_google_keys_put(sa_store *store, const sa_google_keys *keys, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_google_keys_put(store, keys, err);
    return sa_store_txn_run(store, keys_put_txn, (void *)keys, 0, err);
}

/* ---- refetch claim ---- */

typedef struct claim_ctx {
    int64_t now;
    int64_t interval;
} claim_ctx;

static sa_status keys_claim_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    claim_ctx *c = ctx;
    sa_google_keys keys = {NULL, 0, 0, 0};
    sa_status st = keys_read(t, DB_RMW, &keys, err);

    if (st != SA_OK && st != SA_ERR_NOT_FOUND)
        return st;
    if (st == SA_OK && keys.forced_at != 0 && c->now >= keys.forced_at &&
        c->now - keys.forced_at < c->interval) {
        sa_google_keys_clear(&keys);
        return SA_FAIL(err, SA_ERR_EXISTS, "store: a refetch was forced %lld s ago",
                       (long long)(c->now - keys.forced_at));
    }
    keys.forced_at = c->now;
    st = keys_write(t, &keys, err);
    sa_google_keys_clear(&keys);
    return st;
}

/* Contract: SA_OK when this caller may force a refetch now (forced_at set to now; a record
 * without keys is created when none exists); SA_ERR_EXISTS when another claim was made
 * less than interval seconds ago; SA_ERR_UNAVAILABLE, SA_ERR_FATAL. The read and the write
 * are one transaction with a write lock, so concurrent claimers get one SA_OK. */
sa_status sa_store_google_keys_claim_refetch(sa_store *store, int64_t now, int64_t interval,
                                             sa_error *err)
{
    if (store->remote)
        return sa_store_remote_google_keys_claim_refetch(store, now, interval, err);
    claim_ctx c = {now, interval};
    return sa_store_txn_run(store, keys_claim_txn, &c, 0, err);
}
