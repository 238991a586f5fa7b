/* store_sidless.c: what the store keeps for tokens without `sid` (api.html#tokens): the
 * jtis of such refresh tokens, adopted into a session at their first refresh or revoked by a
 * logout, until their exp (jtis.db, purged through jtis_by_expiry.db like sessions), and each
 * user's not-before time set by a global logout (not_before.db). See store.h.
 *
 * Security: only jtis, session ids and times are stored, never a token. */
#include "store/store.h"
#include "store/store_internal.h"
#include "store/store_remote.h"
#include "store/store_record.h"

#include <errno.h>
#include <string.h>

static bool bounded(const char *s, size_t max)
{
    size_t n = s ? strnlen(s, max + 1) : 0;
    return n > 0 && n <= max;
}

static sa_status jti_read(sa_store_txn *t, const char *jti, u_int32_t flags, sa_jti_record *out,
                          sa_error *err)
{
    DBT data;
    sa_status st = sa_store_record_get(t, t->store->jtis, jti, flags, &data,
                                       "store: jti not remembered", "read jti", err);
    if (st != SA_OK)
        return st;
    return sa_record_jti_decode(data.data, data.size, out, err);
}

static sa_status jti_write(sa_store_txn *t, const char *jti, const sa_jti_record *rec,
                           u_int32_t flags, sa_error *err)
{
    sa_record r = {NULL, 0};
    sa_status st = sa_record_jti_encode(rec, &r, err);
    if (st == SA_OK)
        st = sa_store_record_put(t, t->store->jtis, jti, &r, flags, "jti", "write jti", err);
    sa_record_free(&r);
    return st;
}

/* ---- get ---- */

typedef struct jti_get_ctx {
    const char *jti;
    sa_jti_record *out;
} jti_get_ctx;

static sa_status jti_get_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    jti_get_ctx *c = ctx;
    return jti_read(t, c->jti, 0, c->out, err);
}

/* Contract: see store.h. */
sa_status sa_store_jti_get(sa_store *store, const char *jti, sa_jti_record *out, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_jti_get(store, jti, out, err);
    jti_get_ctx c = {jti, out};
    if (!bounded(jti, SA_RECORD_JTI_MAX))
        return SA_FAIL(err, SA_ERR_NOT_FOUND, "store: jti not remembered");
    return sa_store_txn_run(store, jti_get_txn, &c, 0, err);
}

/* ---- adoption ---- */

typedef struct adopt_ctx {
    const sa_session *first;
    const sa_session *next;
    int64_t now;
    int64_t grace;
    sa_session *out;
    sa_rotate_result result;
} adopt_ctx;

/* The jti was seen before: its session decides, as for any token of that session. */
static sa_status adopt_known(sa_store_txn *t, adopt_ctx *c, const sa_jti_record *known,
                             sa_error *err)
{
    const char *jti = c->first->current_jti;
    sa_session s;
    sa_status st;

    c->result = SA_ROTATE_REVOKED;
    if (known->revoked || !known->sid[0])
        return SA_OK;
    st = sa_store_session_read(t, known->sid, DB_RMW, &s, err);
    if (st == SA_ERR_NOT_FOUND)
        return SA_OK;   /* purged: the session ended, and the token with it */
    if (st != SA_OK)
        return st;
    /* Security: a session of another user is never this token's (jtis are random; only a
     * forged token could collide). */
    if (strcmp(s.user_id, c->first->user_id) != 0)
        return SA_OK;
    st = sa_store_session_rotate_locked(t, &s, jti, c->next, c->now, c->grace, &c->result,
                                        err);
    if (st == SA_OK)
        *c->out = s;
    return st;
}

static sa_status adopt_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    adopt_ctx *c = ctx;
    const char *jti = c->first->current_jti;
    sa_jti_record known;
    sa_session s = *c->first;
    int64_t not_before;

    /* Security: the user's not-before time is read in the transaction that inserts the
     * session, and its read lock is held to commit: a global logout (which walks the user's
     * sessions, then raises not-before) either commits first and this token is refused, or
     * waits for this session and revokes it. A token without iat counts as issued at 0. */
    sa_status st = sa_store_not_before_read(t, s.user_id, 0, &not_before, err);
    if (st != SA_OK)
        return st;
    c->result = SA_ROTATE_REVOKED;
    if (sa_session_rule_before_logout(not_before, s.current_iat))
        return SA_OK;
    /* Security: the write lock on the jti (its page, even when absent) makes concurrent
     * adoptions of one token wait for each other: the second one finds the first's session
     * and gets its grace answer. */
    st = jti_read(t, jti, DB_RMW, &known, err);
    if (st == SA_OK)
        return adopt_known(t, c, &known, err);
    if (st != SA_ERR_NOT_FOUND)
        return st;

    /* New: the session starts with this token as its current one, then rotates as usual. */
    sa_jti_record adopted = {.expires_at = c->first->current_exp, .revoked = false};
    memcpy(adopted.sid, s.sid, sizeof adopted.sid);
    if (!t->store->sync_rotation)
        t->commit_flags = DB_TXN_WRITE_NOSYNC;
    st = sa_store_session_insert(t, &s, err);
    if (st == SA_OK)
        st = jti_write(t, jti, &adopted, DB_NOOVERWRITE, err);
    if (st == SA_ERR_EXISTS) {
        /* Adopted by another transaction after all: run again, and find it. */
        t->retry = true;
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: jti adopted concurrently");
    }
    if (st == SA_OK)
        st = sa_store_session_rotate_locked(t, &s, jti, c->next, c->now, c->grace, &c->result,
                                            err);
    if (st == SA_OK)
        *c->out = s;
    return st;
}

/* Contract: see store.h. */
sa_status sa_store_session_adopt(sa_store *store, const sa_session *first,
                                 const sa_session *next, int64_t now, int64_t grace,
                                 sa_session *out, sa_rotate_result *result, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_session_adopt(store, first, next, now, grace, out, result, err);
    adopt_ctx c = {first, next, now, grace, out, SA_ROTATE_REVOKED};

    if (!bounded(first->current_jti, SA_RECORD_JTI_MAX) ||
        (next && !bounded(next->current_jti, SA_RECORD_JTI_MAX)))
        return SA_FAIL(err, SA_ERR_INVALID, "jti is empty or longer than %d bytes",
                       SA_RECORD_JTI_MAX);
    if (!bounded(first->sid, SA_RECORD_SID_MAX) || !bounded(first->user_id, SA_ID_MAX))
        return SA_FAIL(err, SA_ERR_INVALID, "sid or user_id is empty or too long");
    sa_status st = sa_store_txn_run(store, adopt_txn, &c, 0, err);
    if (st == SA_OK)
        *result = c.result;
    return st;
}

/* ---- logout ---- */

typedef struct jti_revoke_ctx {
    const char *jti;
    int64_t exp;
} jti_revoke_ctx;

static sa_status jti_revoke_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    jti_revoke_ctx *c = ctx;
    sa_jti_record known;
    sa_status st = jti_read(t, c->jti, DB_RMW, &known, err);

    if (st == SA_OK && known.sid[0]) {
        /* Adopted meanwhile: logging out ends its session. */
        st = sa_store_session_revoke_locked(t, known.sid, err);
        return st == SA_ERR_NOT_FOUND ? SA_OK : st;
    }
    if (st == SA_OK || st != SA_ERR_NOT_FOUND)
        return st;   /* already revoked, or store trouble */
    sa_jti_record revoked = {.sid = "", .expires_at = c->exp, .revoked = true};
    return jti_write(t, c->jti, &revoked, 0, err);
}

/* Contract: see store.h. */
sa_status sa_store_jti_revoke(sa_store *store, const char *jti, int64_t exp, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_jti_revoke(store, jti, exp, err);
    jti_revoke_ctx c = {jti, exp};
    if (!bounded(jti, SA_RECORD_JTI_MAX))
        return SA_FAIL(err, SA_ERR_INVALID, "jti is empty or longer than %d bytes",
                       SA_RECORD_JTI_MAX);
    return sa_store_txn_run(store, jti_revoke_txn, &c, 0, err);
}

/* ---- purge / count ---- */

typedef struct purge_ctx {
    int64_t now;
    int64_t leeway;
    size_t limit;
    size_t purged;
} purge_ctx;

static sa_status jti_purge_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    purge_ctx *c = ctx;
    return sa_store_purge_expired(t, t->store->jtis_by_expiry, c->now, c->leeway, c->limit,
                                  &c->purged,
                                  err);
}

/* Contract: see store.h. */
sa_status sa_store_jti_purge(sa_store *store, int64_t now, int64_t leeway, size_t limit,
                             size_t *purged, sa_error *err)
{
    if (store->remote) {   /* the node's upkeep purges (store_rep.c) */
        *purged = 0;
        return SA_OK;
    }
    purge_ctx c = {now, leeway, limit, 0};
    sa_status st = sa_store_txn_run(store, jti_purge_txn, &c, 0, err);
    *purged = st == SA_OK ? c.purged : 0;
    return st;
}

static sa_status jti_count_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    return sa_store_count_keys(t, t->store->jtis, ctx, err);
}

/* Contract: SA_OK with *count the remembered jtis (expired-but-not-yet-purged included);
 * SA_ERR_UNAVAILABLE, SA_ERR_FATAL. Walks the whole database: admin and tests only. */
sa_status sa_store_jti_count(sa_store *store, size_t *count, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_jti_count(store, count, err);
    *count = 0;
    return sa_store_txn_run(store, jti_count_txn, count, 0, err);
}
