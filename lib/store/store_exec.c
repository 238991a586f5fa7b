/* store_exec.c: a node runs one protocol request against its own store (the server half of
 * store_wire.h; store_remote.c is the client half). Arguments and results per op:
 *   PING                 -> -
 *   USER_GET             u8 by, str key -> user
 *   USER_CREATE          user -> user (id and date_joined filled)
 *   USER_UPDATE          user -> -
 *   USER_DELETE          str id -> -
 *   USER_EACH            -> (u8 1, user)* u8 0
 *   GOOGLE_LOGIN         user candidate, u8 link_email, i64 now, u8 has_session[, session]
 *                        -> u8 outcome (always), then when SA_OK: user[, session]
 *   SESSION_CREATE       session -> -
 *   SESSION_GET          str sid -> session
 *   SESSION_ROTATE       str sid, str jti, session next, i64 now, i64 grace
 *                        -> when SA_OK: u8 result, session
 *   SESSION_REVOKE       str sid -> -
 *   SESSION_REVOKE_USER  str user_id, u8 has_except[, str except_sid] -> -
 *   SESSION_EACH_OF_USER str user_id -> (u8 1, session)* u8 0
 *   SESSION_COUNT        -> i64 count
 *   KEYS_GET             -> keys
 *   KEYS_PUT             keys -> -
 *   KEYS_CLAIM           i64 now, i64 interval -> -
 *   CHECKPOINT           -> -
 *   BACKUP               str dir -> -
 *   SESSION_REVOKE_ALL   str user_id, i64 now -> -
 *   JTI_GET              str jti -> str sid, i64 expires_at, u8 revoked
 *   SESSION_ADOPT        session first, u8 has_next[, session next], i64 now, i64 grace
 *                        -> when SA_OK: u8 result, session
 *   JTI_REVOKE           str jti, i64 exp -> -
 *   NOT_BEFORE_GET       str user_id -> i64 not_before
 *   JTI_COUNT            -> i64 count
 *   VERIFY               -> (u8 1, str problem)* u8 0, i64 problems
 *   STATS                -> i64 users, google_links, sessions, user_bytes, session_bytes
 * STATUS is the node's own (node.c). */
#include "store/store_exec.h"
#include "store/store_internal.h"
#include "store/store_wire.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct exec_out {
    sa_wire *w;
    sa_error *err;
    sa_status st;
} exec_out;

static int exec_visit_user(const sa_user *user, void *ctx)
{
    exec_out *o = ctx;
    sa_wire_u8(o->w, 1);
    o->st = sa_wire_user(o->w, user, o->err);
    return o->st != SA_OK;
}

static void exec_problem(const char *message, void *ctx)
{
    exec_out *o = ctx;
    sa_wire_u8(o->w, 1);
    sa_wire_str(o->w, message);
}

static int exec_visit_session(const sa_session *s, void *ctx)
{
    exec_out *o = ctx;
    sa_wire_u8(o->w, 1);
    o->st = sa_wire_session(o->w, s, o->err);
    return o->st != SA_OK;
}

/* Run the op in `in` against store, its results into out. */
static sa_status exec_op(sa_store *store, unsigned op, sa_wire_in *in, sa_wire *out,
                         sa_error *err)
{
    /* Larger than any valid id, sid or jti: the store itself judges their lengths, so that an
     * over-long one gets the store's own answer (not found, invalid) as when embedded. */
    char a[1024], b[1024], dir[PATH_MAX];
    sa_user user = {0}, got = {0};
    sa_session s = {0}, s2 = {0};
    sa_google_keys keys = {0};
    exec_out visit = {out, err, SA_OK};
    sa_status st = SA_OK;

    switch (op) {
    case SA_OP_PING:
        return sa_store_ping(store, err);
    case SA_OP_USER_GET: {
        unsigned by = sa_wire_get_u8(in);
        char key[SA_SUB_MAX + SA_EMAIL_MAX + 1];
        sa_wire_get_str(in, key, sizeof key);
        if (in->bad || by > SA_BY_GOOGLE_SUB)
            break;
        st = sa_store_user_get(store, (sa_user_key)by, key, &got, err);
        if (st == SA_OK)
            st = sa_wire_user(out, &got, err);
        sa_user_clear(&got);
        return st;
    }
    case SA_OP_USER_CREATE:
    case SA_OP_USER_UPDATE:
        if (sa_wire_get_user(in, &user, err) != SA_OK)
            break;
        st = op == SA_OP_USER_CREATE ? sa_store_user_create(store, &user, err)
                                     : sa_store_user_update(store, &user, err);
        if (st == SA_OK && op == SA_OP_USER_CREATE)
            st = sa_wire_user(out, &user, err);
        sa_user_clear(&user);
        return st;
    case SA_OP_USER_IMPORT: {
        bool created = false;
        if (sa_wire_get_user(in, &user, err) != SA_OK)
            break;
        st = sa_store_user_import(store, &user, &created, err);
        sa_wire_u8(out, created);
        sa_user_clear(&user);
        return st;
    }
    case SA_OP_FLUSH:
        return sa_store_flush(store, err);
    case SA_OP_USERNAME_VARIANTS: {
        sa_username_variant *v = NULL;
        size_t n = 0;
        st = sa_store_username_variants(store, &v, &n, err);
        for (size_t i = 0; st == SA_OK && i < n; i++) {
            sa_wire_u8(out, 1);
            sa_wire_str(out, v[i].id);
            sa_wire_str(out, v[i].username);
            sa_wire_i64(out, (int64_t)v[i].group);
        }
        sa_wire_u8(out, 0);
        free(v);
        return st;
    }
    case SA_OP_USER_DELETE:
        sa_wire_get_str(in, a, sizeof a);
        if (in->bad)
            break;
        return sa_store_user_delete(store, a, err);
    case SA_OP_USER_EACH:
        st = sa_store_user_each(store, exec_visit_user, &visit, err);
        sa_wire_u8(out, 0);
        return st != SA_OK ? st : visit.st;
    case SA_OP_GOOGLE_LOGIN: {
        if (sa_wire_get_user(in, &user, err) != SA_OK)
            break;
        bool link = sa_wire_get_u8(in) != 0;
        int64_t now = sa_wire_get_i64(in);
        bool has_session = sa_wire_get_u8(in) != 0;
        if (has_session && sa_wire_get_session(in, &s, err) != SA_OK)
            in->bad = true;
        sa_login_outcome outcome = SA_LOGIN_EXISTING;
        if (!in->bad)
            st = sa_store_google_login(store, &user, link, now, has_session ? &s : NULL, &got,
                                       &outcome, err);
        sa_user_clear(&user);
        if (in->bad)
            break;
        sa_wire_u8(out, outcome);
        if (st == SA_OK)
            st = sa_wire_user(out, &got, err);
        if (st == SA_OK && has_session)
            st = sa_wire_session(out, &s, err);
        sa_user_clear(&got);
        return st;
    }
    case SA_OP_SESSION_CREATE:
        if (sa_wire_get_session(in, &s, err) != SA_OK)
            break;
        return sa_store_session_create(store, &s, err);
    case SA_OP_SESSION_GET:
        sa_wire_get_str(in, a, sizeof a);
        if (in->bad)
            break;
        st = sa_store_session_get(store, a, &s, err);
        return st == SA_OK ? sa_wire_session(out, &s, err) : st;
    case SA_OP_SESSION_ROTATE: {
        sa_wire_get_str(in, a, sizeof a);
        sa_wire_get_str(in, b, sizeof b);
        if (sa_wire_get_session(in, &s, err) != SA_OK)
            break;
        int64_t now = sa_wire_get_i64(in), grace = sa_wire_get_i64(in);
        if (in->bad)
            break;
        sa_rotate_result result = SA_ROTATE_REVOKED;
        st = sa_store_session_rotate(store, a, b, &s, now, grace, &s2, &result, err);
        if (st != SA_OK)
            return st;
        sa_wire_u8(out, result);
        return sa_wire_session(out, &s2, err);
    }
    case SA_OP_SESSION_REVOKE:
        sa_wire_get_str(in, a, sizeof a);
        if (in->bad)
            break;
        return sa_store_session_revoke(store, a, err);
    case SA_OP_SESSION_REVOKE_USER: {
        sa_wire_get_str(in, a, sizeof a);
        bool has_except = sa_wire_get_u8(in) != 0;
        b[0] = '\0';
        if (has_except)
            sa_wire_get_str(in, b, sizeof b);
        if (in->bad)
            break;
        return sa_store_session_revoke_user(store, a, has_except ? b : NULL, err);
    }
    case SA_OP_SESSION_EACH_OF_USER:
        sa_wire_get_str(in, a, sizeof a);
        if (in->bad)
            break;
        st = sa_store_session_each_of_user(store, a, exec_visit_session, &visit, err);
        sa_wire_u8(out, 0);
        return st != SA_OK ? st : visit.st;
    case SA_OP_SESSION_COUNT: {
        size_t count = 0;
        st = sa_store_session_count(store, &count, err);
        sa_wire_i64(out, (int64_t)count);
        return st;
    }
    case SA_OP_KEYS_GET:
        st = sa_store_google_keys_get(store, &keys, err);
        if (st == SA_OK)
            st = sa_wire_keys(out, &keys, err);
        sa_google_keys_clear(&keys);
        return st;
    case SA_OP_KEYS_PUT:
        if (sa_wire_get_keys(in, &keys, err) != SA_OK)
            break;
        st = sa_store_google_keys_put(store, &keys, err);
        sa_google_keys_clear(&keys);
        return st;
    case SA_OP_KEYS_CLAIM: {
        int64_t now = sa_wire_get_i64(in), interval = sa_wire_get_i64(in);
        if (in->bad)
            break;
        return sa_store_google_keys_claim_refetch(store, now, interval, err);
    }
    case SA_OP_CHECKPOINT:
        return sa_store_checkpoint(store, err);
    case SA_OP_BACKUP:
        sa_wire_get_str(in, dir, sizeof dir);
        if (in->bad)
            break;
        return sa_store_backup(store, dir, err);
    case SA_OP_SESSION_REVOKE_ALL: {
        sa_wire_get_str(in, a, sizeof a);
        int64_t now = sa_wire_get_i64(in);
        if (in->bad)
            break;
        return sa_store_session_revoke_all(store, a, now, err);
    }
    case SA_OP_JTI_GET: {
        sa_jti_record j;
        sa_wire_get_str(in, a, sizeof a);
        if (in->bad)
            break;
        st = sa_store_jti_get(store, a, &j, err);
        if (st == SA_OK) {
            sa_wire_str(out, j.sid);
            sa_wire_i64(out, j.expires_at);
            sa_wire_u8(out, j.revoked);
        }
        return st;
    }
    case SA_OP_SESSION_ADOPT: {
        sa_session next = {0};
        if (sa_wire_get_session(in, &s, err) != SA_OK)
            break;
        bool has_next = sa_wire_get_u8(in) != 0;
        if (has_next && sa_wire_get_session(in, &next, err) != SA_OK)
            break;
        int64_t now = sa_wire_get_i64(in), grace = sa_wire_get_i64(in);
        if (in->bad)
            break;
        sa_rotate_result result = SA_ROTATE_REVOKED;
        st = sa_store_session_adopt(store, &s, has_next ? &next : NULL, now, grace, &s2,
                                    &result, err);
        if (st != SA_OK)
            return st;
        sa_wire_u8(out, result);
        return sa_wire_session(out, &s2, err);
    }
    case SA_OP_JTI_REVOKE: {
        sa_wire_get_str(in, a, sizeof a);
        int64_t exp = sa_wire_get_i64(in);
        if (in->bad)
            break;
        return sa_store_jti_revoke(store, a, exp, err);
    }
    case SA_OP_NOT_BEFORE_GET: {
        int64_t nb = 0;
        sa_wire_get_str(in, a, sizeof a);
        if (in->bad)
            break;
        st = sa_store_not_before_get(store, a, &nb, err);
        sa_wire_i64(out, nb);
        return st;
    }
    case SA_OP_VERIFY: {
        size_t problems = 0;
        st = sa_store_verify(store, exec_problem, NULL, &visit, &problems, err);
        sa_wire_u8(out, 0);
        sa_wire_i64(out, (int64_t)problems);
        return st;
    }
    case SA_OP_STATS: {
        sa_store_stats stats = {0};
        st = sa_store_stats_get(store, &stats, err);
        sa_wire_i64(out, (int64_t)stats.users);
        sa_wire_i64(out, (int64_t)stats.google_links);
        sa_wire_i64(out, (int64_t)stats.sessions);
        sa_wire_i64(out, (int64_t)stats.user_bytes);
        sa_wire_i64(out, (int64_t)stats.session_bytes);
        return st;
    }
    case SA_OP_JTI_COUNT: {
        size_t count = 0;
        st = sa_store_jti_count(store, &count, err);
        sa_wire_i64(out, (int64_t)count);
        return st;
    }
    default:
        return SA_FAIL(err, SA_ERR_INVALID, "node: unknown operation %u", op);
    }
    return SA_FAIL(err, SA_ERR_INVALID, "node: malformed request");
}

/* Contract: see store_exec.h. */
void sa_store_exec(sa_store *store, const unsigned char *req, size_t len, sa_wire *answer)
{
    sa_wire_in in = {req, len, false};
    sa_wire results = {0};
    sa_error err = {0};
    unsigned op = sa_wire_get_u8(&in);

    memset(&sa_store_commit_note, 0, sizeof sa_store_commit_note);
    sa_status st = exec_op(store, op, &in, &results, &err);
    bool durable = !sa_store_commit_note.perm_failed;
    if (st == SA_OK && results.oom)
        st = SA_FAIL(&err, SA_ERR_UNAVAILABLE, "node: answer too large or out of memory");
    if (st == SA_OK && sa_wire_op_writes(op) && !durable)
        /* Security of the contract, not of secrets: the commit is on this site only and a
         * failover can roll it back, so the caller must not answer 200 for it. */
        st = SA_FAIL(&err, SA_ERR_UNAVAILABLE,
                     "node: the write did not reach a quorum of nodes (not durable)");
    sa_wire_u8(answer, st);
    sa_wire_u8(answer, durable);
    unsigned char token[SA_WIRE_TOKEN] = {0};
    if (sa_store_commit_note.token_set)
        memcpy(token, sa_store_commit_note.token.buf, SA_WIRE_TOKEN);
    sa_wire_raw(answer, token, SA_WIRE_TOKEN);
    sa_wire_str(answer, st == SA_OK ? "" : err.msg);
    if (st == SA_OK || op == SA_OP_GOOGLE_LOGIN)
        sa_wire_raw(answer, results.data, results.len);
    sa_wire_free(&results);
}
