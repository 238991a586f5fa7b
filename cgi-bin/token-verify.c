/* token-verify: POST /api/auth/token/verify/ (api.html#verify).
 * 200 {} for any valid token of ours, access or refresh, whose session is not revoked; a
 * refresh token answers what a refresh would (one that rotation retired is blacklisted, one
 * whose user is gone or inactive gets user_not_found / user_inactive).
 * Verify only reports: it never revokes or rotates anything. */
#include "http/http.h"
#include "api/answers.h"
#include "api/session.h"
#include "api/tokens.h"

#include <string.h>

static void handle(sa_ctx *ctx)
{
    const char *token;
    sa_charfield_normalize(ctx, "token");
    if (!sa_require_string(ctx, "token", &token))
        return;
    sa_claims claims;
    sa_error err = {0};
    /* simplejwt's UntypedToken: either type is fine, so try the one it says it is. */
    sa_jwt_result r = sa_jwt_verify(ctx->cfg, token, strlen(token), SA_TOKEN_ACCESS, ctx->now,
                                    &claims, &err);
    if (r == SA_JWT_WRONG_TYPE &&
        !sa_token_check(ctx, token, SA_TOKEN_REFRESH, &claims))
        return;
    if (r == SA_JWT_INVALID) {
        sa_answer_token_invalid(ctx);
        return;
    }
    /* A refresh token answers what a refresh would, user check included (api.html#verify). */
    if (claims.token_type == SA_TOKEN_REFRESH && !sa_token_user_may_act(ctx, &claims))
        return;
    sa_standing standing;
    sa_status st = sa_session_standing(ctx->cfg, ctx->store, &claims, ctx->now, true, &standing,
                                       &err);
    if (st != SA_OK)
        sa_respond_store_error(ctx, st, &err);
    else if (standing == SA_STANDING_LIVE || standing == SA_STANDING_UNADOPTED)
        sa_respond_raw(ctx, 200, "{}", 2);
    else
        sa_answer_token_blacklisted(ctx);
}

int main(int argc, char **argv)
{
    static const sa_endpoint endpoint = {
        .name = "token-verify", .methods = SA_POST, .needs_store = true, .handle = handle,
        .credential_body = true,
    };
    return sa_serve(&endpoint, argc, argv);
}
