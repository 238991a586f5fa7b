/* store_user.c: users, their three unique indexes (username, lower-cased email, Google sub)
 * and Google sign-in's account resolution, on the Berkeley DB environment of store.c.
 *
 * Uniqueness: Berkeley DB refuses a duplicate key in a unique secondary with EINVAL, which
 * cannot say which field clashed, so every write first looks the new values up in the
 * indexes inside the same transaction (with write locks, DB_RMW) and answers SA_ERR_EXISTS
 * with err->msg exactly "username", "email" or "google_sub". Because the lookups keep their
 * locks until commit, a concurrent writer of the same value waits (or deadlocks and is
 * retried) and then sees the committed value. */
#include "store/store.h"
#include "store/store_internal.h"
#include "store/store_remote.h"
#include "store/store_record.h"
#include "core/text.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USERNAME_SEQUENTIAL_SUFFIXES 99   /* alice1 .. alice99, then random suffixes */
#define USERNAME_RANDOM_SUFFIXES 20

/* ---- helpers ---- */

/* A new random (version 4) UUID, lower-case with dashes. */
static sa_status user_new_id(char out[SA_ID_MAX + 1], sa_error *err)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    size_t o = 0;

    if (RAND_bytes(b, sizeof b) != 1)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: no randomness for a user id");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    for (size_t i = 0; i < sizeof b; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = '\0';
    return SA_OK;
}

static DB *user_index(sa_store *store, sa_user_key by)
{
    switch (by) {
    case SA_BY_USERNAME: return store->users_by_username;
    case SA_BY_EMAIL: return store->users_by_email;
    case SA_BY_GOOGLE_SUB: return store->users_by_sub;
    case SA_BY_ID: break;
    }
    return NULL;
}

static size_t user_key_max(sa_user_key by)
{
    switch (by) {
    case SA_BY_USERNAME: return SA_USERNAME_MAX;
    case SA_BY_EMAIL: return SA_EMAIL_MAX;
    case SA_BY_GOOGLE_SUB: return SA_SUB_MAX;
    case SA_BY_ID: break;
    }
    return SA_ID_MAX;
}

static const char *user_key_name(sa_user_key by)
{
    switch (by) {
    case SA_BY_USERNAME: return "username";
    case SA_BY_EMAIL: return "email";
    case SA_BY_GOOGLE_SUB: return "google_sub";
    case SA_BY_ID: break;
    }
    return "id";
}

/* Visit the users whose username folds to the same key as username (the duplicates of one
 * key in the case-folded index), in the index's order, with the cursor flags (0 or DB_RMW)
 * until fn returns non-zero. fn gets the primary key (id) and the record. Returns SA_OK
 * (also when there are none) or a store failure. */
typedef int (*variant_fn)(const DBT *id, const DBT *record, void *ctx);
static sa_status username_each(sa_store_txn *t, const char *username, u_int32_t flags,
                               variant_fn fn, void *ctx, sa_error *err)
{
    sa_store *store = t->store;
    char *folded;
    size_t folded_len;
    DBC *cur = NULL;
    DBT k, pk, data;
    int rc;

    if (sa_store_username_key(username, strlen(username), &folded, &folded_len) != SA_OK)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: out of memory");
    sa_status st = sa_store_cursor_open(t, store->users_by_username, 0, &cur, err);
    if (st != SA_OK) {
        free(folded);
        return st;
    }
    sa_store_dbt(&k, folded, folded_len);
    sa_store_dbt(&pk, NULL, 0);
    sa_store_dbt(&data, NULL, 0);
    for (rc = cur->pget(cur, &k, &pk, &data, DB_SET | flags); rc == 0;
         rc = cur->pget(cur, &k, &pk, &data, DB_NEXT_DUP | flags))
        if (fn(&pk, &data, ctx) != 0)
            break;
    if (rc != 0 && rc != DB_NOTFOUND)
        st = sa_store_db_fail(store, t, rc, err, "read username index");
    free(folded);
    return sa_store_cursor_close(t, cur, st, err);
}

/* username_each's visitor for lookups: the user spelled exactly as asked wins, else the
 * first variant (there is one unless the store holds case variants). */
typedef struct username_find {
    const char *username;
    sa_user *out;
    sa_status st;       /* SA_ERR_NOT_FOUND until a user is decoded */
    bool exact;
    sa_error *err;
} username_find;

static int username_find_visit(const DBT *id, const DBT *record, void *ctx)
{
    username_find *f = ctx;
    const unsigned char *name;
    size_t len;
    bool exact = sa_record_field_get(record->data, record->size, SA_FIELD_USERNAME, &name, &len) &&
                 len == strlen(f->username) && memcmp(name, f->username, len) == 0;
    if (f->st == SA_OK && !exact)
        return 0;
    sa_user_clear(f->out);
    f->st = sa_record_user_decode(id->data, id->size, record->data, record->size, f->out, f->err);
    f->exact = exact;
    return exact || f->st != SA_OK;
}

/* Read the user with key (by), into *out (google_extra must be NULL on entry).
 * SA_ERR_NOT_FOUND when absent (or when the key is empty / too long to exist). */
static sa_status user_read(sa_store_txn *t, sa_user_key by, const char *key, u_int32_t flags,
                           sa_user *out, sa_error *err)
{
    sa_store *store = t->store;
    char lower[SA_EMAIL_MAX];
    size_t len = strnlen(key, user_key_max(by) + 1);
    DBT k, pk, data;
    int rc;

    if (len == 0 || len > user_key_max(by))
        return SA_FAIL(err, SA_ERR_NOT_FOUND, "store: no user with that %s",
                       user_key_name(by));
    if (by == SA_BY_EMAIL) {
        sa_store_ascii_lower(lower, (const unsigned char *)key, len);
        key = lower;
    }
    if (by == SA_BY_USERNAME) {
        username_find f = {key, out, SA_ERR_NOT_FOUND, false, err};
        sa_status st = username_each(t, key, flags, username_find_visit, &f, err);
        if (st != SA_OK)
            return st;
        if (f.st == SA_ERR_NOT_FOUND)
            return SA_FAIL(err, SA_ERR_NOT_FOUND, "store: no user with that username");
        return f.st;
    }
    sa_store_dbt(&k, key, len);
    sa_store_dbt(&pk, NULL, 0);
    sa_store_dbt(&data, NULL, 0);
    if (by == SA_BY_ID) {
        sa_store_tdbt(store, store->users, 0, &data);
        rc = store->users->get(store->users, t->txn, &k, &data, flags);
        sa_store_tdbt_keep(store, store->users, 0, &data);
        pk = k;
    } else {
        DB *index = user_index(store, by);
        if (!index)
            return SA_FAIL(err, SA_ERR_NOT_FOUND, "store: unknown user key");
        sa_store_tdbt(store, index, 1, &pk);
        sa_store_tdbt(store, index, 2, &data);
        rc = index->pget(index, t->txn, &k, &pk, &data, flags);
        sa_store_tdbt_keep(store, index, 1, &pk);
        sa_store_tdbt_keep(store, index, 2, &data);
    }
    if (rc == DB_NOTFOUND)
        return SA_FAIL(err, SA_ERR_NOT_FOUND, "store: no user with that %s",
                       user_key_name(by));
    if (rc != 0)
        return sa_store_db_fail(store, t, rc, err, "read user");
    return sa_record_user_decode(pk.data, pk.size, data.data, data.size, out, err);
}

/* username_each's visitor for uniqueness: stops at a variant owned by another user. */
typedef struct username_taken {
    const char *self_id;
    bool taken;
} username_taken;

static int username_taken_visit(const DBT *id, const DBT *record, void *ctx)
{
    username_taken *c = ctx;
    (void)record;
    c->taken = !(id->size == strlen(c->self_id) && memcmp(id->data, c->self_id, id->size) == 0);
    return c->taken;
}

/* Whether the index `by` holds value for a user other than self_id: SA_ERR_EXISTS with
 * err->msg exactly the field name, SA_OK when free or owned by self_id. Usernames compare
 * case-folded (sa_text_casefold). Write-locks the looked-up place in the index until the
 * transaction ends. */
static sa_status user_check_free(sa_store_txn *t, sa_user_key by, const char *value,
                                 const char *self_id, sa_error *err)
{
    sa_store *store = t->store;
    DB *index = user_index(store, by);
    char lower[SA_EMAIL_MAX];
    size_t len = strnlen(value, user_key_max(by) + 1);
    DBT k, pk, data;
    int rc;

    if (len == 0 || len > user_key_max(by))
        return SA_OK;   /* not indexed; the encoder refuses over-long values */
    if (by == SA_BY_USERNAME) {
        username_taken c = {self_id, false};
        sa_status st = username_each(t, value, DB_RMW, username_taken_visit, &c, err);
        if (st != SA_OK)
            return st;
        return c.taken ? SA_FAIL(err, SA_ERR_EXISTS, "username") : SA_OK;
    }
    if (by == SA_BY_EMAIL) {
        sa_store_ascii_lower(lower, (const unsigned char *)value, len);
        value = lower;
    }
    sa_store_dbt(&k, value, len);
    sa_store_dbt(&pk, NULL, 0);
    sa_store_dbt(&data, NULL, 0);
    data.flags = DB_DBT_PARTIAL;   /* only the owner's id is needed */
    sa_store_tdbt(store, index, 3, &pk);
    sa_store_tdbt(store, index, 4, &data);
    rc = index->pget(index, t->txn, &k, &pk, &data, DB_RMW);
    sa_store_tdbt_keep(store, index, 3, &pk);
    sa_store_tdbt_keep(store, index, 4, &data);
    if (rc == DB_NOTFOUND)
        return SA_OK;
    if (rc != 0)
        return sa_store_db_fail(store, t, rc, err, "check unique field");
    if (pk.size == strlen(self_id) && memcmp(pk.data, self_id, pk.size) == 0)
        return SA_OK;
    return SA_FAIL(err, SA_ERR_EXISTS, "%s", user_key_name(by));
}

/* old: the user as stored (NULL for a new user). A username kept exactly as stored is not
 * checked again, so that both of two case variants an older store holds keep working until
 * an operator renames one (README); any change must be unique ignoring case. */
static sa_status user_check_unique(sa_store_txn *t, const sa_user *user, const sa_user *old,
                                   sa_error *err)
{
    sa_status st = user_check_free(t, SA_BY_GOOGLE_SUB, user->google_sub, user->id, err);
    if (st == SA_OK)
        st = user_check_free(t, SA_BY_EMAIL, user->email, user->id, err);
    if (st == SA_OK && !(old && strcmp(old->username, user->username) == 0))
        st = user_check_free(t, SA_BY_USERNAME, user->username, user->id, err);
    return st;
}

/* Write the record (indexes follow through associate). flags: DB_NOOVERWRITE for new users
 * (SA_ERR_EXISTS "id" when a new user's id is taken); 0 to overwrite an existing one, which
 * leaves the indexes whose key did not change unlocked (sa_store_record_replace). */
static sa_status user_write(sa_store_txn *t, const sa_user *user, u_int32_t flags,
                            sa_error *err)
{
    sa_record rec = {NULL, 0};
    sa_status st = sa_record_user_encode(user, &rec, err);
    if (st == SA_OK && flags == DB_NOOVERWRITE)
        st = sa_store_record_put(t, t->store->users, user->id, &rec, flags, "id",
                                 "write user", err);
    else if (st == SA_OK)
        st = sa_store_record_replace(t, t->store->users, user->id, &rec,
                                     "store: no such user", "write user", err);
    sa_record_free(&rec);
    return st;
}

/* Fields every stored user must have: a non-empty id and username within bounds (the other
 * bounds are the encoder's). */
static sa_status user_validate(const sa_user *user, sa_error *err)
{
    size_t id = strnlen(user->id, sizeof user->id);
    if (id == 0)
        return SA_FAIL(err, SA_ERR_INVALID, "id is empty");
    if (id > SA_ID_MAX)
        return SA_FAIL(err, SA_ERR_INVALID, "id is longer than %d bytes", SA_ID_MAX);
    if (user->username[0] == '\0')
        return SA_FAIL(err, SA_ERR_INVALID, "username is empty");
    return SA_OK;
}

/* ---- get ---- */

typedef struct get_ctx {
    sa_user_key by;
    const char *key;
    sa_user *out;
} get_ctx;

static sa_status user_get_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    get_ctx *c = ctx;
    sa_user_clear(c->out);
    return user_read(t, c->by, c->key, 0, c->out, err);
}

/* Contract: SA_OK with *out filled (its previous google_extra freed); SA_ERR_NOT_FOUND (no
 * such user, or an empty / over-long key); SA_ERR_UNAVAILABLE, SA_ERR_FATAL. */
sa_status sa_store_user_get(sa_store *store, sa_user_key by, const char *key, sa_user *out,
                            sa_error *err)
{
    if (store->remote)
        return sa_store_remote_user_get(store, by, key, out, err);
    get_ctx c = {by, key ? key : "", out};
    /* By id, e-mail or sub one get (a secondary's pget included): no transaction needed. By
     * username a cursor visits the case variants: those reads share one transaction. */
    sa_status st = by == SA_BY_USERNAME ? sa_store_txn_run(store, user_get_txn, &c, 0, err)
                                        : sa_store_read_run(store, user_get_txn, &c, err);
    if (st != SA_OK) {
        sa_user_clear(out);
        memset(out, 0, sizeof *out);
    }
    return st;
}

/* ---- create / update / delete ---- */

static sa_status user_create_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    const sa_user *user = ctx;
    sa_status st = user_check_unique(t, user, NULL, err);
    if (st == SA_OK)
        st = user_write(t, user, DB_NOOVERWRITE, err);
    return st;
}

/* Contract: SA_OK with user->id (when it was empty: a new UUID4) and user->date_joined
 * (when 0: now) filled, committed with a synchronous log flush; SA_ERR_INVALID (empty
 * username, a field too long); SA_ERR_EXISTS (err->msg "id", "username", "email" or
 * "google_sub"; nothing written); SA_ERR_UNAVAILABLE, SA_ERR_FATAL. On failure *user is
 * as it was. */
sa_status sa_store_user_create(sa_store *store, sa_user *user, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_user_create(store, user, err);
    char saved_id[SA_ID_MAX + 1];
    int64_t saved_joined = user->date_joined;
    sa_status st;

    memcpy(saved_id, user->id, sizeof saved_id);
    if (user->id[0] == '\0') {
        st = user_new_id(user->id, err);
        if (st != SA_OK)
            goto fail;
    }
    if (user->date_joined == 0)
        user->date_joined = (int64_t)time(NULL);
    st = user_validate(user, err);
    if (st == SA_OK)
        st = sa_store_txn_run(store, user_create_txn, user, DB_TXN_SYNC, err);
    if (st == SA_OK)
        return SA_OK;
fail:
    memcpy(user->id, saved_id, sizeof saved_id);
    user->date_joined = saved_joined;
    return st;
}

static sa_status user_update_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    const sa_user *user = ctx;
    sa_user old = {0};
    sa_status st = user_read(t, SA_BY_ID, user->id, DB_RMW, &old, err);
    if (st == SA_OK)
        st = user_check_unique(t, user, &old, err);
    sa_user_clear(&old);
    if (st == SA_OK)
        st = user_write(t, user, 0, err);
    return st;
}

/* Contract: SA_OK when the record with user->id was replaced (indexes follow: an old
 * username or email becomes free); SA_ERR_NOT_FOUND (no such id); SA_ERR_INVALID;
 * SA_ERR_EXISTS (err->msg names the field; nothing written); SA_ERR_UNAVAILABLE,
 * SA_ERR_FATAL. */
sa_status sa_store_user_update(sa_store *store, const sa_user *user, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_user_update(store, user, err);
    sa_status st = user_validate(user, err);
    if (st != SA_OK)
        return st;
    return sa_store_txn_run(store, user_update_txn, (void *)user, 0, err);
}

typedef struct import_ctx {
    const sa_user *user;
    sa_user merged;        /* what is written: the import, with the stored Google link */
    bool created;
} import_ctx;

static sa_status user_import_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    import_ctx *c = ctx;
    sa_user old = {0};
    sa_status st = user_read(t, SA_BY_ID, c->user->id, DB_RMW, &old, err);
    if (st != SA_OK && st != SA_ERR_NOT_FOUND)
        return st;
    c->created = st == SA_ERR_NOT_FOUND;
    memcpy(&c->merged, c->user, sizeof c->merged);
    if (!c->created && !c->user->google_sub[0]) {
        memcpy(c->merged.google_sub, old.google_sub, sizeof old.google_sub);
        c->merged.google_extra = old.google_extra;
    }
    st = user_check_unique(t, &c->merged, c->created ? NULL : &old, err);
    if (st == SA_OK)
        st = user_write(t, &c->merged, c->created ? DB_NOOVERWRITE : 0, err);
    t->commit_flags = DB_TXN_WRITE_NOSYNC;
    sa_user_clear(&old);
    return st;
}

/* Contract in store.h. */
sa_status sa_store_user_import(sa_store *store, const sa_user *user, bool *created,
                               sa_error *err)
{
    if (store->remote)
        return sa_store_remote_user_import(store, user, created, err);
    import_ctx c;
    memset(&c, 0, sizeof c);
    c.user = user;
    sa_status st = user_validate(user, err);
    if (st == SA_OK && !user->id[0])
        st = SA_FAIL(err, SA_ERR_INVALID, "store: an imported user needs its id");
    if (st == SA_OK)
        st = sa_store_txn_run(store, user_import_txn, &c, DB_TXN_WRITE_NOSYNC, err);
    if (st == SA_OK)
        *created = c.created;
    return st;
}

static sa_status user_delete_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    const char *id = ctx;
    sa_store *store = t->store;
    DBT k;
    int rc;

    sa_store_dbt(&k, id, strlen(id));
    rc = store->users->del(store->users, t->txn, &k, 0);
    if (rc == DB_NOTFOUND)
        return SA_FAIL(err, SA_ERR_NOT_FOUND, "store: no user with that id");
    if (rc != 0)
        return sa_store_db_fail(store, t, rc, err, "delete user");
    return sa_store_session_delete_user(t, id, err);
}

/* Contract: SA_OK when the user, its index entries and all its sessions are gone;
 * SA_ERR_NOT_FOUND (no such id); SA_ERR_UNAVAILABLE, SA_ERR_FATAL. */
sa_status sa_store_user_delete(sa_store *store, const char *id, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_user_delete(store, id, err);
    size_t len = id ? strnlen(id, SA_ID_MAX + 1) : 0;
    if (len == 0 || len > SA_ID_MAX)
        return SA_FAIL(err, SA_ERR_NOT_FOUND, "store: no user with that id");
    return sa_store_txn_run(store, user_delete_txn, (void *)id, 0, err);
}

/* ---- each ---- */

typedef struct each_ctx {
    char last[SA_ID_MAX + 1];   /* id of the previous user, "" before the first */
    bool have_last;
    sa_user user;               /* the next user, valid when found */
    bool found;
} each_ctx;

/* One step: find the first user after c->last. */
static sa_status user_next_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    each_ctx *c = ctx;
    sa_store *store = t->store;
    DBC *cur = NULL;
    DBT k, data;
    sa_status st = SA_OK;
    int rc;

    sa_user_clear(&c->user);
    c->found = false;
    st = sa_store_cursor_open(t, store->users, 0, &cur, err);
    if (st != SA_OK)
        return st;
    sa_store_dbt(&k, c->last, strlen(c->last));
    sa_store_dbt(&data, NULL, 0);
    if (!c->have_last) {
        rc = cur->get(cur, &k, &data, DB_FIRST);
    } else {
        rc = cur->get(cur, &k, &data, DB_SET_RANGE);
        if (rc == 0 && k.size == strlen(c->last) && memcmp(k.data, c->last, k.size) == 0)
            rc = cur->get(cur, &k, &data, DB_NEXT);
    }
    if (rc == 0) {
        st = sa_record_user_decode(k.data, k.size, data.data, data.size, &c->user, err);
        c->found = st == SA_OK;
    } else if (rc != DB_NOTFOUND) {
        st = sa_store_db_fail(store, t, rc, err, "read users");
    }
    return sa_store_cursor_close(t, cur, st, err);
}

/* Contract: SA_OK after fn saw every user in id order or returned non-zero; SA_ERR_UNAVAILABLE
 * or SA_ERR_FATAL on store trouble. Each user is read in its own short transaction and fn is
 * called outside any transaction, so fn may itself use the store (changes made meanwhile
 * may or may not be seen). */
sa_status sa_store_user_each(sa_store *store, sa_user_visit_fn fn, void *ctx, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_user_each(store, fn, ctx, err);
    each_ctx *c = calloc(1, sizeof *c);
    sa_status st = SA_OK;

    if (!c)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: out of memory");
    for (;;) {
        st = sa_store_txn_run(store, user_next_txn, c, 0, err);
        if (st != SA_OK || !c->found)
            break;
        memcpy(c->last, c->user.id, sizeof c->last);
        c->have_last = true;
        if (fn(&c->user, ctx) != 0)
            break;
    }
    sa_user_clear(&c->user);
    free(c);
    return st;
}

/* ---- case variants ---- */

typedef struct variants_ctx {
    sa_username_variant *v;
    size_t n, cap, groups;
} variants_ctx;

static sa_status variants_add(variants_ctx *c, const DBT *id, const DBT *record, size_t group,
                              sa_error *err)
{
    const unsigned char *name;
    size_t len;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        sa_username_variant *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: out of memory");
        c->v = v;
        c->cap = cap;
    }
    sa_username_variant *e = &c->v[c->n++];
    memset(e, 0, sizeof *e);
    if (id->size <= SA_ID_MAX)
        memcpy(e->id, id->data, id->size);
    if (sa_record_field_get(record->data, record->size, SA_FIELD_USERNAME, &name, &len))
        memcpy(e->username, name, len);
    e->group = group;
    return SA_OK;
}

/* One pass over the case-folded index: keys with duplicates are the variants. */
static sa_status variants_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    variants_ctx *c = ctx;
    DBC *cur = NULL;
    DBT k, pk, data;
    db_recno_t dups = 0;
    sa_status st;
    int rc;

    c->n = 0;
    c->groups = 0;
    st = sa_store_cursor_open(t, t->store->users_by_username, 0, &cur, err);
    if (st != SA_OK)
        return st;
    sa_store_dbt(&k, NULL, 0);
    sa_store_dbt(&pk, NULL, 0);
    sa_store_dbt(&data, NULL, 0);
    while (st == SA_OK && (rc = cur->pget(cur, &k, &pk, &data, DB_NEXT)) == 0) {
        if (cur->count(cur, &dups, 0) != 0 || dups < 2)
            continue;
        /* The first of a group: take it and its duplicates. */
        size_t group = ++c->groups;
        do
            st = variants_add(c, &pk, &data, group, err);
        while (st == SA_OK && (rc = cur->pget(cur, &k, &pk, &data, DB_NEXT_DUP)) == 0);
        if (st == SA_OK && rc != DB_NOTFOUND)
            st = sa_store_db_fail(t->store, t, rc, err, "read username index");
    }
    if (st == SA_OK && rc != DB_NOTFOUND)
        st = sa_store_db_fail(t->store, t, rc, err, "read username index");
    return sa_store_cursor_close(t, cur, st, err);
}

/* Contract: see store.h. */
sa_status sa_store_username_variants(sa_store *store, sa_username_variant **out, size_t *count,
                                     sa_error *err)
{
    if (store->remote)
        return sa_store_remote_username_variants(store, out, count, err);
    variants_ctx c = {0};
    sa_status st = sa_store_txn_run(store, variants_txn, &c, 0, err);
    *out = NULL;
    *count = 0;
    if (st != SA_OK || c.n == 0) {
        free(c.v);
        return st;
    }
    *out = c.v;
    *count = c.n;
    return SA_OK;
}

/* ---- Google sign-in ---- */

typedef struct login_ctx {
    const sa_user *candidate;
    bool link_email;
    int64_t now;
    sa_session *session;
    sa_user *out;
    sa_login_outcome outcome;
} login_ctx;

static sa_status replace_extra(sa_user *user, const char *extra, sa_error *err)
{
    char *copy = NULL;
    if (!extra)
        return SA_OK;   /* nothing new from Google: keep what is stored */
    size_t n = strnlen(extra, SA_RECORD_EXTRA_MAX + 1);
    if (n > SA_RECORD_EXTRA_MAX)
        return SA_FAIL(err, SA_ERR_INVALID, "google_extra is longer than %d bytes",
                       SA_RECORD_EXTRA_MAX);
    copy = malloc(n + 1);
    if (!copy)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: out of memory");
    memcpy(copy, extra, n);
    copy[n] = '\0';
    free(user->google_extra);
    user->google_extra = copy;
    return SA_OK;
}

/* Decimal digits of v into out (no NUL); returns the count. */
static size_t put_decimal(char *out, unsigned long v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof tmp);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Make user->username unique: as is, else with a numeric suffix (base truncated so the
 * result stays within SA_USERNAME_MAX): 1..99 in order, then random ones.
 * SA_ERR_EXISTS "username" if all are taken. */
static sa_status login_unique_username(sa_store_txn *t, sa_user *user, sa_error *err)
{
    char base[SA_USERNAME_MAX + 1];
    size_t base_len = strnlen(user->username, SA_USERNAME_MAX);
    sa_status st;

    if (base_len == 0) {
        memcpy(base, "user", sizeof "user");
        base_len = sizeof "user" - 1;
    } else {
        memcpy(base, user->username, base_len);
        base[base_len] = '\0';
    }
    memcpy(user->username, base, base_len + 1);
    st = user_check_free(t, SA_BY_USERNAME, user->username, user->id, err);
    for (unsigned long i = 1;
         st == SA_ERR_EXISTS && i <= USERNAME_SEQUENTIAL_SUFFIXES + USERNAME_RANDOM_SUFFIXES;
         i++) {
        unsigned long suffix = i;
        char digits[24];
        if (i > USERNAME_SEQUENTIAL_SUFFIXES) {
            unsigned char r[4];
            if (RAND_bytes(r, sizeof r) != 1)
                return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: no randomness");
            suffix = 100 + (((unsigned long)r[0] << 24 | (unsigned long)r[1] << 16 |
                             (unsigned long)r[2] << 8 | r[3]) % 99999900UL);
        }
        size_t nd = put_decimal(digits, suffix);
        /* Within SA_USERNAME_CHARS characters, the base cut at a character boundary. */
        size_t keep = sa_text_cut(base, base_len, SA_USERNAME_CHARS - nd);
        memcpy(user->username, base, keep);
        memcpy(user->username + keep, digits, nd);
        user->username[keep + nd] = '\0';
        st = user_check_free(t, SA_BY_USERNAME, user->username, user->id, err);
    }
    return st;
}

static sa_status login_txn(sa_store_txn *t, void *ctx, sa_error *err)
{
    login_ctx *c = ctx;
    const sa_user *cand = c->candidate;
    sa_user u = {0};
    sa_status st;

    c->outcome = SA_LOGIN_EXISTING;
    sa_user_clear(c->out);
    memset(c->out, 0, sizeof *c->out);

    /* 1. The sub is the stable link. */
    st = user_read(t, SA_BY_GOOGLE_SUB, cand->google_sub, DB_RMW, &u, err);
    if (st == SA_OK) {
        c->outcome = SA_LOGIN_EXISTING;
        /* Security: a disabled account is returned untouched; the caller refuses it. */
        if (u.is_active) {
            u.last_login = c->now;
            st = replace_extra(&u, cand->google_extra, err);
            if (st == SA_OK)
                st = user_write(t, &u, 0, err);
        }
        goto done;
    }
    if (st != SA_ERR_NOT_FOUND)
        goto done;

    /* 2. Someone owns the email. */
    st = cand->email[0] ? user_read(t, SA_BY_EMAIL, cand->email, DB_RMW, &u, err)
                        : SA_ERR_NOT_FOUND;
    if (st == SA_OK) {
        /* Security: linking by email only when the caller says Google verified it, and
         * never over another Google account's link. */
        if (!c->link_email || u.google_sub[0] != '\0') {
            c->outcome = SA_LOGIN_EMAIL_TAKEN;
            st = SA_FAIL(err, SA_ERR_EXISTS, "email");
            goto done;
        }
        c->outcome = SA_LOGIN_LINKED;
        memcpy(u.google_sub, cand->google_sub, sizeof u.google_sub);
        u.last_login = c->now;
        st = replace_extra(&u, cand->google_extra, err);
        if (st == SA_OK)
            st = user_check_free(t, SA_BY_GOOGLE_SUB, u.google_sub, u.id, err);
        if (st == SA_OK)
            st = user_write(t, &u, 0, err);
        goto done;
    }
    if (st != SA_ERR_NOT_FOUND)
        goto done;

    /* 3. A new user. */
    c->outcome = SA_LOGIN_CREATED;
    memcpy(&u, cand, sizeof u);
    u.google_extra = NULL;
    st = replace_extra(&u, cand->google_extra, err);
    if (st == SA_OK && u.id[0] == '\0')
        st = user_new_id(u.id, err);
    if (st != SA_OK)
        goto done;
    if (u.date_joined == 0)
        u.date_joined = c->now;
    u.last_login = c->now;
    st = login_unique_username(t, &u, err);
    if (st == SA_OK)
        st = user_validate(&u, err);
    if (st == SA_OK)
        st = user_write(t, &u, DB_NOOVERWRITE, err);

done:
    if (st == SA_OK && c->outcome == SA_LOGIN_EXISTING && !t->store->sync_rotation)
        t->commit_flags = DB_TXN_WRITE_NOSYNC; /* only last_login and a session change */
    if (st == SA_OK && c->session && u.is_active) {
        memcpy(c->session->user_id, u.id, sizeof c->session->user_id);
        st = sa_store_session_insert(t, c->session, err);
    }
    if (st == SA_OK) {
        *c->out = u;   /* ownership of google_extra moves to out */
        return SA_OK;
    }
    sa_user_clear(&u);
    return st;
}

/* Contract: SA_OK with *out the stored user and *outcome EXISTING (inactive users are
 * returned unchanged), LINKED or CREATED; SA_ERR_EXISTS with *outcome SA_LOGIN_EMAIL_TAKEN
 * and err->msg "email" (nothing written; also when the email's owner is linked to another
 * Google account); SA_ERR_INVALID (no sub, a field too long); SA_ERR_UNAVAILABLE,
 * SA_ERR_FATAL. New users commit with a synchronous log flush. */
sa_status sa_store_google_login(sa_store *store, const sa_user *candidate, bool link_email,
                                int64_t now, sa_session *session, sa_user *out,
                                sa_login_outcome *outcome, sa_error *err)
{
    if (store->remote)
        return sa_store_remote_google_login(store, candidate, link_email, now, session, out, outcome, err);
    login_ctx c = {candidate, link_email, now, session, out, SA_LOGIN_EXISTING};
    size_t sub = strnlen(candidate->google_sub, sizeof candidate->google_sub);
    sa_status st;

    if (sub == 0 || sub > SA_SUB_MAX)
        return SA_FAIL(err, SA_ERR_INVALID, "google_sub is empty or too long");
    st = sa_store_txn_run(store, login_txn, &c, DB_TXN_SYNC, err);
    if (st != SA_OK) {
        sa_user_clear(out);
        memset(out, 0, sizeof *out);
    }
    if (st == SA_OK || c.outcome == SA_LOGIN_EMAIL_TAKEN)
        *outcome = c.outcome;
    return st;
}
