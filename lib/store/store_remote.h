/* store_remote.h: store.h over the node socket (store_backend = node; internal to store*.c).
 *
 * Each function has the contract of the store.h function of the same name without
 * `remote_`, with these differences: a node that cannot be reached, or that closed the
 * connection, gives SA_ERR_UNAVAILABLE (the next call connects again), as does a write the
 * group could not make durable; purge and background checkpoints are the node's own work
 * (session and jti purges here do nothing and return SA_OK); set_sync_rotation is the node's setting. */
#ifndef SA_STORE_REMOTE_H
#define SA_STORE_REMOTE_H

#include "store/store.h"

/* A store whose calls go to the node listening at socket_path (a UNIX socket path shorter
 * than sun_path). Connects lazily: SA_OK even when the node is down. SA_ERR_INVALID for a
 * bad path, SA_ERR_UNAVAILABLE out of memory. */
sa_status sa_store_remote_open(sa_store **out, const char *socket_path, sa_error *err);
void sa_store_remote_close(sa_store *store);

sa_status sa_store_remote_ping(sa_store *store, sa_error *err);
sa_status sa_store_remote_user_get(sa_store *store, sa_user_key by, const char *key,
                                   sa_user *out, sa_error *err);
sa_status sa_store_remote_user_create(sa_store *store, sa_user *user, sa_error *err);
sa_status sa_store_remote_user_update(sa_store *store, const sa_user *user, sa_error *err);
sa_status sa_store_remote_user_delete(sa_store *store, const char *id, sa_error *err);
sa_status sa_store_remote_user_each(sa_store *store, sa_user_visit_fn fn, void *ctx,
                                    sa_error *err);
sa_status sa_store_remote_google_login(sa_store *store, const sa_user *candidate,
                                       bool link_email, int64_t now, sa_session *session,
                                       sa_user *out, sa_login_outcome *outcome, sa_error *err);
sa_status sa_store_remote_session_create(sa_store *store, const sa_session *session,
                                         sa_error *err);
sa_status sa_store_remote_session_get(sa_store *store, const char *sid, sa_session *out,
                                      sa_error *err);
sa_status sa_store_remote_session_rotate(sa_store *store, const char *sid,
                                         const char *presented_jti, const sa_session *next,
                                         int64_t now, int64_t grace, sa_session *out,
                                         sa_rotate_result *result, sa_error *err);
sa_status sa_store_remote_session_revoke(sa_store *store, const char *sid, sa_error *err);
sa_status sa_store_remote_session_revoke_user(sa_store *store, const char *user_id,
                                              const char *except_sid, sa_error *err);
sa_status sa_store_remote_session_each_of_user(sa_store *store, const char *user_id,
                                               sa_session_visit_fn fn, void *ctx,
                                               sa_error *err);
sa_status sa_store_remote_session_count(sa_store *store, size_t *count, sa_error *err);
sa_status sa_store_remote_google_keys_get(sa_store *store, sa_google_keys *out, sa_error *err);
sa_status sa_store_remote_google_keys_put(sa_store *store, const sa_google_keys *keys,
                                          sa_error *err);
sa_status sa_store_remote_google_keys_claim_refetch(sa_store *store, int64_t now,
                                                    int64_t interval, sa_error *err);
sa_status sa_store_remote_checkpoint(sa_store *store, sa_error *err);
sa_status sa_store_remote_backup(sa_store *store, const char *dir, sa_error *err);

sa_status sa_store_remote_session_revoke_all(sa_store *store, const char *user_id, int64_t now,
                                             sa_error *err);
sa_status sa_store_remote_jti_get(sa_store *store, const char *jti, sa_jti_record *out,
                                  sa_error *err);
sa_status sa_store_remote_session_adopt(sa_store *store, const sa_session *first,
                                        const sa_session *next, int64_t now, int64_t grace,
                                        sa_session *out, sa_rotate_result *result,
                                        sa_error *err);
sa_status sa_store_remote_jti_revoke(sa_store *store, const char *jti, int64_t exp,
                                     sa_error *err);
sa_status sa_store_remote_not_before_get(sa_store *store, const char *user_id, int64_t *out,
                                         sa_error *err);
sa_status sa_store_remote_jti_count(sa_store *store, size_t *count, sa_error *err);

/* The node verifies its own copy; progress is not reported through the node. */
sa_status sa_store_remote_verify(sa_store *store, sa_store_problem_fn report, void *ctx,
                                 size_t *problems, sa_error *err);

sa_status sa_store_remote_stats_get(sa_store *store, sa_store_stats *out, sa_error *err);

/* Imports run on the master (forwarded from a replica), each a quorum-acknowledged write;
 * flush flushes the master's log. */
sa_status sa_store_remote_user_import(sa_store *store, const sa_user *user, bool *created,
                                      sa_error *err);
sa_status sa_store_remote_flush(sa_store *store, sa_error *err);
/* The node's own copy. */
sa_status sa_store_remote_username_variants(sa_store *store, sa_username_variant **out,
                                            size_t *count, sa_error *err);

/* The node's STATUS text (node.c writes it), malloc'd into *text. */
sa_status sa_store_remote_status(sa_store *store, char **text, sa_error *err);

#endif
