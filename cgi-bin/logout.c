/* logout: POST /api/auth/logout/ (API.md section 9). Revokes this session (`local`), the
 * user's other sessions (`others`) or all of them (`global`). A refused logout writes nothing. */
#include "cookie.h"
#include "http.h"
#include "session.h"
#include "tokens.h"

#include <stdio.h>
#include <string.h>

static void handle(sa_ctx *ctx)
{
    const char *presented, *scope = "local";
    sa_claims claims;
    sa_status st = sa_optional_string(ctx, "scope", &scope);
    if (st == SA_ERR_INVALID)
        return;
    if (strcmp(scope, "local") && strcmp(scope, "others") && strcmp(scope, "global")) {
        char msg[96];
        snprintf(msg, sizeof msg, "\"%.40s\" is not a valid choice.", scope);
        sa_respond_field_error(ctx, "scope", msg);
        return;
    }
    if (!sa_refresh_token_of_request(ctx, &presented) ||
        !sa_token_check(ctx, presented, SA_TOKEN_REFRESH, &claims) ||
        !sa_session_alive(ctx, &claims, sa_session_blacklisted))
        return;

    sa_error err = {0};
    if (strcmp(scope, "local") == 0)
        st = claims.sid[0] ? sa_store_session_revoke(ctx->store, claims.sid, &err) : SA_OK;
    else
        st = sa_store_session_revoke_user(ctx->store, claims.user_id,
                                          strcmp(scope, "others") == 0 ? claims.sid : NULL, &err);
    if (st != SA_OK && st != SA_ERR_NOT_FOUND) {
        sa_respond_store_error(ctx, st, &err);
        return;
    }
    static const char body[] = "{\"detail\":\"Successfully logged out.\"}";
    sa_respond_raw(ctx, 200, body, sizeof body - 1);
    if (ctx->cfg->cookie_mode && strcmp(scope, "others") != 0)
        sa_cookie_clear_tokens(ctx);
}

int main(int argc, char **argv)
{
    static const sa_endpoint endpoint = {
        .name = "logout", .methods = SA_POST, .needs_store = true, .handle = handle,
    };
    return sa_serve(&endpoint, argc, argv);
}
