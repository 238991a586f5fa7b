/* logout: POST /api/auth/logout/ (api.html#logout). Revokes this session (`local`), the
 * user's other sessions (`others`) or all of them (`global`). A refused logout writes nothing:
 * its token is checked as a refresh checks it (api.html#refresh: the user must exist and be
 * active), so no jti or not-before row is written for a user that cannot act. */
#include "api/answers.h"
#include "api/cookie.h"
#include "http/http.h"
#include "api/session.h"
#include "core/text.h"
#include "api/tokens.h"

#include <stdio.h>
#include <string.h>

/* The scope's name, as DRF's ChoiceField checks it. Returns false after answering 400. */
static bool scope_of_request(sa_ctx *ctx, sa_logout_scope *scope)
{
    static const char *const names[] = {"local", "others", "global"};
    const char *name = "local";
    sa_status st = sa_optional_string(ctx, "scope", &name);
    if (st == SA_ERR_INVALID)
        return false;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            *scope = (sa_logout_scope)i;
            return true;
        }
    }
    /* The client's text cut at a character (issue 9.4), never inside one. */
    char shown[SA_ECHO_CHARS * 4 + 1], msg[sizeof shown + 32];
    sa_text_copy_cut(shown, sizeof shown, name, SA_ECHO_CHARS);
    snprintf(msg, sizeof msg, "\"%s\" is not a valid choice.", shown);
    sa_respond_field_error(ctx, "scope", msg);
    return false;
}

static void handle(sa_ctx *ctx)
{
    const char *presented;
    sa_logout_scope scope;
    sa_claims claims;
    if (!scope_of_request(ctx, &scope) || !sa_refresh_token_of_request(ctx, &presented) ||
        !sa_token_check(ctx, presented, SA_TOKEN_REFRESH, &claims) ||
        !sa_token_user_may_act(ctx, &claims) ||
        !sa_session_alive(ctx, &claims, sa_answer_token_blacklisted))
        return;

    sa_error err = {0};
    sa_status st = sa_session_end(ctx->store, &claims, scope, ctx->now, &err);
    if (st != SA_OK) {
        sa_respond_store_error(ctx, st, &err);
        return;
    }
    static const char body[] = "{\"detail\":\"Successfully logged out.\"}";
    sa_respond_raw(ctx, 200, body, sizeof body - 1);
    if (ctx->cfg->cookie_mode && scope != SA_LOGOUT_OTHERS)
        sa_cookie_clear_tokens(ctx);
}

int main(int argc, char **argv)
{
    static const sa_endpoint endpoint = {
        .name = "logout", .methods = SA_POST, .needs_store = true, .handle = handle,
        .credential_body = true,
    };
    return sa_serve(&endpoint, argc, argv);
}
