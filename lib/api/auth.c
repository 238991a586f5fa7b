/* auth.c: Bearer authentication of app requests (see auth.h). */
#include "api/auth.h"
#include "api/cookie.h"
#include "codec/json_writer.h"
#include "api/session.h"
#include "api/tokens.h"

#include <string.h>

/* 401 in simplejwt's InvalidToken shape, naming why the access token was refused. */
static void token_not_valid(sa_ctx *ctx, const char *message)
{
    sa_jw w;
    sa_jw_begin(&w, &ctx->res.body);
    sa_jw_object(&w);
    sa_jw_member(&w, "detail", "Given token not valid for any token type");
    sa_jw_member(&w, "code", "token_not_valid");
    sa_jw_key(&w, "messages");
    sa_jw_array(&w);
    sa_jw_object(&w);
    sa_jw_member(&w, "token_class", "AccessToken");
    sa_jw_member(&w, "token_type", "access");
    sa_jw_member(&w, "message", message);
    sa_jw_end(&w);
    sa_jw_end(&w);
    sa_jw_end(&w);
    sa_respond_written(ctx, 401, &w);
    sa_add_header(ctx, "WWW-Authenticate", "Bearer realm=\"api\"");
}

/* Split the Authorization header on whitespace as Python's str.split() does. Returns the
 * number of parts (counting past 2 only to know there are more) and the first two. */
static int split_header(const char *h, const char *part[2], size_t len[2])
{
    int n = 0;
    while (*h) {
        while (*h == ' ' || *h == '\t')
            h++;
        if (!*h)
            break;
        const char *start = h;
        while (*h && *h != ' ' && *h != '\t')
            h++;
        if (n < 2) {
            part[n] = start;
            len[n] = (size_t)(h - start);
        }
        n++;
    }
    return n;
}

static void session_revoked(sa_ctx *ctx)
{
    token_not_valid(ctx, "Token is blacklisted");
}

/* Verify the access token and its session, then load its user. */
static bool accept_token(sa_ctx *ctx, const char *token, size_t len, sa_user *user,
                         sa_claims *claims)
{
    sa_claims local;
    sa_claims *c = claims ? claims : &local;
    sa_error err = {0};
    sa_jwt_result r = sa_jwt_verify(ctx->cfg, token, len, SA_TOKEN_ACCESS, ctx->now, c, &err);
    if (r != SA_JWT_VALID) {
        token_not_valid(ctx, r == SA_JWT_WRONG_TYPE ? "Token has wrong type"
                                                   : "Token is invalid or expired");
        return false;
    }
    return sa_session_alive(ctx, c, session_revoked) && sa_token_user(ctx, c, user);
}

bool sa_auth_require(sa_ctx *ctx, sa_user *user, sa_claims *claims)
{
    /* Every answer from here on, 401s included, depends on the credentials. */
    sa_respond_private(ctx);
    const char *header = ctx->req.authorization;
    const char *part[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    int n = header ? split_header(header, part, len) : 0;
    char cookie[SA_JWT_MAX_LEN + 1];
    if (n == 0 && ctx->cfg->cookie_mode &&
        sa_cookie_get(ctx, ctx->cfg->cookie_access_name, cookie, sizeof cookie)) {
        if (!sa_csrf_check(ctx, SA_CSRF_USES_COOKIES))
            return false;
        sa_cookie_credential(ctx);
        return accept_token(ctx, cookie, strlen(cookie), user, claims);
    }
    /* Like simplejwt: a header of another scheme is no credentials at all. */
    if (n == 0 || len[0] != 6 || memcmp(part[0], "Bearer", 6) != 0) {
        sa_respond_detail(ctx, 401, "Authentication credentials were not provided.", NULL);
        return false;
    }
    if (n != 2) {
        sa_respond_detail(ctx, 401, "Authorization header must contain two space-delimited values",
                          "bad_authorization_header");
        return false;
    }
    return accept_token(ctx, part[1], len[1], user, claims);
}
