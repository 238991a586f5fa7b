/* token-refresh: POST /api/auth/token/refresh/ (api.html#refresh and api.html#sessions).
 * A valid refresh token of an active user, of a live session, gets a new access token and,
 * with rotation on, the session's next refresh token; reuse revokes the session. */
#include "api/cookie.h"
#include "http/http.h"
#include "api/session.h"
#include "api/tokens.h"

static void handle(sa_ctx *ctx)
{
    const char *presented;
    sa_claims claims;
    if (!sa_refresh_token_of_request(ctx, &presented) ||
        !sa_token_check(ctx, presented, SA_TOKEN_REFRESH, &claims) ||
        !sa_token_user_may_act(ctx, &claims))
        return;

    sa_token access, refresh;
    bool has_refresh;
    if (!sa_session_refresh(ctx, &claims, &access, &refresh, &has_refresh))
        return;
    sa_jw w;
    sa_jw_begin(&w, &ctx->res.body);
    sa_jw_object(&w);
    sa_token_fields(ctx, &w, &access, has_refresh ? &refresh : NULL, false);
    sa_jw_end(&w);
    sa_respond_written(ctx, 200, &w);
    if (ctx->cfg->cookie_mode)
        sa_cookie_set_tokens(ctx, &access, has_refresh ? &refresh : NULL);
}

int main(int argc, char **argv)
{
    static const sa_endpoint endpoint = {
        .name = "token-refresh", .methods = SA_POST, .needs_store = true, .handle = handle,
        .credential_body = true,
    };
    return sa_serve(&endpoint, argc, argv);
}
