/* answers.h: the standard answers of api.html that several endpoints give, one function each,
 * so each body is written in one place (the 503 and 400 field-error bodies are the request
 * loop's own: sa_respond_unavailable, sa_respond_store_error, sa_respond_field_error in
 * http/http.h). Each writes the whole answer into ctx->res; the 401s add
 * `WWW-Authenticate: Bearer realm="api"` as simplejwt does. */
#ifndef SA_ANSWERS_H
#define SA_ANSWERS_H

#include "http/http.h"
#include "token/jwt.h"

/* 401 {"detail":"Token is invalid or expired","code":"token_not_valid"} (api.html#refresh:
 * a bad signature, expired, malformed). */
void sa_answer_token_invalid(sa_ctx *ctx);

/* 401 {"detail":"Token has wrong type","code":"token_not_valid"}. */
void sa_answer_token_wrong_type(sa_ctx *ctx);

/* The answer for a token sa_jwt_verify refused with r (SA_JWT_INVALID or SA_JWT_WRONG_TYPE):
 * one of the two above. */
void sa_answer_token_refused(sa_ctx *ctx, sa_jwt_result r);

/* 401 {"detail":"Token is blacklisted","code":"token_not_valid"}: its session is revoked or
 * gone, or rotation retired it (api.html#sessions and #verify). */
void sa_answer_token_blacklisted(sa_ctx *ctx);

/* 401 in simplejwt's InvalidToken shape for an access token presented to authenticate
 * (api.html#user): {"detail":"Given token not valid for any token type","code":
 * "token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access",
 * "message":message}]}. */
void sa_answer_access_not_valid(sa_ctx *ctx, const char *message);

/* 401 {"detail":"Authentication credentials were not provided."} (no code member). */
void sa_answer_no_credentials(sa_ctx *ctx);

/* 401 {"detail":"User not found","code":"user_not_found"} and
 * 401 {"detail":"User is inactive","code":"user_inactive"} (api.html#refresh). */
void sa_answer_user_not_found(sa_ctx *ctx);
void sa_answer_user_inactive(sa_ctx *ctx);

#endif
