/* store.h: the user store, spoken of in users, sessions and Google keys.
 *
 * The only interface to persistence: no Berkeley DB type or call appears outside store*.c,
 * so a second backend can follow without touching an endpoint.
 *
 * Every function returns SA_OK, or:
 *   SA_ERR_NOT_FOUND    the record does not exist
 *   SA_ERR_EXISTS       a unique field is taken; err->msg is exactly its name: "username",
 *                       "email", "google_sub", "id" (or "sid" for sessions)
 *   SA_ERR_INVALID      the caller's data breaks a store rule (too long, empty id, ...)
 *   SA_ERR_UNAVAILABLE  store trouble that may pass (answer 503)
 *   SA_ERR_FATAL        the environment needs recovery: answer 503, then the process exits
 * Deadlocks are retried inside the store (bounded) and never reach the caller as such. */
#ifndef SA_STORE_H
#define SA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sa_error.h"
#include "token/session_rule.h"

/* Django's limits, in characters (code points), as its max_length counts (api.html#user). */
#define SA_USERNAME_CHARS 150
#define SA_EMAIL_CHARS 254
#define SA_NAME_CHARS 150
/* The same in bytes of UTF-8 (at most 4 a character): the sizes of the fields below. */
#define SA_ID_MAX 128
_Static_assert(SA_ID_MAX == SA_USER_ID_MAX, "a session's user_id holds any user id");
#define SA_USERNAME_MAX (4 * SA_USERNAME_CHARS)
#define SA_EMAIL_MAX (4 * SA_EMAIL_CHARS)
#define SA_NAME_MAX (4 * SA_NAME_CHARS)
#define SA_SUB_MAX 255
#define SA_PASSWORD_MAX 128              /* Django's password field: max_length=128 */

typedef struct sa_store sa_store;

typedef struct sa_user {
    char id[SA_ID_MAX + 1];              /* UUID4 string for users we create */
    char username[SA_USERNAME_MAX + 1];  /* NFKC; unique ignoring case (sa_text_casefold) */
    char email[SA_EMAIL_MAX + 1];        /* unique case-insensitively when non-empty */
    char first_name[SA_NAME_MAX + 1];
    char last_name[SA_NAME_MAX + 1];
    bool is_active;
    bool is_staff;
    bool is_superuser;
    int64_t date_joined;                 /* unix seconds */
    int64_t last_login;                  /* unix seconds, 0 = never */
    char google_sub[SA_SUB_MAX + 1];     /* unique when non-empty: the social account link */
    char *google_extra;                  /* JSON text of Google's claims, or NULL; owned */
    char password[SA_PASSWORD_MAX + 1];  /* Django's password hash as imported (e.g.
                                            "pbkdf2_sha256$..."), "" for users we create.
                                            Security: never shown, exported or logged. */
} sa_user;

/* Frees what a user record owns (google_extra); the struct itself is the caller's. */
void sa_user_clear(sa_user *user);

typedef enum sa_store_mode {
    SA_STORE_SERVE,   /* an endpoint process: join the environment, recover if it needs it */
    SA_STORE_CREATE   /* `socialauth init`: create the directory and databases if absent */
} sa_store_mode;

/* Open the environment at db_home and every database with its indexes associated
 * (the one place that does so). One handle per process. */
sa_status sa_store_open(sa_store **out, const char *db_home, sa_store_mode mode, sa_error *err);
void sa_store_close(sa_store *store);

/* Open the store the configuration names (README "Several nodes"): with store_backend = node
 * and mode SA_STORE_SERVE, a client of `socialauth node` at cfg->node_socket (connected at
 * the first call: SA_OK even while the node is down; calls then give SA_ERR_UNAVAILABLE);
 * otherwise sa_store_open(cfg->db_home, mode) with cfg->sync_rotation applied. Statuses as
 * sa_store_open, or SA_ERR_INVALID for a node_socket path too long. */
struct sa_config;
sa_status sa_store_open_config(sa_store **out, const struct sa_config *cfg, sa_store_mode mode,
                               sa_error *err);

/* Whether session writes (rotations, and sessions opened by sign-ins of existing users) are
 * flushed to disk before answering (default true). Without, they are written to the OS but
 * not flushed: they survive a process crash, not a machine crash. */
void sa_store_set_sync_rotation(sa_store *store, bool sync);

/* A function the store calls, in whatever thread notices, just before it ends the process
 * because it is stuck inside Berkeley DB for good (store.c's watchdog: a mutex a dead process
 * held, or an environment recovered under it). The request loop sets one that answers the
 * requests the process holds with 503 (http.c). NULL (default): just exit. The hook must not
 * return to the store; it ends the process itself (_exit) or returns to let the store do so. */
void sa_store_set_exit_hook(void (*hook)(void));

/* Read something real from the store (for /api/health/). */
sa_status sa_store_ping(sa_store *store, sa_error *err);

/* ---- users ---- */

typedef enum sa_user_key { SA_BY_ID, SA_BY_USERNAME, SA_BY_EMAIL, SA_BY_GOOGLE_SUB } sa_user_key;

/* Look a user up; email is compared lower-cased. out must be zeroed or cleared. */
sa_status sa_store_user_get(sa_store *store, sa_user_key by, const char *key, sa_user *out,
                            sa_error *err);

/* Create user (id filled with a new UUID4 when empty; date_joined set when 0), durably,
 * with its indexes in one transaction. */
sa_status sa_store_user_create(sa_store *store, sa_user *user, sa_error *err);

/* Replace the record with id user->id (must exist), indexes kept consistent. */
sa_status sa_store_user_update(sa_store *store, const sa_user *user, sa_error *err);

/* Import one user (`socialauth import-django`) in one transaction: create it, or when its id
 * exists replace its fields, keeping its Google link (google_sub, google_extra) unless user
 * carries one. *created says which. Committed without a synchronous flush (one fsync per
 * user would take hours for a million): call sa_store_flush() after the last one.
 * Returns as sa_store_user_create / sa_store_user_update do. */
sa_status sa_store_user_import(sa_store *store, const sa_user *user, bool *created,
                               sa_error *err);

/* Flush the log to disk: every transaction committed before is durable. SA_OK or
 * SA_ERR_UNAVAILABLE / SA_ERR_FATAL. */
sa_status sa_store_flush(sa_store *store, sa_error *err);

/* Delete a user, its indexes and its sessions. */
sa_status sa_store_user_delete(sa_store *store, const char *id, sa_error *err);

/* Call fn for each user in id order until fn returns non-zero. */
typedef int (*sa_user_visit_fn)(const sa_user *user, void *ctx);
sa_status sa_store_user_each(sa_store *store, sa_user_visit_fn fn, void *ctx, sa_error *err);

/* Usernames that differ only in case (they fold to one key: sa_text_casefold). The store
 * refuses new ones, but a store made before usernames were unique ignoring case may hold
 * them (its index is rebuilt in place when it is first opened: store.c). Both users keep
 * signing in (Google sign-in goes by sub); an operator renames one
 * (`socialauth user update ID --username NEW`). */
typedef struct sa_username_variant {
    char id[SA_ID_MAX + 1];
    char username[SA_USERNAME_MAX + 1];
    size_t group;          /* the variants of one name share a group, numbered from 1 */
} sa_username_variant;

/* Whether opening this handle upgraded the store (built the case-folded username index), so
 * that the caller reports sa_store_username_variants() once. */
bool sa_store_upgraded(const sa_store *store);

/* Every user that has a case variant, grouped (each group's users together, groups in the
 * index's order). Contract: SA_OK with *out a malloc'd array of *count entries (NULL and 0
 * when there are none; the caller frees it); SA_ERR_UNAVAILABLE, SA_ERR_FATAL. */
sa_status sa_store_username_variants(sa_store *store, sa_username_variant **out, size_t *count,
                                     sa_error *err);

/* Google sign-in in one transaction (api.html#google-login, account resolution):
 * - a user linked to `sub` exists: it is returned (outcome SA_LOGIN_EXISTING), last_login and
 *   google_extra updated (an inactive user is returned unchanged, for the caller to refuse);
 * - else a user owns candidate->email (case-insensitive): if link_email, that user gets linked
 *   (SA_LOGIN_LINKED), else SA_ERR_EXISTS with outcome SA_LOGIN_EMAIL_TAKEN;
 * - else candidate is created (SA_LOGIN_CREATED); its username is made unique by adding a
 *   numeric suffix. Concurrent calls for one sub create exactly one user.
 * When session is non-NULL and the user is active, session->user_id is set to the user's id
 * and the session is written in the same transaction (one commit per sign-in).
 * Creating or linking a user is flushed to disk before returning; a sign-in of an existing
 * user is flushed as rotations are (sa_store_set_sync_rotation).
 * candidate->google_sub must be set. On success *out is the user as stored. */
typedef enum sa_login_outcome {
    SA_LOGIN_EXISTING, SA_LOGIN_LINKED, SA_LOGIN_CREATED, SA_LOGIN_EMAIL_TAKEN
} sa_login_outcome;
sa_status sa_store_google_login(sa_store *store, const sa_user *candidate, bool link_email,
                                int64_t now, sa_session *session, sa_user *out,
                                sa_login_outcome *outcome, sa_error *err);

/* ---- sessions (api.html#sessions; the record is token/session_rule.h's) ---- */

sa_status sa_store_session_create(sa_store *store, const sa_session *session, sa_error *err);
sa_status sa_store_session_get(sa_store *store, const char *sid, sa_session *out, sa_error *err);

/* Rotation: in one transaction, if the session's current_jti equals presented_jti, replace it
 * with next (current_jti/current_iat/current_exp/expires_at from *next) and return
 * SA_ROTATE_ROTATED; if presented_jti equals previous_jti and now <= replaced_at + grace,
 * return SA_ROTATE_GRACE with *out holding the session (its current token is the successor);
 * otherwise mark the session revoked and return SA_ROTATE_REUSE. A revoked session gives
 * SA_ROTATE_REVOKED. *out is the session after the call. The rule is sa_session_rule_rotate
 * (token/session_rule.h), run inside the transaction. */
sa_status sa_store_session_rotate(sa_store *store, const char *sid, const char *presented_jti,
                                  const sa_session *next, int64_t now, int64_t grace,
                                  sa_session *out, sa_rotate_result *result, sa_error *err);

/* Revoke one session, or every session of user_id except `except_sid` (NULL: all). */
sa_status sa_store_session_revoke(sa_store *store, const char *sid, sa_error *err);
sa_status sa_store_session_revoke_user(sa_store *store, const char *user_id,
                                       const char *except_sid, sa_error *err);

/* Global logout: in one transaction, revoke every session of user_id and record `now` as
 * the user's not-before time (raised, never lowered), which refuses tokens without sid
 * issued at or before it (api.html#tokens). Contract: SA_OK (also when the user has no
 * session); SA_ERR_INVALID (user_id empty or too long); SA_ERR_UNAVAILABLE, SA_ERR_FATAL. */
sa_status sa_store_session_revoke_all(sa_store *store, const char *user_id, int64_t now,
                                      sa_error *err);

typedef int (*sa_session_visit_fn)(const sa_session *session, void *ctx);
sa_status sa_store_session_each_of_user(sa_store *store, const char *user_id,
                                        sa_session_visit_fn fn, void *ctx, sa_error *err);

/* Delete at most `limit` sessions whose expires_at + leeway < now (times and leeway in
 * seconds; leeway is the config's, as sa_jwt_verify accepts a token until exp + leeway);
 * *purged says how many. */
sa_status sa_store_session_purge(sa_store *store, int64_t now, int64_t leeway, size_t limit,
                                 size_t *purged, sa_error *err);
sa_status sa_store_session_count(sa_store *store, size_t *count, sa_error *err);

/* ---- refresh tokens without sid (api.html#tokens; store_sidless.c) ----
 *
 * A refresh token minted by a Django service sharing the key has no `sid`. The store
 * remembers such a token by its jti until its exp: the session it was adopted into at its
 * first refresh (the session's first token is that jti, so rotation's grace and reuse rules
 * apply to it), or that a logout revoked it before any use. A global logout records a per-user
 * not-before time. Both live in databases of their own, created in place in older stores. */

typedef struct sa_jti_record {
    char sid[33];          /* the session it was adopted into; "" when revoked unused */
    int64_t expires_at;    /* the token's exp (unix seconds): purged after it */
    bool revoked;          /* logged out before it was ever used */
} sa_jti_record;

/* Contract: SA_OK with *out; SA_ERR_NOT_FOUND (never seen, or an empty / over-long jti);
 * SA_ERR_UNAVAILABLE, SA_ERR_FATAL. */
sa_status sa_store_jti_get(sa_store *store, const char *jti, sa_jti_record *out, sa_error *err);

/* Refresh with a token without sid, in one transaction (race-free: concurrent callers with
 * one jti make one session). If jti was never seen, `first` (a new session: sid, user_id,
 * created_at, current_jti = jti with the token's iat/exp, expires_at) is written and jti
 * remembered as adopted into it, and then, with next non-NULL, rotated at once as
 * sa_store_session_rotate() does (SA_ROTATE_ROTATED), or else SA_ROTATE_KEPT. If jti was
 * adopted before, its session (which must belong to first->user_id) goes through rotation
 * with jti as the presented token (GRACE, REUSE, REVOKED, ROTATED; without next: KEPT or
 * REVOKED). A jti revoked unused, or whose session is gone, gives SA_ROTATE_REVOKED, and so
 * does a token issued at or before its user's not-before time (first->current_iat <= it,
 * read in the same transaction, so a concurrent global logout never leaves a session alive;
 * api.html#tokens); nothing is written then. *out is the session after the call. Contract: SA_OK with *result and *out; SA_ERR_INVALID
 * (first or next malformed: empty or over-long sid, user_id or jti); SA_ERR_UNAVAILABLE,
 * SA_ERR_FATAL. Commits are flushed as rotations are (sa_store_set_sync_rotation), except
 * a reuse's revocation, which always is. */
sa_status sa_store_session_adopt(sa_store *store, const sa_session *first,
                                 const sa_session *next, int64_t now, int64_t grace,
                                 sa_session *out, sa_rotate_result *result, sa_error *err);

/* Logout with a token without sid (jti, expiring at exp): in one transaction, remember jti
 * as revoked until exp, or, when it was adopted meanwhile, revoke its session. Contract:
 * SA_OK (also when it already was revoked); SA_ERR_INVALID (empty or over-long jti);
 * SA_ERR_UNAVAILABLE, SA_ERR_FATAL. */
sa_status sa_store_jti_revoke(sa_store *store, const char *jti, int64_t exp, sa_error *err);

/* The user's not-before time: *out is 0 when none was recorded. Contract: SA_OK;
 * SA_ERR_UNAVAILABLE, SA_ERR_FATAL. */
sa_status sa_store_not_before_get(sa_store *store, const char *user_id, int64_t *out,
                                  sa_error *err);

/* Delete at most `limit` remembered jtis whose token can no longer be accepted
 * (expires_at + leeway < now), oldest first, in one transaction; *purged says how many.
 * Contract as sa_store_session_purge. */
sa_status sa_store_jti_purge(sa_store *store, int64_t now, int64_t leeway, size_t limit,
                             size_t *purged, sa_error *err);
sa_status sa_store_jti_count(sa_store *store, size_t *count, sa_error *err);

/* ---- Google's signing keys (shared cache of the JWKS document) ---- */

typedef struct sa_google_keys {
    char *jwks_json;       /* the JWKS document as the fetching process judged it (our checked
                              copy since issue 13, else Google's text); owned, NULL when none */
    int64_t fetched_at;
    int64_t expires_at;    /* fetched_at + Cache-Control max-age */
    int64_t forced_at;     /* last refetch forced by an unknown kid (at most one a minute) */
} sa_google_keys;

void sa_google_keys_clear(sa_google_keys *keys);
sa_status sa_store_google_keys_get(sa_store *store, sa_google_keys *out, sa_error *err);
sa_status sa_store_google_keys_put(sa_store *store, const sa_google_keys *keys, sa_error *err);

/* Claim the right to force a refetch: succeeds (SA_OK) for at most one caller per
 * `interval` seconds across all processes; others get SA_ERR_EXISTS. */
sa_status sa_store_google_keys_claim_refetch(sa_store *store, int64_t now, int64_t interval,
                                             sa_error *err);

/* ---- maintenance ---- */

/* Checkpoint and remove logs no longer needed, now, in this process (admin command). */
sa_status sa_store_checkpoint(sa_store *store, sa_error *err);

/* Checkpoint without stalling a serving process (Berkeley DB's checkpoint can sleep a whole
 * second on a page another process has pinned): when the last checkpoint of any process is
 * older than `interval` seconds, or `log_bytes` of log were written since, and no other
 * checkpoint is running, a child process takes it. Never blocks; reaps its finished child.
 * Also runs failchk (at most once a second) to clean up after a killed process.
 * Returns SA_OK (started, running or not due), SA_ERR_UNAVAILABLE when it cannot start, or
 * SA_ERR_FATAL when failchk says the environment needs recovery (answer, then exit). */
sa_status sa_store_checkpoint_background(sa_store *store, int64_t now, int64_t interval,
                                         uint64_t log_bytes, sa_error *err);
/* Hot backup of the environment into dir (created). */
sa_status sa_store_backup(sa_store *store, const char *dir, sa_error *err);

/* Copy the backup in backup_dir (made by sa_store_backup) into db_home, which must not exist
 * (it is created, mode 0700) or be empty; the caller then opens it with SA_STORE_CREATE.
 * No handle may be open on db_home. Returns SA_OK; SA_ERR_NOT_FOUND (backup_dir holds no users.db);
 * SA_ERR_EXISTS (db_home holds files: nothing was written); SA_ERR_INVALID (path too long);
 * SA_ERR_UNAVAILABLE (a file could not be read, written or flushed; err->msg names it). */
sa_status sa_store_restore(const char *backup_dir, const char *db_home, sa_error *err);

/* Whole-store check (`socialauth verify`): every user and session record decodes; every
 * record is in each of its indexes and every index entry points at a record whose field
 * gives that entry (so no two users share a username, e-mail or Google sub); every session's
 * user exists. report(message, ctx) is called once per problem found (a NUL-terminated line
 * naming the record and the field; at most 1000 are listed, then one line saying more were
 * found), after the walk; progress(records_seen, ctx), when non-NULL, every 4096 records
 * during it. *problems is the count found. Reads in one read-committed transaction, so it
 * runs beside serving processes. Returns SA_OK (whatever was found), SA_ERR_UNAVAILABLE or
 * SA_ERR_FATAL on store trouble (then nothing was reported). */
typedef void (*sa_store_problem_fn)(const char *message, void *ctx);
typedef void (*sa_store_progress_fn)(size_t done, void *ctx);
sa_status sa_store_verify(sa_store *store, sa_store_problem_fn report,
                          sa_store_progress_fn progress, void *ctx, size_t *problems,
                          sa_error *err);

/* What the store holds (`socialauth stats`): records counted by Berkeley DB's Btree
 * statistics; bytes are the lengths of the database files, indexes included. */
typedef struct sa_store_stats {
    uint64_t users;
    uint64_t google_links;     /* users with a Google sub */
    uint64_t sessions;         /* including revoked and expired ones not yet purged */
    uint64_t user_bytes;       /* users.db and its three indexes */
    uint64_t session_bytes;    /* sessions.db and its two indexes */
} sa_store_stats;
/* Returns SA_OK with *out filled, or SA_ERR_UNAVAILABLE / SA_ERR_FATAL. */
sa_status sa_store_stats_get(sa_store *store, sa_store_stats *out, sa_error *err);

#endif
