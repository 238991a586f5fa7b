/* tokens.h: issuing and checking our token pairs, and the answers every token endpoint shares
 * (api.html#tokens, #refresh, #verify and #user). */
#ifndef SA_TOKENS_H
#define SA_TOKENS_H

#include <stdbool.h>
#include <json-c/json.h>

#include "http/http.h"
#include "codec/json_writer.h"
#include "token/jwt.h"
#include "store/store.h"

#define SA_TOKEN_BUF 2048

typedef struct sa_token {
    char text[SA_TOKEN_BUF];
    sa_claims claims;
} sa_token;

/* Mint one token of `type` for user_id/sid at now (exp = now + its lifetime, fresh jti).
 * Returns SA_OK or the error of sa_jwt_mint / the RNG. */
sa_status sa_token_issue(const sa_config *cfg, sa_token_type type, const char *user_id,
                         const char *sid, int64_t now, sa_token *out, sa_error *err);

/* Write the token members of a token answer into the open object of w, in the order of
 * api.html#google-login:
 * "access", "refresh" (omitted when refresh is NULL or cookie mode), the "access_token"/
 * "refresh_token" spellings when both_spellings, then "access_expiration" and
 * "refresh_expiration" (omitted when refresh is NULL). Sets Cache-Control: no-store. */
void sa_token_fields(sa_ctx *ctx, sa_jw *w, const sa_token *access, const sa_token *refresh,
                     bool both_spellings);

/* Verify a presented token of `type` (signature, times, claims, type: jwt.h), answering the 401
 * of api.html#refresh and returning false when it is bad or of the wrong type. It does not
 * look at the token's session: callers check that with sa_session_alive (session.h). */
bool sa_token_check(sa_ctx *ctx, const char *token, sa_token_type type, sa_claims *out);

/* Read a body field (the token fields `refresh`, `token`; user-me's `first_name`, `last_name`) as DRF's CharField(trim_whitespace=True) does, before the usual field checks: a string loses leading and trailing whitespace (what
 * Python's str.strip() removes), so "  " becomes blank; a number (not a boolean) becomes a
 * string, so it is an invalid token rather than "Not a valid string.". Replaces the value in
 * ctx->req.data (which owns it); absent, null and other types are left alone. */
void sa_charfield_normalize(sa_ctx *ctx, const char *field);

/* Load the token's user, answering 401 user_not_found / user_inactive (or 503 on store
 * trouble) and returning false when it cannot act. */
bool sa_token_user(sa_ctx *ctx, const sa_claims *claims, sa_user *out);

/* sa_token_user() for endpoints that only need to know the user may act (refresh, logout,
 * verify of a refresh token: api.html#refresh, #verify and #logout): the user is loaded and
 * cleared again.
 * Returns true, or false after answering 401 user_not_found / user_inactive or 503. */
bool sa_token_user_may_act(sa_ctx *ctx, const sa_claims *claims);

#endif
