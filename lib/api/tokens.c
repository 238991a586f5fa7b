/* tokens.c: token pairs and the shared answers of the token endpoints (see tokens.h). */
#include "api/tokens.h"
#include "api/answers.h"
#include "core/utc.h"

#include <string.h>

sa_status sa_token_issue(const sa_config *cfg, sa_token_type type, const char *user_id,
                         const char *sid, int64_t now, sa_token *out, sa_error *err)
{
    sa_claims *c = &out->claims;
    memset(c, 0, sizeof *c);
    c->token_type = type;
    c->iat = now;
    c->exp = now + (type == SA_TOKEN_ACCESS ? cfg->access_token_lifetime
                                            : cfg->refresh_token_lifetime);
    size_t n = strlen(user_id);
    if (n > SA_USER_ID_MAX || (sid && strlen(sid) > SA_SID_LEN))
        return SA_FAIL(err, SA_ERR_INVALID, "user id or session id too long");
    memcpy(c->user_id, user_id, n + 1);
    if (sid)
        memcpy(c->sid, sid, strlen(sid) + 1);
    sa_status st = sa_random_id_hex(c->jti, SA_JTI_LEN);
    if (st != SA_OK)
        return SA_FAIL(err, st, "random generator failed");
    return sa_jwt_mint(cfg, c, out->text, sizeof out->text, err);
}

static void put_time(sa_jw *w, const char *key, int64_t t)
{
    char buf[32];
    sa_format_utc(t, buf, sizeof buf);
    sa_jw_member(w, key, buf);
}

void sa_token_fields(sa_ctx *ctx, sa_jw *w, const sa_token *access, const sa_token *refresh,
                     bool both_spellings)
{
    /* Cookie mode keeps the refresh token out of reach of scripts: the body omits it. */
    bool refresh_in_body = refresh && !ctx->cfg->cookie_mode;
    sa_jw_member(w, "access", access->text);
    if (refresh_in_body)
        sa_jw_member(w, "refresh", refresh->text);
    if (both_spellings) {
        sa_jw_member(w, "access_token", access->text);
        if (refresh_in_body)
            sa_jw_member(w, "refresh_token", refresh->text);
    }
    put_time(w, "access_expiration", access->claims.exp);
    if (refresh)
        put_time(w, "refresh_expiration", refresh->claims.exp);
    ctx->res.no_store = true;
}

bool sa_token_check(sa_ctx *ctx, const char *token, sa_token_type type, sa_claims *out)
{
    sa_error err = {0};
    sa_jwt_result r = sa_jwt_verify(ctx->cfg, token, strlen(token), type, ctx->now, out, &err);
    if (r != SA_JWT_VALID) {
        sa_answer_token_refused(ctx, r);
        return false;
    }
    return true;
}

bool sa_token_user_may_act(sa_ctx *ctx, const sa_claims *claims)
{
    sa_user user = {0};
    if (!sa_token_user(ctx, claims, &user))
        return false;
    sa_user_clear(&user);
    return true;
}

bool sa_token_user(sa_ctx *ctx, const sa_claims *claims, sa_user *out)
{
    sa_error err = {0};
    sa_status st = sa_store_user_get(ctx->store, SA_BY_ID, claims->user_id, out, &err);
    if (st == SA_ERR_NOT_FOUND) {
        sa_answer_user_not_found(ctx);
        return false;
    }
    if (st != SA_OK) {
        sa_respond_store_error(ctx, st, &err);
        return false;
    }
    if (!out->is_active) {
        sa_user_clear(out);
        sa_answer_user_inactive(ctx);
        return false;
    }
    return true;
}
