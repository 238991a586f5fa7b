/* token-refresh: POST /api/auth/token/refresh/ (API.md section 4).
 * A valid refresh token of an active user gets a new access token and, with rotation on,
 * a new refresh token. */
#include "http.h"
#include "tokens.h"

static void handle(sa_ctx *ctx)
{
    const char *presented;
    sa_claims claims;
    sa_user user = {0};
    if (!sa_require_string(ctx, "refresh", &presented) ||
        !sa_token_check(ctx, presented, SA_TOKEN_REFRESH, &claims) ||
        !sa_token_user(ctx, &claims, &user))
        return;
    sa_user_clear(&user);

    const sa_config *cfg = ctx->cfg;
    sa_token access, refresh;
    sa_error err = {0};
    bool rotate = cfg->rotate_refresh_tokens;
    if (sa_token_issue(cfg, SA_TOKEN_ACCESS, claims.user_id, claims.sid, ctx->now, &access, &err) ||
        (rotate && sa_token_issue(cfg, SA_TOKEN_REFRESH, claims.user_id, claims.sid, ctx->now,
                                  &refresh, &err))) {
        sa_respond_store_error(ctx, SA_ERR_UNAVAILABLE, &err);
        return;
    }
    json_object *body = json_object_new_object();
    sa_token_fields(ctx, body, &access, rotate ? &refresh : NULL, false);
    sa_respond_json(ctx, 200, body);
}

int main(int argc, char **argv)
{
    static const sa_endpoint endpoint = {"token-refresh", SA_POST, true, handle};
    return sa_serve(&endpoint, argc, argv);
}
