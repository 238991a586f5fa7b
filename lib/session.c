/* session.c: sessions, rotation and reuse detection (see session.h). */
#include "session.h"

#include <string.h>

/* The session record describing `refresh` as the session's current token. */
static void describe(sa_session *s, const sa_claims *refresh)
{
    memcpy(s->current_jti, refresh->jti, sizeof s->current_jti);
    s->current_iat = refresh->iat;
    s->current_exp = refresh->exp;
    s->expires_at = refresh->exp;
}

sa_status sa_session_begin(const sa_config *cfg, int64_t now, sa_session *s, sa_error *err)
{
    memset(s, 0, sizeof *s);
    sa_claims first = {.token_type = SA_TOKEN_REFRESH, .iat = now,
                       .exp = now + cfg->refresh_token_lifetime};
    sa_status st = sa_random_hex(s->sid, SA_SID_LEN);
    if (st == SA_OK)
        st = sa_random_hex(first.jti, SA_JTI_LEN);
    if (st != SA_OK)
        return SA_FAIL(err, st, "random generator failed");
    s->created_at = now;
    describe(s, &first);
    return SA_OK;
}

/* Re-mint the session's current refresh token from its stored claims: HS256 over the same
 * header and payload bytes gives the same token, so nothing but jtis and times is stored. */
static sa_status remint_current(const sa_config *cfg, const sa_session *s, sa_token *out,
                                sa_error *err)
{
    sa_claims *c = &out->claims;
    memset(c, 0, sizeof *c);
    c->token_type = SA_TOKEN_REFRESH;
    c->iat = s->current_iat;
    c->exp = s->current_exp;
    memcpy(c->jti, s->current_jti, sizeof c->jti);
    memcpy(c->sid, s->sid, sizeof c->sid);
    size_t n = strnlen(s->user_id, sizeof c->user_id);
    if (n >= sizeof c->user_id)
        return SA_FAIL(err, SA_ERR_INVALID, "user id too long");
    memcpy(c->user_id, s->user_id, n);
    c->user_id[n] = '\0';
    return sa_jwt_mint(cfg, c, out->text, sizeof out->text, err);
}

sa_status sa_session_tokens(const sa_config *cfg, const sa_session *s, int64_t now,
                            sa_token *access, sa_token *refresh, sa_error *err)
{
    sa_status st = remint_current(cfg, s, refresh, err);
    if (st == SA_OK)
        st = sa_token_issue(cfg, SA_TOKEN_ACCESS, s->user_id, s->sid, now, access, err);
    return st;
}

sa_status sa_session_open(const sa_config *cfg, sa_store *store, const char *user_id, int64_t now,
                          sa_token *access, sa_token *refresh, sa_error *err)
{
    sa_session s;
    sa_status st = sa_session_begin(cfg, now, &s, err);
    if (st != SA_OK)
        return st;
    size_t n = strlen(user_id);
    if (n >= sizeof s.user_id)
        return SA_FAIL(err, SA_ERR_INVALID, "user id too long");
    memcpy(s.user_id, user_id, n + 1);
    if ((st = sa_store_session_create(store, &s, err)) != SA_OK)
        return st;
    return sa_session_tokens(cfg, &s, now, access, refresh, err);
}

void sa_session_blacklisted(sa_ctx *ctx)
{
    sa_respond_detail(ctx, 401, "Token is blacklisted", "token_not_valid");
}

bool sa_session_alive(sa_ctx *ctx, const sa_claims *claims, void (*on_revoked)(sa_ctx *ctx))
{
    if (!claims->sid[0])
        return true;
    sa_session s;
    sa_error err = {0};
    sa_status st = sa_store_session_get(ctx->store, claims->sid, &s, &err);
    if (st == SA_OK && !s.revoked)
        return true;
    if (st == SA_OK || st == SA_ERR_NOT_FOUND)
        on_revoked(ctx);
    else
        sa_respond_store_error(ctx, st, &err);
    return false;
}

bool sa_session_refresh(sa_ctx *ctx, const sa_claims *claims, sa_token *access, sa_token *refresh,
                        bool *has_refresh)
{
    const sa_config *cfg = ctx->cfg;
    sa_error err = {0};
    sa_status st = SA_OK;
    *has_refresh = cfg->rotate_refresh_tokens;

    if (!claims->sid[0]) {
        /* A Django-minted token: carry it into a session of ours when we rotate. */
        if (!cfg->rotate_refresh_tokens)
            st = sa_token_issue(cfg, SA_TOKEN_ACCESS, claims->user_id, "", ctx->now, access, &err);
        else
            st = sa_session_open(cfg, ctx->store, claims->user_id, ctx->now, access, refresh,
                                 &err);
        if (st != SA_OK)
            sa_respond_store_error(ctx, st, &err);
        return st == SA_OK;
    }
    if (!cfg->rotate_refresh_tokens) {
        if (!sa_session_alive(ctx, claims, sa_session_blacklisted))
            return false;
        st = sa_token_issue(cfg, SA_TOKEN_ACCESS, claims->user_id, claims->sid, ctx->now, access,
                            &err);
        if (st != SA_OK)
            sa_respond_store_error(ctx, st, &err);
        return st == SA_OK;
    }

    sa_session next, now_s;
    memset(&next, 0, sizeof next);
    sa_rotate_result result;
    if ((st = sa_token_issue(cfg, SA_TOKEN_REFRESH, claims->user_id, claims->sid, ctx->now,
                             refresh, &err)) != SA_OK) {
        sa_respond_store_error(ctx, st, &err);
        return false;
    }
    describe(&next, &refresh->claims);
    st = sa_store_session_rotate(ctx->store, claims->sid, claims->jti, &next, ctx->now,
                                 cfg->reuse_grace, &now_s, &result, &err);
    if (st == SA_ERR_NOT_FOUND) {
        sa_session_blacklisted(ctx);
        return false;
    }
    if (st != SA_OK) {
        sa_respond_store_error(ctx, st, &err);
        return false;
    }
    if (result == SA_ROTATE_REUSE || result == SA_ROTATE_REVOKED) {
        if (result == SA_ROTATE_REUSE)
            sa_log("refresh token reuse: session %s revoked", claims->sid);
        sa_session_blacklisted(ctx);
        return false;
    }
    if (result == SA_ROTATE_GRACE && (st = remint_current(cfg, &now_s, refresh, &err)) != SA_OK) {
        sa_respond_store_error(ctx, st, &err);
        return false;
    }
    st = sa_token_issue(cfg, SA_TOKEN_ACCESS, claims->user_id, claims->sid, ctx->now, access, &err);
    if (st != SA_OK) {
        sa_respond_store_error(ctx, st, &err);
        return false;
    }
    return true;
}
