/* session.h: login sessions on top of tokens (API.md section 5): opening one at login,
 * rotating its refresh token with reuse detection, and checking a token's session is alive.
 * Expired sessions are purged by the request loop (http.c), a bounded number at a time. */
#ifndef SA_SESSION_H
#define SA_SESSION_H

#include <stdbool.h>

#include "http.h"
#include "tokens.h"

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

/* Refresh with the verified refresh token `claims`: a new access token, and with rotation a
 * new refresh token (or, for the just-replaced token within reuse_grace, the same successor
 * again, byte-identical). Reuse revokes the session. Returns true with the tokens filled
 * (*refresh_out NULL-able: has_refresh says whether one is issued), or false after answering
 * 401 "Token is blacklisted" or 503. Tokens without `sid` (minted by Django) get a new
 * session when rotation is on. */
bool sa_session_refresh(sa_ctx *ctx, const sa_claims *claims, sa_token *access, sa_token *refresh,
                        bool *has_refresh);

/* True when the token's session is alive (or the token has no sid); otherwise answers with
 * `on_revoked` (called with ctx) or 503 and returns false. One store read. */
bool sa_session_alive(sa_ctx *ctx, const sa_claims *claims, void (*on_revoked)(sa_ctx *ctx));

/* The 401 {"detail":"Token is blacklisted","code":"token_not_valid"} answer. */
void sa_session_blacklisted(sa_ctx *ctx);

#endif
