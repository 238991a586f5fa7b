/* store_not_before.c: each user's not-before time, raised by a global logout
 * (not_before.db): tokens of the user issued before it are refused. Used by the session
 * rules (store_session.c) and by the adoption of tokens without sid (store_sidless.c). */
#include "store/store.h"
#include "store/store_internal.h"
#include "store/store_remote.h"
#include "store/store_record.h"

#include <string.h>

/* Contract: see store_internal.h. */
sa_status sa_store_not_before_read(sa_store_txn *t, const char *user_id, u_int32_t flags,
                                   int64_t *out, sa_error *err)
{
    DBT data;
    *out = 0;
    sa_status st = sa_store_record_get(t, t->store->not_before, user_id, flags, &data,
                                       "store: no not-before time", "read not-before", err);
    if (st == SA_ERR_NOT_FOUND)
        return SA_OK;
    if (st != SA_OK)
        return st;
    return sa_record_not_before_decode(data.data, data.size, out, err);
}

/* Contract: see store_internal.h. */
sa_status sa_store_not_before_raise(sa_store_txn *t, const char *user_id, int64_t now,
                                    sa_error *err)
{
    unsigned char buf[SA_RECORD_NOT_BEFORE_SIZE];
    sa_record rec = {buf, sizeof buf};
    int64_t current;
    sa_status st = sa_store_not_before_read(t, user_id, DB_RMW, &current, err);

    if (st != SA_OK || current >= now)
        return st;
    sa_record_not_before_encode(now, buf);
    return sa_store_record_put(t, t->store->not_before, user_id, &rec, 0, "user_id",
                               "write not-before", err);
}

typedef struct not_before_ctx {
    const char *user_id;
    int64_t *out;
} not_before_ctx;

static sa_status not_before_get_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    not_before_ctx *c = ctx;
    return sa_store_not_before_read(t, c->user_id, 0, c->out, err);
}

/* Contract: see store.h. */
sa_status sa_store_not_before_get(sa_store *store, const char *user_id, int64_t *out,
                                  sa_error *err)
{
    if (store->remote)
        return sa_store_remote_not_before_get(store, user_id, out, err);
    not_before_ctx c = {user_id, out};
    *out = 0;
    size_t n = user_id ? strnlen(user_id, SA_ID_MAX + 1) : 0;
    if (n == 0 || n > SA_ID_MAX)
        return SA_OK;
    return sa_store_txn_run(store, not_before_get_txn, &c, 0, err);
}
