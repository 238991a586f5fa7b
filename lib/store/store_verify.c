/* store_verify.c: the whole-store consistency check behind `socialauth verify` (store.h).
 *
 * Primary records are read through the store's handles; each index is read a second time
 * through a handle of its own that is not associated, so its raw entries (index key ->
 * primary key) can be checked against the records they should mirror. Everything is read in
 * one transaction with read-committed cursors (Berkeley DB "Degree 2 isolation"), so serving
 * processes are not blocked for the whole walk; a deadlock re-runs the walk, so problems are
 * collected per attempt and reported only after the last one. */
#include "store/store_internal.h"
#include "store/store_remote.h"
#include "core/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_PROBLEMS_MAX 1000   /* kept messages; more are only counted */
#define VERIFY_PROGRESS_EVERY 4096

typedef struct verify_ctx {
    DB *raw_username, *raw_email, *raw_sub, *raw_session_user, *raw_session_expiry;
    char *problem[VERIFY_PROBLEMS_MAX];
    size_t problems;         /* found, including those not kept */
    size_t done;             /* records looked at */
    sa_store_progress_fn progress;
    void *progress_ctx;
} verify_ctx;

static void verify_reset(verify_ctx *v)
{
    for (size_t i = 0; i < v->problems && i < VERIFY_PROBLEMS_MAX; i++) {
        free(v->problem[i]);
        v->problem[i] = NULL;
    }
    v->problems = 0;
    v->done = 0;
}

static void problem(verify_ctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(verify_ctx *v, const char *fmt, ...)
{
    if (v->problems < VERIFY_PROBLEMS_MAX) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&v->problem[v->problems], fmt, ap) < 0)
            v->problem[v->problems] = NULL;
        va_end(ap);
    }
    v->problems++;
}

static void tick(verify_ctx *v)
{
    if (++v->done % VERIFY_PROGRESS_EVERY == 0 && v->progress)
        v->progress(v->done, v->progress_ctx);
}

/* A key printed in a message: at most 64 bytes, non-printable bytes as '?'. */
static const char *printable(const DBT *d, char out[68])
{
    size_t n = d->size < 64 ? d->size : 64;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = ((const unsigned char *)d->data)[i];
        out[i] = c >= 0x20 && c < 0x7f && c != '"' ? (char)c : '?';
    }
    memcpy(out + n, d->size > 64 ? "..." : "", d->size > 64 ? 4 : 1);
    return out;
}

static bool same(const DBT *a, const DBT *b)
{
    return a->size == b->size && memcmp(a->data, b->data, a->size) == 0;
}

typedef int (*index_fn)(DB *, const DBT *, const DBT *, DBT *);

typedef struct index_spec {
    const char *name;        /* the field, as store.h names unique fields */
    index_fn key_of;
    DB *raw;
    bool dups;               /* duplicates allowed (usernames: case variants, reported apart) */
    bool timed;              /* keys begin with an encoded i64 time (sa_record_i64_put) */
} index_spec;

/* An index key in a message: printable(), or for a timed index the time in seconds, '+',
 * then the rest printable ("1795989600+<sid>"). */
static const char *index_key_text(const index_spec *ix, const DBT *d, char out[96])
{
    char rest[68];
    if (!ix->timed || d->size < SA_RECORD_I64_SIZE)
        return printable(d, out);
    DBT tail = {.data = (char *)d->data + SA_RECORD_I64_SIZE,
                .size = d->size - SA_RECORD_I64_SIZE};
    snprintf(out, 96, "%lld+%s", (long long)sa_record_i64_get(d->data), printable(&tail, rest));
    return out;
}

/* A key made by an index callback called here, not by Berkeley DB: free what the callback
 * allocated (DB_DBT_APPMALLOC, which Berkeley DB frees only after its own calls). Found by
 * `make test SANITIZE=address,undefined` (LeakSanitizer). */
static void index_key_release(DBT *key)
{
    if (key->flags & DB_DBT_APPMALLOC)
        free(key->data);
    key->flags = 0;
    key->data = NULL;
}

/* The record (pkey, data) is in its index `ix`: the raw entry under the record's index key
 * holds pkey. A unique index can hold one entry per key: another primary key there means two
 * records share the value. */
static sa_status check_indexed(sa_store_txn *t, verify_ctx *v, const char *kind,
                               const index_spec *ix, const DBT *pkey, const DBT *data,
                               bool dups, sa_error *err)
{
    DBT skey, found;
    char a[68], b[96], c[68];
    memset(&skey, 0, sizeof skey);
    int rc = ix->key_of(NULL, pkey, data, &skey);
    if (rc == DB_DONOTINDEX)
        return SA_OK;
    if (rc != 0)
        return SA_OK;   /* an undecodable record is reported by the caller */
    DBC *cur = NULL;
    dups = dups || ix->dups;
    rc = ix->raw->cursor(ix->raw, t->txn, &cur, DB_READ_COMMITTED);
    if (rc != 0) {
        index_key_release(&skey);
        return sa_store_db_fail(t->store, t, rc, err, "verify: open index cursor");
    }
    sa_store_dbt(&found, pkey->data, pkey->size);
    DBT k = skey;
    rc = dups ? cur->get(cur, &k, &found, DB_GET_BOTH) : cur->get(cur, &k, &found, DB_SET);
    if (rc == DB_NOTFOUND)
        problem(v, "%s \"%s\": its %s \"%s\" is missing from the index", kind,
                printable(pkey, a), ix->name, index_key_text(ix, &skey, b));
    else if (rc == 0 && !dups && !same(&found, pkey))
        problem(v, "%ss \"%s\" and \"%s\" share the %s \"%s\"", kind, printable(pkey, a),
                printable(&found, c), ix->name, index_key_text(ix, &skey, b));
    sa_status st = SA_OK;
    if (rc != 0 && rc != DB_NOTFOUND)
        st = sa_store_db_fail(t->store, t, rc, err, "verify: read index");
    cur->close(cur);
    index_key_release(&skey);
    return st;
}

/* Every raw entry of index ix (key -> primary key) points at a record of primary that exists
 * and whose index key is that key. */
static sa_status check_index_entries(sa_store_txn *t, verify_ctx *v, DB *primary,
                                     const char *kind, const index_spec *ix, sa_error *err)
{
    DBC *cur = NULL;
    DBT skey, pkey, data, expect;
    char a[96], b[68];
    int rc = ix->raw->cursor(ix->raw, t->txn, &cur, DB_READ_COMMITTED);
    if (rc != 0)
        return sa_store_db_fail(t->store, t, rc, err, "verify: open index cursor");
    memset(&skey, 0, sizeof skey);
    memset(&pkey, 0, sizeof pkey);
    while ((rc = cur->get(cur, &skey, &pkey, DB_NEXT)) == 0) {
        tick(v);
        memset(&data, 0, sizeof data);
        sa_store_tdbt(t->store, primary, 5, &data);
        int got = primary->get(primary, t->txn, &pkey, &data, DB_READ_COMMITTED);
        sa_store_tdbt_keep(t->store, primary, 5, &data);
        if (got == DB_NOTFOUND) {
            problem(v, "index of %s: \"%s\" points at %s \"%s\", which does not exist",
                    ix->name, index_key_text(ix, &skey, a), kind, printable(&pkey, b));
            continue;
        }
        if (got != 0) {
            rc = got;
            break;
        }
        memset(&expect, 0, sizeof expect);
        if (ix->key_of(NULL, &pkey, &data, &expect) != 0 || !same(&expect, &skey))
            problem(v, "index of %s: \"%s\" points at %s \"%s\", whose %s differs", ix->name,
                    index_key_text(ix, &skey, a), kind, printable(&pkey, b), ix->name);
        index_key_release(&expect);
    }
    sa_status st = SA_OK;
    if (rc != DB_NOTFOUND)
        st = sa_store_db_fail(t->store, t, rc, err, "verify: read index");
    cur->close(cur);
    return st;
}

static sa_status check_users(sa_store_txn *t, verify_ctx *v, const index_spec *ix, size_t n,
                             sa_error *err)
{
    DB *users = t->store->users;
    DBC *cur = NULL;
    DBT k, data;
    char a[68];
    sa_status st = sa_store_cursor_open(t, users, DB_READ_COMMITTED, &cur, err);
    if (st != SA_OK)
        return st;
    memset(&k, 0, sizeof k);
    memset(&data, 0, sizeof data);
    int rc;
    while (st == SA_OK && (rc = cur->get(cur, &k, &data, DB_NEXT)) == 0) {
        tick(v);
        sa_user u = {0};
        sa_error why = {0};
        if (sa_record_user_decode(k.data, k.size, data.data, data.size, &u, &why) != SA_OK) {
            problem(v, "user \"%s\": the record does not decode (%s)", printable(&k, a),
                    why.msg);
            continue;
        }
        /* Text an older version stored unchecked (issue 9.2): answers about this user fail. */
        const struct { const char *name, *value; } text[] = {
            {"username", u.username}, {"email", u.email},
            {"first_name", u.first_name}, {"last_name", u.last_name},
        };
        for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
            if (sa_text_check(text[i].value, strlen(text[i].value)) != SA_TEXT_OK)
                problem(v, "user \"%s\": %s is not valid UTF-8 (repair it with socialauth "
                           "user update)", printable(&k, a), text[i].name);
        sa_user_clear(&u);
        for (size_t i = 0; i < n && st == SA_OK; i++)
            st = check_indexed(t, v, "user", &ix[i], &k, &data, false, err);
    }
    if (st == SA_OK && rc != DB_NOTFOUND)
        st = sa_store_db_fail(t->store, t, rc, err, "verify: read users");
    return sa_store_cursor_close(t, cur, st, err);
}

/* Each session: it decodes, its user exists, and it is in each of its n indexes ix. */
static sa_status check_sessions(sa_store_txn *t, verify_ctx *v, const index_spec *ix, size_t n,
                                sa_error *err)
{
    sa_store *store = t->store;
    DBC *cur = NULL;
    DBT k, data, uk, ud;
    char a[68], b[68];
    sa_status st = sa_store_cursor_open(t, store->sessions, DB_READ_COMMITTED, &cur, err);
    if (st != SA_OK)
        return st;
    memset(&k, 0, sizeof k);
    memset(&data, 0, sizeof data);
    int rc;
    while (st == SA_OK && (rc = cur->get(cur, &k, &data, DB_NEXT)) == 0) {
        tick(v);
        sa_session s;
        sa_error why = {0};
        if (sa_record_session_decode(k.data, k.size, data.data, data.size, &s, &why) != SA_OK) {
            problem(v, "session \"%s\": the record does not decode (%s)", printable(&k, a),
                    why.msg);
            continue;
        }
        sa_store_dbt(&uk, s.user_id, strlen(s.user_id));
        memset(&ud, 0, sizeof ud);
        sa_store_tdbt(store, store->users, 6, &ud);
        int got = store->users->get(store->users, t->txn, &uk, &ud, DB_READ_COMMITTED);
        sa_store_tdbt_keep(store, store->users, 6, &ud);
        if (got == DB_NOTFOUND)
            problem(v, "session \"%s\" belongs to user \"%s\", which does not exist",
                    printable(&k, a), printable(&uk, b));
        else if (got != 0)
            st = sa_store_db_fail(store, t, got, err, "verify: read user");
        for (size_t i = 0; i < n && st == SA_OK; i++)
            st = check_indexed(t, v, "session", &ix[i], &k, &data, false, err);
    }
    if (st == SA_OK && rc != DB_NOTFOUND)
        st = sa_store_db_fail(store, t, rc, err, "verify: read sessions");
    return sa_store_cursor_close(t, cur, st, err);
}

static sa_status verify_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    verify_ctx *v = ctx;
    verify_reset(v);
    const index_spec users_ix[] = {
        {"username", sa_store_index_username, v->raw_username, true, false},
        {"email", sa_store_index_email, v->raw_email, false, false},
        {"google_sub", sa_store_index_sub, v->raw_sub, false, false},
    };
    /* The expiry index's keys are unique (rounded expiry, then sid). */
    const index_spec session_ix[] = {
        {"user", sa_store_index_session_user, v->raw_session_user, true, false},
        {"expiry", sa_store_index_session_expiry, v->raw_session_expiry, false, true},
    };
    sa_status st = check_users(t, v, users_ix, 3, err);
    for (size_t i = 0; i < 3 && st == SA_OK; i++)
        st = check_index_entries(t, v, t->store->users, "user", &users_ix[i], err);
    if (st == SA_OK)
        st = check_sessions(t, v, session_ix, 2, err);
    for (size_t i = 0; i < 2 && st == SA_OK; i++)
        st = check_index_entries(t, v, t->store->sessions, "session", &session_ix[i], err);
    return st;
}

/* A second, unassociated, read-only handle on an index file. */
static int open_raw(sa_store *store, const char *file, DB **out)
{
    int rc = db_create(out, store->env, 0);
    if (rc != 0)
        return rc;
    rc = (*out)->open(*out, NULL, file, NULL, DB_UNKNOWN, DB_RDONLY | DB_AUTO_COMMIT, 0);
    if (rc != 0) {
        (*out)->close(*out, 0);
        *out = NULL;
    }
    return rc;
}

/* Contract in store.h. */
sa_status sa_store_verify(sa_store *store, sa_store_problem_fn report,
                          sa_store_progress_fn progress, void *ctx, size_t *problems,
                          sa_error *err)
{
    if (store->remote)
        return sa_store_remote_verify(store, report, ctx, problems, err);
    verify_ctx *v = calloc(1, sizeof *v);
    if (!v)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "verify: out of memory");
    v->progress = progress;
    v->progress_ctx = ctx;
    const struct { const char *file; DB **slot; } raw[] = {
        {STORE_USERNAME_INDEX, &v->raw_username},
        {"users_by_email.db", &v->raw_email},
        {"users_by_sub.db", &v->raw_sub},
        {"sessions_by_user.db", &v->raw_session_user},
        {STORE_SESSION_EXPIRY_INDEX, &v->raw_session_expiry},
    };
    const size_t nraw = sizeof raw / sizeof raw[0];
    sa_status st = SA_OK;
    for (size_t i = 0; i < nraw && st == SA_OK; i++) {
        int rc = open_raw(store, raw[i].file, raw[i].slot);
        if (rc != 0)
            st = sa_store_db_fail(store, NULL, rc, err, raw[i].file);
    }
    if (st == SA_OK)
        st = sa_store_txn_run(store, verify_txn, v, 0, err);
    /* Usernames that differ only in case (an older store's, issue 8.3): each is a problem to
     * resolve by renaming (README), though both users keep working. */
    sa_username_variant *var = NULL;
    size_t nvar = 0;
    if (st == SA_OK)
        st = sa_store_username_variants(store, &var, &nvar, err);
    for (size_t i = 0; st == SA_OK && i < nvar; i++)
        problem(v, "user \"%s\": username \"%s\" differs only in case from another user's "
                   "(rename one: socialauth user update ID --username NEW)", var[i].id,
                var[i].username);
    free(var);
    if (st == SA_OK) {
        for (size_t i = 0; i < v->problems && i < VERIFY_PROBLEMS_MAX; i++)
            report(v->problem[i] ? v->problem[i] : "(out of memory)", ctx);
        if (v->problems > VERIFY_PROBLEMS_MAX)
            report("more problems than are listed", ctx);
        *problems = v->problems;
    }
    verify_reset(v);
    for (size_t i = 0; i < nraw; i++)
        if (*raw[i].slot)
            (*raw[i].slot)->close(*raw[i].slot, 0);
    free(v);
    return st;
}
