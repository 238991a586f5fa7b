/* store_session.c: login sessions (api.html#sessions): creation, rotation with reuse
 * detection, revocation, listing by user and bounded purging of expired ones.
 *
 * Security: only jtis and times are stored, never a token, so a copy of the database is
 * useless without the signing key.
 *
 * Indexes (associated by sa_store_open()): sessions_by_user (user_id -> sid, sorted
 * duplicates) and sessions_by_expiry (expires_at rounded up, then sid: unique keys,
 * sa_store_index_session_expiry), so purging walks expired sessions oldest first and stops
 * after `limit`. */
#include "store/store.h"
#include "store/store_internal.h"
#include "store/store_remote.h"
#include "store/store_record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static bool sid_ok(const char *sid)
{
    size_t n = sid ? strnlen(sid, SA_RECORD_SID_MAX + 1) : 0;
    return n > 0 && n <= SA_RECORD_SID_MAX;
}

static bool user_id_ok(const char *user_id)
{
    size_t n = user_id ? strnlen(user_id, SA_ID_MAX + 1) : 0;
    return n > 0 && n <= SA_ID_MAX;
}

sa_status sa_store_session_read(sa_store_txn *t, const char *sid, u_int32_t flags,
                                sa_session *out, sa_error *err)
{
    DBT data;
    sa_status st = sa_store_record_get(t, t->store->sessions, sid, flags, &data,
                                       "store: no such session", "read session", err);
    if (st != SA_OK)
        return st;
    return sa_record_session_decode(sid, strlen(sid), data.data, data.size, out, err);
}

/* flags: DB_NOOVERWRITE for a new session, 0 to overwrite one that exists (a rotation, a
 * revocation: through sa_store_record_replace, so that its unchanged index entries are
 * not locked and rotations of different sessions do not queue on one index page). */
static sa_status session_write(sa_store_txn *t, const sa_session *s, u_int32_t flags,
                               sa_error *err)
{
    sa_record rec = {NULL, 0};
    sa_status st = sa_record_session_encode(s, &rec, err);
    if (st == SA_OK && flags == DB_NOOVERWRITE)
        st = sa_store_record_put(t, t->store->sessions, s->sid, &rec, flags, "sid",
                                 "write session", err);
    else if (st == SA_OK)
        st = sa_store_record_replace(t, t->store->sessions, s->sid, &rec,
                                     "store: no such session", "write session", err);
    sa_record_free(&rec);
    return st;
}

/* ---- create / get ---- */

sa_status sa_store_session_insert(sa_store_txn *t, const sa_session *session, sa_error *err)
{
    if (!sid_ok(session->sid))
        return SA_FAIL(err, SA_ERR_INVALID, "sid is empty or longer than %d bytes",
                       SA_RECORD_SID_MAX);
    if (!user_id_ok(session->user_id))
        return SA_FAIL(err, SA_ERR_INVALID, "user_id is empty or longer than %d bytes",
                       SA_ID_MAX);
    return session_write(t, session, DB_NOOVERWRITE, err);
}

static sa_status session_create_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    /* Session writes are flushed as rotations are (sa_store_set_sync_rotation). */
    if (!t->store->sync_rotation)
        t->commit_flags = DB_TXN_WRITE_NOSYNC;
    return sa_store_session_insert(t, ctx, err);
}

/* Contract: SA_OK when stored; SA_ERR_INVALID (sid or user_id empty or too long, a jti too
 * long); SA_ERR_EXISTS ("sid" taken; nothing written); SA_ERR_UNAVAILABLE, SA_ERR_FATAL. */
sa_status sa_store_session_create(sa_store *store, const sa_session *session, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_session_create(store, session, err);
    return sa_store_txn_run(store, session_create_txn, (void *)session, 0, err);
}

typedef struct get_ctx {
    const char *sid;
    sa_session *out;
} get_ctx;

static sa_status session_get_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    get_ctx *c = ctx;
    return sa_store_session_read(t, c->sid, 0, c->out, err);
}

/* Contract: SA_OK with *out filled; SA_ERR_NOT_FOUND (no such sid, or an empty / over-long
 * one); SA_ERR_UNAVAILABLE, SA_ERR_FATAL. */
sa_status sa_store_session_get(sa_store *store, const char *sid, sa_session *out, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_session_get(store, sid, out, err);
    get_ctx c = {sid, out};
    if (!sid_ok(sid))
        return SA_FAIL(err, SA_ERR_NOT_FOUND, "store: no such session");
    return sa_store_read_run(store, session_get_txn, &c, err);   /* one get */
}

/* ---- rotation ---- */

typedef struct rotate_ctx {
    const char *sid;
    const char *presented;
    const sa_session *next;
    int64_t now;
    int64_t grace;
    sa_session *out;
    sa_rotate_result result;
} rotate_ctx;

/* Contract: see store_internal.h. */
sa_status sa_store_session_rotate_locked(sa_store_txn *t, sa_session *s,
                                         const char *presented_jti, const sa_session *next,
                                         int64_t now, int64_t grace, sa_rotate_result *result,
                                         sa_error *err)
{
    sa_error why = {0};   /* the rule's reason: not an error of this call */

    *result = sa_session_rule_rotate(s, presented_jti, next, now, grace, &why);
    if (*result == SA_ROTATE_ROTATED) {
        if (!t->store->sync_rotation)
            t->commit_flags = DB_TXN_WRITE_NOSYNC;
        return session_write(t, s, 0, err);
    }
    if (*result == SA_ROTATE_REUSE) {
        /* Security: the revocation of a session whose token was reused is always flushed. */
        t->commit_flags = 0;
        return session_write(t, s, 0, err);
    }
    return SA_OK;
}

static sa_status session_rotate_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    rotate_ctx *c = ctx;
    sa_session s;
    sa_status st = sa_store_session_read(t, c->sid, DB_RMW, &s, err);

    if (st == SA_OK)
        st = sa_store_session_rotate_locked(t, &s, c->presented, c->next, c->now, c->grace,
                                            &c->result, err);
    if (st == SA_OK)
        *c->out = s;
    return st;
}

/* Contract: SA_OK with *result (ROTATED, GRACE, REUSE or REVOKED, as store.h describes) and
 * *out the session after the call; SA_ERR_NOT_FOUND (no such session); SA_ERR_INVALID (next
 * has an empty or over-long jti); SA_ERR_UNAVAILABLE, SA_ERR_FATAL. A rotation commit is
 * flushed unless sa_store_set_sync_rotation(store, false) (then it is written to the OS,
 * DB_TXN_WRITE_NOSYNC: it survives the process, not the machine). */
sa_status sa_store_session_rotate(sa_store *store, const char *sid, const char *presented_jti,
                                  const sa_session *next, int64_t now, int64_t grace,
                                  sa_session *out, sa_rotate_result *result, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_session_rotate(store, sid, presented_jti, next, now, grace, out, result, err);
    rotate_ctx c = {sid, presented_jti ? presented_jti : "", next, now, grace, out,
                    SA_ROTATE_REVOKED};
    size_t next_len = strnlen(next->current_jti, sizeof next->current_jti);
    sa_status st;

    if (!sid_ok(sid))
        return SA_FAIL(err, SA_ERR_NOT_FOUND, "store: no such session");
    if (next_len == 0 || next_len > SA_RECORD_JTI_MAX)
        return SA_FAIL(err, SA_ERR_INVALID, "next current_jti is empty or too long");
    st = sa_store_txn_run(store, session_rotate_txn, &c, 0, err);
    if (st == SA_OK)
        *result = c.result;
    return st;
}

/* ---- revocation ---- */

/* Contract: see store_internal.h. */
sa_status sa_store_session_revoke_locked(sa_store_txn *t, const char *sid, sa_error *err)
{
    sa_session s;
    sa_status st = sa_store_session_read(t, sid, DB_RMW, &s, err);
    if (st != SA_OK || s.revoked)
        return st;
    s.revoked = true;
    return session_write(t, &s, 0, err);
}

static sa_status session_revoke_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    return sa_store_session_revoke_locked(t, ctx, err);
}

/* Contract: SA_OK when the session is revoked (also when it already was); SA_ERR_NOT_FOUND;
 * SA_ERR_UNAVAILABLE, SA_ERR_FATAL. */
sa_status sa_store_session_revoke(sa_store *store, const char *sid, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_session_revoke(store, sid, err);
    if (!sid_ok(sid))
        return SA_FAIL(err, SA_ERR_NOT_FOUND, "store: no such session");
    return sa_store_txn_run(store, session_revoke_txn, (void *)sid, 0, err);
}

/* What session_walk_user() does with one session: cur stands on its index entry (so
 * cur->del() deletes it everywhere); s is the decoded session, NULL when the walk reads no
 * records. SA_OK goes on to the next one. */
typedef sa_status (*session_step_fn)(sa_store_txn *t, DBC *cur, sa_session *s, void *ctx,
                                     sa_error *err);

/* Call step for each session of user_id in sid order, through the sessions_by_user index
 * inside t, write-locking each one as it goes; with want_record false no record is read.
 * Contract: SA_OK when step said SA_OK to every session (also when there were none); the
 * first other status of step or of decoding, which ends the walk; sa_store_db_fail()'s
 * status for what when moving the cursor fails. */
static sa_status session_walk_user(sa_store_txn *t, const char *user_id, bool want_record,
                                   session_step_fn step, void *ctx, const char *what,
                                   sa_error *err)
{
    DBC *cur = NULL;
    DBT k, pk, data;
    sa_session s;
    sa_status st;
    int rc;

    st = sa_store_cursor_open(t, t->store->sessions_by_user, 0, &cur, err);
    if (st != SA_OK)
        return st;
    sa_store_dbt(&k, user_id, strlen(user_id));
    sa_store_dbt(&pk, NULL, 0);
    sa_store_dbt(&data, NULL, 0);
    if (!want_record)
        data.flags = DB_DBT_PARTIAL;   /* zero bytes of it */
    rc = cur->pget(cur, &k, &pk, &data, DB_SET | DB_RMW);
    while (rc == 0) {
        if (want_record)
            st = sa_record_session_decode(pk.data, pk.size, data.data, data.size, &s, err);
        if (st == SA_OK)
            st = step(t, cur, want_record ? &s : NULL, ctx, err);
        if (st != SA_OK)
            break;
        rc = cur->pget(cur, &k, &pk, &data, DB_NEXT_DUP | DB_RMW);
    }
    if (st == SA_OK && rc != DB_NOTFOUND)
        st = sa_store_db_fail(t->store, t, rc, err, what);
    return sa_store_cursor_close(t, cur, st, err);
}

/* Revoke s unless it is ctx (a sid, or NULL) or already revoked. The rewrite goes through
 * the primary; its index entries do not change (user_id and expires_at stay), so the walk's
 * cursor stays valid. */
static sa_status session_revoke_step(sa_store_txn *t, DBC *cur, sa_session *s, void *ctx,
                                     sa_error *err)
{
    const char *except = ctx;

    (void)cur;
    if (s->revoked || (except && strcmp(s->sid, except) == 0))
        return SA_OK;
    s->revoked = true;
    return session_write(t, s, 0, err);
}

typedef struct revoke_user_ctx {
    const char *user_id;
    const char *except;
} revoke_user_ctx;

static sa_status session_revoke_user_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    revoke_user_ctx *c = ctx;
    return session_walk_user(t, c->user_id, true, session_revoke_step, (void *)c->except,
                             "read sessions", err);
}

/* Contract: SA_OK when every session of user_id except except_sid (NULL: none excepted) is
 * revoked, in one transaction (also when there were none); SA_ERR_UNAVAILABLE, SA_ERR_FATAL. */
sa_status sa_store_session_revoke_user(sa_store *store, const char *user_id,
                                       const char *except_sid, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_session_revoke_user(store, user_id, except_sid, err);
    revoke_user_ctx c = {user_id, except_sid};
    if (!user_id_ok(user_id))
        return SA_OK;
    return sa_store_txn_run(store, session_revoke_user_txn, &c, 0, err);
}

typedef struct revoke_all_ctx {
    const char *user_id;
    int64_t now;
} revoke_all_ctx;

static sa_status session_revoke_all_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    revoke_all_ctx *c = ctx;
    sa_status st = session_walk_user(t, c->user_id, true, session_revoke_step, NULL,
                                     "read sessions", err);
    if (st == SA_OK)
        st = sa_store_not_before_raise(t, c->user_id, c->now, err);
    return st;
}

/* Contract: see store.h. */
sa_status sa_store_session_revoke_all(sa_store *store, const char *user_id, int64_t now,
                                      sa_error *err)
{
    if (store->remote)
        return sa_store_remote_session_revoke_all(store, user_id, now, err);
    revoke_all_ctx c = {user_id, now};
    if (!user_id_ok(user_id))
        return SA_FAIL(err, SA_ERR_INVALID, "user_id is empty or longer than %d bytes",
                       SA_ID_MAX);
    return sa_store_txn_run(store, session_revoke_all_txn, &c, 0, err);
}

/* Deleting through an index cursor removes the primary and every index entry. */
static sa_status session_delete_step(sa_store_txn *t, DBC *cur, sa_session *s, void *ctx,
                                     sa_error *err)
{
    int rc = cur->del(cur, 0);

    (void)s;
    (void)ctx;
    if (rc != 0)
        return sa_store_db_fail(t->store, t, rc, err, "delete sessions");
    return SA_OK;
}

sa_status sa_store_session_delete_user(sa_store_txn *t, const char *user_id, sa_error *err)
{
    return session_walk_user(t, user_id, false, session_delete_step, NULL, "delete sessions",
                             err);
}

/* ---- listing ---- */

typedef struct each_ctx {
    const char *user_id;
    char last[SA_RECORD_SID_MAX + 1];   /* sid of the previous session, "" before the first */
    sa_session session;
    bool found;
} each_ctx;

/* One step: the user's first session whose sid sorts after c->last. */
static sa_status session_next_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    each_ctx *c = ctx;
    sa_store *store = t->store;
    DBC *cur = NULL;
    DBT k, pk, data;
    size_t last_len = strlen(c->last);
    sa_status st = SA_OK;
    int rc;

    c->found = false;
    st = sa_store_cursor_open(t, store->sessions_by_user, 0, &cur, err);
    if (st != SA_OK)
        return st;
    sa_store_dbt(&k, c->user_id, strlen(c->user_id));
    sa_store_dbt(&pk, c->last, last_len);
    sa_store_dbt(&data, NULL, 0);
    if (last_len == 0) {
        rc = cur->pget(cur, &k, &pk, &data, DB_SET);
    } else {
        rc = cur->pget(cur, &k, &pk, &data, DB_GET_BOTH_RANGE);
        if (rc == 0 && pk.size == last_len && memcmp(pk.data, c->last, last_len) == 0)
            rc = cur->pget(cur, &k, &pk, &data, DB_NEXT_DUP);
    }
    if (rc == 0) {
        st = sa_record_session_decode(pk.data, pk.size, data.data, data.size, &c->session,
                                      err);
        c->found = st == SA_OK;
    } else if (rc != DB_NOTFOUND) {
        st = sa_store_db_fail(store, t, rc, err, "read sessions");
    }
    return sa_store_cursor_close(t, cur, st, err);
}

/* Contract: SA_OK after fn saw every session of user_id in sid order or returned non-zero;
 * SA_ERR_UNAVAILABLE, SA_ERR_FATAL. Each session is read in its own short transaction and
 * fn is called outside any transaction, so it may use the store. */
sa_status sa_store_session_each_of_user(sa_store *store, const char *user_id,
                                        sa_session_visit_fn fn, void *ctx, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_session_each_of_user(store, user_id, fn, ctx, err);
    each_ctx c;
    sa_status st = SA_OK;

    if (!user_id_ok(user_id))
        return SA_OK;
    memset(&c, 0, sizeof c);
    c.user_id = user_id;
    for (;;) {
        st = sa_store_txn_run(store, session_next_txn, &c, 0, err);
        if (st != SA_OK || !c.found)
            break;
        memcpy(c.last, c.session.sid, sizeof c.last);
        if (fn(&c.session, ctx) != 0)
            break;
    }
    return st;
}

/* ---- purge / count ---- */

typedef struct purge_ctx {
    int64_t now;
    int64_t leeway;
    size_t limit;
    size_t purged;
} purge_ctx;

static sa_status session_purge_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    purge_ctx *c = ctx;
    return sa_store_purge_expired(t, t->store->sessions_by_expiry, c->now, c->leeway, c->limit,
                                  &c->purged, err);
}

/* Contract: SA_OK with *purged (<= limit) sessions whose expires_at + leeway < now deleted,
 * oldest first, in one transaction; SA_ERR_UNAVAILABLE, SA_ERR_FATAL (*purged is then 0).
 * Work is bounded by limit, so callers can purge a little on normal requests. */
sa_status sa_store_session_purge(sa_store *store, int64_t now, int64_t leeway, size_t limit,
                                 size_t *purged, sa_error *err)
{
    if (store->remote) {   /* the node's upkeep purges (node.c) */
        *purged = 0;
        return SA_OK;
    }
    purge_ctx c = {now, leeway, limit, 0};
    sa_status st = SA_OK;

    if (limit > 0)
        st = sa_store_txn_run(store, session_purge_txn, &c, 0, err);
    *purged = st == SA_OK ? c.purged : 0;
    return st;
}

static sa_status session_count_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    return sa_store_count_keys(t, t->store->sessions, ctx, err);
}

/* Contract: SA_OK with *count the number of stored sessions (revoked and expired-but-not-yet-
 * purged included); SA_ERR_UNAVAILABLE, SA_ERR_FATAL. Walks the whole database: for the
 * admin command and tests, not for every request. */
sa_status sa_store_session_count(sa_store *store, size_t *count, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_session_count(store, count, err);
    *count = 0;
    return sa_store_txn_run(store, session_count_txn, count, 0, err);
}
