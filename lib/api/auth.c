/* auth.c: Bearer authentication of app requests (see auth.h). */
#include "api/auth.h"
#include "api/answers.h"
#include "api/cookie.h"
#include "codec/json_writer.h"
#include "api/session.h"
#include "api/tokens.h"

#include <string.h>

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

/* An access token of a revoked session, in the authentication's shape. */
static void session_revoked(sa_ctx *ctx)
{
    sa_answer_access_not_valid(ctx, "Token is blacklisted");
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
        sa_answer_access_not_valid(ctx, r == SA_JWT_WRONG_TYPE ? "Token has wrong type"
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
        sa_answer_no_credentials(ctx);
        return false;
    }
    if (n != 2) {
        sa_respond_detail(ctx, 401, "Authorization header must contain two space-delimited values",
                          "bad_authorization_header");
        return false;
    }
    return accept_token(ctx, part[1], len[1], user, claims);
}
