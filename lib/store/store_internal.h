/* store_internal.h: what store*.c share and nobody else sees (the Berkeley DB side of store.h).
 *
 * Transactions: every operation is a function of the sa_store_txn_fn shape, run by
 * sa_store_txn_run(), which begins the transaction, commits on SA_OK, aborts otherwise, and
 * re-runs the whole function (bounded, with a short randomised backoff) when Berkeley DB
 * chose it as a deadlock victim. A transaction function must therefore produce its outputs
 * only from what it read in that attempt (clear them first), and must report every Berkeley
 * DB error through sa_store_db_fail(), which is what notices deadlocks and DB_RUNRECOVERY. */
#ifndef SA_STORE_INTERNAL_H
#define SA_STORE_INTERNAL_H

#include <db.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/sa_error.h"
#include "store/store.h"
#include "store/store_record.h"

#define SA_STORE_TRIES 10

/* How every process opens the environment (store.c's opening comment says why there is
 * no DB_REGISTER): recovery is asked for (DB_RECOVER added) only by
 * sa_store_open(), when store.c's rules say it is needed. */
#define SA_STORE_ENV_FLAGS \
    (DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL)

/* Lock db_home/open.lock exclusively (waiting): whoever opens the environment holds it
 * through DB_ENV->open, so that nobody joins while another process recovers. Returns the
 * descriptor (close it to unlock) or -1 with errno. */
int sa_store_open_gate(const char *home);

/* Configure a DB_ENV before DB_ENV->open the way every process must (cache, log size, lock
 * detection and timeout, and the thread tracking failchk needs: set_thread_count and an
 * is_alive that asks the kernel). Returns a Berkeley DB error code. */
int sa_store_env_setup(DB_ENV *env);

/* Look for processes that died with the environment open and clean up after them: abort
 * their transactions, release their locks (DB_ENV->failchk). SA_OK, or SA_ERR_FATAL when one
 * died inside the library (the environment is panicked and needs recovery; store->fatal). */
sa_status sa_store_failchk(sa_store *store, sa_error *err);

struct sa_store {
    DB_ENV *env;
    DB *users;              /* id -> user record */
    DB *users_by_username;  /* username -> id (unique) */
    DB *users_by_email;     /* lower-cased email -> id (unique; empty not indexed) */
    DB *users_by_sub;       /* google sub -> id (unique; empty not indexed) */
    DB *sessions;           /* sid -> session record */
    DB *sessions_by_user;   /* user_id -> sid (duplicates, sorted) */
    DB *sessions_by_expiry; /* rounded expires_at + sid -> sid (sa_store_index_session_expiry) */
    DB *meta;               /* "format", "google_keys" -> records */
    DB *jtis;               /* jti of a refresh token without sid -> jti record */
    DB *jtis_by_expiry;     /* encoded expires_at -> jti (duplicates, sorted) */
    DB *not_before;         /* user id -> not-before record */
    bool sync_rotation;
    bool username_index_built; /* this open built users_by_username_ci.db (an upgrade) */
    char home[4096];        /* db_home, for the checkpoint child and its lock file */
    int users_fd;           /* db_home/env.lock, held shared while the environment is open */
    dev_t region_dev;       /* the primary region file (__db.001) this handle attached to: */
    ino_t region_ino;       /*   another file there means the environment was recovered */
    atomic_bool region_known;
    atomic_llong busy_since_ms; /* monotonic ms since this process entered the library for */
    atomic_int busy_kind;       /*   what (STORE_BUSY_...), 0 when it is not inside */
    bool watching;          /* the watchdog thread runs (store.c) */
    bool watch_stop;
    pthread_t watchdog;
    pthread_mutex_t watch_mutex;
    pthread_cond_t watch_cond;
    pid_t checkpoint_child; /* running background checkpoint, 0 when none */
    int64_t failchk_at;     /* when upkeep last ran failchk (unix seconds) */
    bool fatal;             /* DB_RUNRECOVERY or a panic was seen: every call fails */
    uint64_t jitter;        /* xorshift state for retry backoff */
    char db_message[160];   /* Berkeley DB's last error message (errcall) */
    struct sa_store_rep *rep;       /* the replicated environment of `socialauth node`
                                       (store_rep.c), NULL when embedded */
    struct sa_store_remote *remote; /* store_backend = node: every call goes to the node's
                                       socket (store_remote.c); no env then */
    atomic_bool handles_dead;       /* DB_REP_HANDLE_DEAD seen: reopen the databases */
};

/* What the last transactions of this thread left for the node protocol's answer
 * (store_exec.c): whether the replication manager reported DB_EVENT_REP_PERM_FAILED (its
 * event runs in the committing thread), and the commit token of the last write committed on
 * a master (DB_TXN->set_commit_token). Reset by the caller before a request. */
typedef struct sa_store_commit {
    bool perm_failed;
    bool token_set;
    DB_TXN_TOKEN token;
} sa_store_commit;
extern _Thread_local sa_store_commit sa_store_commit_note;



enum { STORE_BUSY_NONE, STORE_BUSY_TXN, STORE_BUSY_CLEANUP };

typedef struct sa_store_txn {
    sa_store *store;
    DB_TXN *txn;
    uint32_t commit_flags;  /* a transaction function may change it (rotation's sync) */
    bool retry;             /* set by sa_store_db_fail() on a deadlock */
    bool lock_timeout;      /* a lock wait timed out: its holder may be dead (failchk) */
} sa_store_txn;

typedef sa_status (*sa_store_txn_fn)(sa_store_txn *t, void *ctx, sa_error *err);

/* Run fn in a transaction (see above). Returns fn's status, SA_ERR_UNAVAILABLE after
 * SA_STORE_TRIES deadlocks or a failed begin/commit, SA_ERR_FATAL once recovery is needed. */
sa_status sa_store_txn_run(sa_store *store, sa_store_txn_fn fn, void *ctx,
                           uint32_t commit_flags, sa_error *err);

/* Run fn, which makes exactly one read (one DB->get, or one DB->pget on an index: the index
 * entry, then its primary record), without a transaction: t->txn is NULL. Berkeley DB still
 * locks (DB_INIT_LOCK): the read takes its page locks for that get alone, and a writer keeps
 * its write locks until it commits or aborts, so the read waits for it and sees committed
 * records only (tests/unit/test_store.c, test_session_read_sees_committed_only); like any
 * locking read it may meet DB_LOCK_DEADLOCK or DB_LOCK_NOTGRANTED, retried here as
 * sa_store_txn_run retries them (Berkeley DB 5.3 Programmer's Reference, Transactional Data
 * Store Applications, "Degrees of isolation": reads need a transaction only to be repeatable;
 * outside one they still lock and must retry a deadlock). Two reads that must agree (a cursor
 * over a username's case variants) need sa_store_txn_run. Saves a transaction's begin and
 * commit on every request that reads a session or a user (callgrind: ~4,600 instructions
 * each). Statuses as sa_store_txn_run: SA_OK, fn's own error (err as fn left it),
 * SA_ERR_UNAVAILABLE (busy after SA_STORE_TRIES deadlocks, or a Berkeley DB error; err says
 * which), SA_ERR_FATAL (the environment needs recovery). */
sa_status sa_store_read_run(sa_store *store, sa_store_txn_fn fn, void *ctx, sa_error *err);

/* Map a Berkeley DB return code to a status and fill err ("store: <what>: <reason>"):
 *   DB_NOTFOUND -> SA_ERR_NOT_FOUND, DB_KEYEXIST -> SA_ERR_EXISTS,
 *   DB_LOCK_DEADLOCK / DB_LOCK_NOTGRANTED -> SA_ERR_UNAVAILABLE with t->retry set (and
 *   t->lock_timeout for DB_LOCK_NOTGRANTED: lock waits time out with it, DB_TIME_NOTGRANTED),
 *   DB_RUNRECOVERY -> SA_ERR_FATAL (and the store stays fatal), anything else ->
 *   SA_ERR_UNAVAILABLE. t may be NULL outside a transaction. */
sa_status sa_store_db_fail(sa_store *store, sa_store_txn *t, int rc, sa_error *err,
                           const char *what);

/* Free-threaded handles (`socialauth node` opens its environment DB_THREAD, which repmgr
 * requires) refuse DB->get/pget without an allocation flag. Around such a call on a
 * replicated store, sa_store_tdbt() points dbt at this thread's buffer for (db, role) with
 * DB_DBT_REALLOC (keeping DB_DBT_PARTIAL), and sa_store_tdbt_keep() remembers the buffer
 * Berkeley DB left there: the data stays valid until the next call for (db, role) in this
 * thread, as Berkeley DB's own memory does until the next call on db. Nothing changes on an
 * embedded store. sa_store_thread_end() frees the calling thread's buffers. */
void sa_store_tdbt(const sa_store *store, const void *db, int role, DBT *dbt);
void sa_store_tdbt_keep(const sa_store *store, const void *db, int role, const DBT *dbt);
void sa_store_thread_end(void);

/* A DBT over caller memory (nothing allocated). */
void sa_store_dbt(DBT *dbt, const void *data, size_t len);

/* Read the record under key in db inside t into *data (Berkeley DB's memory, valid until
 * the next call on db). Contract: SA_OK; SA_ERR_NOT_FOUND with err->msg exactly missing;
 * otherwise sa_store_db_fail()'s status for what ("read session"). */
sa_status sa_store_record_get(sa_store_txn *t, DB *db, const char *key, u_int32_t flags,
                              DBT *data, const char *missing, const char *what, sa_error *err);

/* Write rec (an encoded record, still the caller's to free) under key in db inside t; the
 * associated indexes follow. Contract: SA_OK; SA_ERR_EXISTS with err->msg exactly key_name
 * ("id", "sid") when flags hold DB_NOOVERWRITE and key is taken; SA_ERR_UNAVAILABLE with
 * t->retry set when a unique index refused a value (Berkeley DB says EINVAL: callers check
 * uniqueness first in the same transaction, so only a race gets here, and the retry's check
 * names the field); otherwise sa_store_db_fail()'s status for what ("write session"). */
sa_status sa_store_record_put(sa_store_txn *t, DB *db, const char *key, const sa_record *rec,
                              u_int32_t flags, const char *key_name, const char *what,
                              sa_error *err);

/* Overwrite the existing record under key in db inside t with rec (still the caller's to
 * free), through a cursor put at the record (DBC->put DB_CURRENT), not DB->put. Why: with
 * DB_CURRENT Berkeley DB has the old record before it touches the indexes, so an index whose
 * key did not change is skipped without a lock; DB->put write-locks a leaf of every index
 * (it re-inserts the unchanged pair), and the commits of rotations of different sessions
 * then queue on the same index page for the length of each one's log flush (Berkeley DB
 * reference, "Secondary indexes"; DBC->put). Contract: SA_OK; SA_ERR_NOT_FOUND with
 * err->msg exactly missing (nothing written); SA_ERR_UNAVAILABLE with t->retry set when a
 * unique index refused a value (as sa_store_record_put); otherwise sa_store_db_fail()'s
 * status for what ("write session"). */
sa_status sa_store_record_replace(sa_store_txn *t, DB *db, const char *key,
                                  const sa_record *rec, const char *missing, const char *what,
                                  sa_error *err);

/* Open a cursor on db inside t (flags: 0 or DB_READ_COMMITTED). Contract: SA_OK with *cur
 * set; otherwise sa_store_db_fail()'s status for "open cursor", *cur NULL. */
sa_status sa_store_cursor_open(sa_store_txn *t, DB *db, u_int32_t flags, DBC **cur,
                               sa_error *err);

/* Close cur (released even when closing fails). Contract: returns st, or, when st is SA_OK
 * and the close failed, sa_store_db_fail()'s status for "close cursor". */
sa_status sa_store_cursor_close(sa_store_txn *t, DBC *cur, sa_status st, sa_error *err);

/* SA_ERR_FATAL with the message every call gives once the environment needs recovery
 * (store->fatal): run the command, or restart the program, again. */
sa_status sa_store_fatal_status(sa_error *err);

/* The body of a secondary-key callback: result points at field inside the record data (no
 * copy). Returns 0, DB_DONOTINDEX when the field is empty (not indexed), EINVAL when data is
 * not a record of the field's kind. */
int sa_store_index_field(const DBT *data, sa_record_field field, DBT *result);

/* The username index's key for username (len bytes): its case-folded form, or its bytes
 * when they are not valid UTF-8. Returns SA_OK with *out malloc'd (*out_len bytes, NUL
 * after them), or SA_ERR_NOMEM. */
sa_status sa_store_username_key(const char *username, size_t len, char **out, size_t *out_len);
/* The email index's key: src's len bytes with ASCII A-Z lower-cased into dst (len bytes). */
void sa_store_ascii_lower(char *dst, const unsigned char *src, size_t len);

/* Secondary-key callbacks (store_index.c), given to DB->associate by sa_store_open(). */
int sa_store_index_username(DB *sdb, const DBT *key, const DBT *data, DBT *result);
int sa_store_index_email(DB *sdb, const DBT *key, const DBT *data, DBT *result);
int sa_store_index_sub(DB *sdb, const DBT *key, const DBT *data, DBT *result);
int sa_store_index_session_user(DB *sdb, const DBT *key, const DBT *data, DBT *result);
/* The session expiry index's key: the session's expires_at rounded UP to a multiple of a
 * step (order-preserving i64), then its sid (key's bytes), malloc'd (DB_DBT_APPMALLOC). The
 * step is a STORE_EXPIRY_STEPS-th of its refresh token's lifetime (expires_at -
 * current_iat, both from data, seconds), at least 1 second and at most
 * STORE_EXPIRY_STEP_MAX; 1 second when that lifetime is not positive or not below
 * INT64_MAX / 2 (times no setting allows: lifetimes are at most 10 years). A key near
 * INT64_MAX that would round past it is INT64_MAX.
 * - Up, so that purging keys below a cutoff never removes a session before its expires_at:
 *   a session is purged at most a step (1/24 of its lifetime, an hour at most) after
 *   expires_at + leeway.
 * - Rounded, so that a rotation, which moves expires_at by less than a step in most cases,
 *   leaves the key as it was: the index is then not written at all
 *   (sa_store_record_replace).
 * - Then the sid, so that keys are unique and the sessions created in one step spread over
 *   the index's pages by sid: with duplicates of one key, Berkeley DB locks the one page
 *   holding that key for every insert, and concurrent sign-ins would queue there for each
 *   other's log flush.
 * The step comes from the record alone, so the key of an old record is computed again
 * exactly. Returns 0; EINVAL when data is not a session record or key is longer than a sid;
 * ENOMEM. */
int sa_store_index_session_expiry(DB *sdb, const DBT *key, const DBT *data, DBT *result);
int sa_store_index_jti_expiry(DB *sdb, const DBT *key, const DBT *data, DBT *result);

/* Delete, inside t, at most limit primary records whose key in by_expiry (an index whose
 * keys begin with an order-preserving i64 time, sa_record_i64_put: a token's exp, or a
 * session's rounded up) is < now - leeway (seconds;
 * negative counts as 0), oldest first; *purged says how many. A token is accepted until
 * exp + leeway (api.html#tokens), so what the store remembers about it outlives that.
 * The common case, nothing expired, is one read whose lock is released at once.
 * Contract: SA_OK; sa_store_db_fail()'s status when a cursor call fails. */
sa_status sa_store_purge_expired(sa_store_txn *t, DB *by_expiry, int64_t now, int64_t leeway,
                                 size_t limit, size_t *purged, sa_error *err);

/* How many keys db holds (a walk of the whole database: admin and tests only). */
sa_status sa_store_count_keys(sa_store_txn *t, DB *db, size_t *count, sa_error *err);

/* ---- sessions inside a caller's transaction (store_session.c; used by store_sidless.c) ---- */

/* Read session sid inside t (flags 0 or DB_RMW). Contract: SA_OK; SA_ERR_NOT_FOUND;
 * decoding and store failures. */
sa_status sa_store_session_read(sa_store_txn *t, const char *sid, u_int32_t flags,
                                sa_session *out, sa_error *err);

/* Rotation's decision for s (read with DB_RMW inside t) and presented_jti, as
 * sa_store_session_rotate() describes, writing s when it changes; with next NULL nothing
 * rotates: *result is SA_ROTATE_KEPT, or SA_ROTATE_REVOKED for a revoked session. */
sa_status sa_store_session_rotate_locked(sa_store_txn *t, sa_session *s,
                                         const char *presented_jti, const sa_session *next,
                                         int64_t now, int64_t grace, sa_rotate_result *result,
                                         sa_error *err);

/* Mark session sid revoked inside t. Contract: SA_OK (also when it already was);
 * SA_ERR_NOT_FOUND; store failures. */
sa_status sa_store_session_revoke_locked(sa_store_txn *t, const char *sid, sa_error *err);

/* user_id's not-before time inside t into *out (0 when none was set); flags for DB->get
 * (DB_RMW to lock it). Contract: SA_OK; store failures (store_not_before.c). */
sa_status sa_store_not_before_read(sa_store_txn *t, const char *user_id, u_int32_t flags,
                                   int64_t *out, sa_error *err);
/* Raise user_id's not-before time to now inside t (store_not_before.c). Contract: SA_OK;
 * store failures. */
sa_status sa_store_not_before_raise(sa_store_txn *t, const char *user_id, int64_t now,
                                    sa_error *err);

/* Delete every session of user_id inside t (used by user deletion). */
sa_status sa_store_session_delete_user(sa_store_txn *t, const char *user_id, sa_error *err);

/* Pieces of sa_store_open() that store_rep.c's replicated open shares: open every database
 * and associate the indexes (inside txn when creating; *what names a failing step; returns a
 * Berkeley DB code); close them all (indexes first); check, or when create write, the format
 * record (a sa_store_txn_fn, ctx a bool *create); Berkeley DB's message sinks. */
int sa_store_open_all(sa_store *store, DB_TXN *txn, bool create, const char **what);
void sa_store_close_dbs(sa_store *store);
sa_status sa_store_meta_format(sa_store_txn *t, void *ctx, sa_error *err);
void sa_store_errcall(const DB_ENV *env, const char *prefix, const char *msg);
void sa_store_msgcall(const DB_ENV *env, const char *msg);

/* The case-folded username index (store.c builds it in place for older stores). */
#define STORE_USERNAME_INDEX "users_by_username_ci.db"
/* Sessions by rounded expires_at (sa_store_index_session_expiry). Replaces
 * sessions_by_expiry.db (exact expires_at); built from sessions.db when absent. */
#define STORE_SESSION_EXPIRY_INDEX "sessions_by_expiry_rounded.db"
#define STORE_EXPIRY_STEPS 24        /* steps per refresh token lifetime */
#define STORE_EXPIRY_STEP_MAX 3600   /* seconds */

#define SA_META_FORMAT_KEY "format"
#define SA_META_KEYS_KEY "google_keys"

/* Write a new session inside t. Contract: SA_OK; SA_ERR_INVALID (sid or user_id empty or
 * too long); SA_ERR_EXISTS ("sid"); store failures. */
sa_status sa_store_session_insert(sa_store_txn *t, const sa_session *session, sa_error *err);

#endif
