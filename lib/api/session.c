/* session.c: sessions, rotation and reuse detection (see session.h). */
#include "api/session.h"
#include "api/answers.h"

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
    sa_status st = sa_random_id_hex(s->sid, SA_SID_LEN);
    if (st == SA_OK)
        st = sa_random_id_hex(first.jti, SA_JTI_LEN);
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

/* A token without sid: refused when issued at or before its user's not-before time; a
 * refresh token is then looked up by jti (adopted: claims->sid is set; revoked unused). */
static sa_status sidless_standing(sa_store *store, sa_claims *claims, sa_standing *out,
                                  sa_error *err)
{
    int64_t not_before;
    sa_jti_record known;
    sa_status st = sa_store_not_before_get(store, claims->user_id, &not_before, err);
    if (st != SA_OK)
        return st;
    *out = sa_session_rule_before_logout(not_before, claims->iat) ? SA_STANDING_REVOKED
                                                                  : SA_STANDING_LIVE;
    if (*out == SA_STANDING_REVOKED || claims->token_type != SA_TOKEN_REFRESH)
        return SA_OK;
    st = sa_store_jti_get(store, claims->jti, &known, err);
    if (st == SA_ERR_NOT_FOUND) {
        *out = SA_STANDING_UNADOPTED;
        return SA_OK;
    }
    if (st != SA_OK)
        return st;
    if (known.revoked || !known.sid[0])
        *out = SA_STANDING_REVOKED;
    else
        memcpy(claims->sid, known.sid, sizeof claims->sid);
    return SA_OK;
}

sa_status sa_session_standing(const sa_config *cfg, sa_store *store, sa_claims *claims,
                              int64_t now, bool judge_rotation, sa_standing *out, sa_error *err)
{
    bool adopted = !claims->sid[0];
    sa_session s;
    sa_status st;

    if (adopted) {
        st = sidless_standing(store, claims, out, err);
        if (st != SA_OK || *out != SA_STANDING_LIVE || !claims->sid[0])
            return st;
    }
    st = sa_store_session_get(store, claims->sid, &s, err);
    if (st != SA_OK && st != SA_ERR_NOT_FOUND)
        return st;
    *out = sa_session_rule_standing(st == SA_OK ? &s : NULL, claims, adopted,
                                    judge_rotation && cfg->rotate_refresh_tokens, now,
                                    cfg->reuse_grace);
    return SA_OK;
}

bool sa_session_alive(sa_ctx *ctx, sa_claims *claims, void (*on_revoked)(sa_ctx *ctx))
{
    sa_standing standing;
    sa_error err = {0};
    sa_status st = sa_session_standing(ctx->cfg, ctx->store, claims, ctx->now, false, &standing,
                                       &err);
    if (st != SA_OK) {
        sa_respond_store_error(ctx, st, &err);
        return false;
    }
    if (standing == SA_STANDING_LIVE || standing == SA_STANDING_UNADOPTED)
        return true;
    on_revoked(ctx);
    return false;
}

sa_status sa_session_end(sa_store *store, const sa_claims *claims, sa_logout_scope scope,
                         int64_t now, sa_error *err)
{
    sa_status st;
    switch (scope) {
    case SA_LOGOUT_LOCAL:
        if (!claims->sid[0])
            return sa_store_jti_revoke(store, claims->jti, claims->exp, err);
        st = sa_store_session_revoke(store, claims->sid, err);
        return st == SA_ERR_NOT_FOUND ? SA_OK : st;
    case SA_LOGOUT_OTHERS:
        return sa_store_session_revoke_user(store, claims->user_id,
                                            claims->sid[0] ? claims->sid : NULL, err);
    case SA_LOGOUT_GLOBAL:
        break;
    }
    return sa_store_session_revoke_all(store, claims->user_id, now, err);
}

/* The session a refresh token without sid belongs to, adopting it at its first use; *result
 * and *s as sa_store_session_adopt() gives them. Refused (REVOKED) when issued at or before
 * the user's not-before time, which the store reads in the adopting transaction. */
static sa_status adopt(sa_ctx *ctx, const sa_claims *claims, const sa_token *next_refresh,
                       sa_session *s, sa_rotate_result *result, sa_error *err)
{
    const sa_config *cfg = ctx->cfg;
    sa_session first, next;
    sa_status st;

    *result = SA_ROTATE_REVOKED;
    if ((st = sa_session_begin(cfg, ctx->now, &first, err)) != SA_OK)
        return st;
    describe(&first, claims);
    size_t n = strlen(claims->user_id);
    if (n >= sizeof first.user_id)
        return SA_FAIL(err, SA_ERR_INVALID, "user id too long");
    memcpy(first.user_id, claims->user_id, n + 1);
    if (next_refresh) {
        memset(&next, 0, sizeof next);
        describe(&next, &next_refresh->claims);
    }
    return sa_store_session_adopt(ctx->store, &first, next_refresh ? &next : NULL, ctx->now,
                                  cfg->reuse_grace, s, result, err);
}

/* The store's part of a refresh with a rotating or sid-less token: with rotation, mint the
 * successor into *refresh, then rotate the session (or adopt a token without sid). The
 * successor is minted before the transaction; a token without sid learns its session's sid
 * from the store, so callers re-mint it from *s. */
static sa_status rotate_or_adopt(sa_ctx *ctx, const sa_claims *claims, sa_token *refresh,
                                 sa_session *s, sa_rotate_result *result, sa_error *err)
{
    const sa_config *cfg = ctx->cfg;
    bool rotate = cfg->rotate_refresh_tokens;
    sa_session next;
    sa_status st = SA_OK;

    memset(&next, 0, sizeof next);
    if (rotate && (st = sa_token_issue(cfg, SA_TOKEN_REFRESH, claims->user_id, claims->sid,
                                       ctx->now, refresh, err)) != SA_OK)
        return st;
    if (rotate)
        describe(&next, &refresh->claims);
    if (!claims->sid[0])
        return adopt(ctx, claims, rotate ? refresh : NULL, s, result, err);
    return sa_store_session_rotate(ctx->store, claims->sid, claims->jti, &next, ctx->now,
                                   cfg->reuse_grace, s, result, err);
}

bool sa_session_refresh(sa_ctx *ctx, sa_claims *claims, sa_token *access, sa_token *refresh,
                        bool *has_refresh)
{
    const sa_config *cfg = ctx->cfg;
    sa_error err = {0};
    sa_status st = SA_OK;
    sa_session s;
    sa_rotate_result result = SA_ROTATE_KEPT;
    *has_refresh = cfg->rotate_refresh_tokens;

    if (claims->sid[0] && !cfg->rotate_refresh_tokens) {
        if (!sa_session_alive(ctx, claims, sa_answer_token_blacklisted))
            return false;
        memcpy(s.sid, claims->sid, sizeof s.sid);
    } else {
        st = rotate_or_adopt(ctx, claims, refresh, &s, &result, &err);
        /* A session gone (NOT_FOUND) is refused too; other store errors answer 503 below. */
        sa_refresh_outcome outcome = SA_REFRESH_ISSUED;
        if (st == SA_ERR_NOT_FOUND)
            outcome = SA_REFRESH_REFUSED;
        else if (st == SA_OK)
            outcome = sa_session_rule_refresh(result, cfg->rotate_refresh_tokens,
                                              claims->sid[0] != '\0');
        if (outcome == SA_REFRESH_REFUSED) {
            if (st == SA_OK && result == SA_ROTATE_REUSE)
                sa_log("refresh token reuse: session %s revoked", s.sid);
            sa_answer_token_blacklisted(ctx);
            return false;
        }
        if (st == SA_OK && outcome == SA_REFRESH_CURRENT)
            st = remint_current(cfg, &s, refresh, &err);
    }
    if (st == SA_OK)
        st = sa_token_issue(cfg, SA_TOKEN_ACCESS, claims->user_id, s.sid, ctx->now, access,
                            &err);
    if (st != SA_OK) {
        sa_respond_store_error(ctx, st, &err);
        return false;
    }
    return true;
}
