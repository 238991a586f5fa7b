/* session.h: login sessions on top of tokens (api.html#sessions): opening one at login,
 * rotating its refresh token with reuse detection, and checking a token's session is alive.
 * Expired sessions are purged by the request loop (http.c), a bounded number at a time. */
#ifndef SA_SESSION_H
#define SA_SESSION_H

#include <stdbool.h>

#include "http/http.h"
#include "api/tokens.h"

/* A new session starting at now: fresh sid, and the id and times of its first refresh token
 * (user_id left empty for the caller or the store to fill). Returns SA_OK or the RNG's error. */
sa_status sa_session_begin(const sa_config *cfg, int64_t now, sa_session *session, sa_error *err);

/* The token pair of a session: its current refresh token (re-minted byte-identically from the
 * stored jti and times) and a fresh access token at now. */
sa_status sa_session_tokens(const sa_config *cfg, const sa_session *session, int64_t now,
                            sa_token *access, sa_token *refresh, sa_error *err);

/* Begin a session for user_id, store it, and mint its first pair (`socialauth token mint`;
 * google-login stores its session inside the sign-in transaction instead). Returns SA_OK, or
 * a store/RNG status with err filled. */
sa_status sa_session_open(const sa_config *cfg, sa_store *store, const char *user_id, int64_t now,
                          sa_token *access, sa_token *refresh, sa_error *err);

/* Decide where `claims` (verified by sa_jwt_verify) stands at now. A token of ours costs one
 * store read; one without sid one to three (the user's not-before time, then for a refresh
 * token its remembered jti and session); an adopted one gets claims->sid set to its
 * session's, so that callers treat it as a token of that session. With judge_rotation, a
 * refresh token of a rotating session is judged as a refresh would judge it
 * (sa_session_rule_standing). Returns SA_OK with *out, or the store's status with err filled. */
sa_status sa_session_standing(const sa_config *cfg, sa_store *store, sa_claims *claims,
                              int64_t now, bool judge_rotation, sa_standing *out,
                              sa_error *err);

/* Refresh with the verified refresh token `claims`: a new access token, and with rotation a
 * new refresh token (or, for the just-replaced token within reuse_grace, the same successor
 * again, byte-identical). Reuse revokes the session. A token without sid is adopted at its
 * first refresh into a new session whose first token it is, and from then on is that
 * session's (single-use under rotation). Returns true with the tokens filled (has_refresh
 * says whether *refresh is issued), or false after answering 401 "Token is blacklisted" or
 * 503. */
bool sa_session_refresh(sa_ctx *ctx, sa_claims *claims, sa_token *access, sa_token *refresh,
                        bool *has_refresh);

/* True when the token's session is alive, or it is a live token without sid (its standing is
 * LIVE or UNADOPTED, rotation not judged; claims->sid is set for an adopted one); otherwise
 * answers with `on_revoked` (called with ctx) or 503 and returns false. */
bool sa_session_alive(sa_ctx *ctx, sa_claims *claims, void (*on_revoked)(sa_ctx *ctx));

/* Logout scopes (api.html#logout). */
typedef enum sa_logout_scope { SA_LOGOUT_LOCAL, SA_LOGOUT_OTHERS, SA_LOGOUT_GLOBAL } sa_logout_scope;

/* End the sessions `scope` names for the refresh token `claims` (passed by sa_session_alive):
 * LOCAL its session, or for a token without sid that was never used, the token itself (its
 * jti remembered as revoked until its exp); OTHERS every other session of its user; GLOBAL
 * every session of its user, and the user's not-before time set to now. Returns SA_OK or the
 * store's status with err filled. */
sa_status sa_session_end(sa_store *store, const sa_claims *claims, sa_logout_scope scope,
                         int64_t now, sa_error *err);

#endif
