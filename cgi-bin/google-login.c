/* google-login: POST /api/social/login/google/ (api.html#google-login).
 * Google vouches for a user (ID token, access token or authorization code), the store finds or
 * creates the account in one transaction, and a new session's token pair is the answer. */
#include <string.h>

#include "api/cookie.h"
#include "google/google.h"
#include "http/http.h"
#include "api/session.h"
#include "api/tokens.h"
#include "api/user.h"

/* One verifier per process: its curl connection and parsed Google keys outlive requests. */
static sa_google *google;

/* An optional request field; blank counts as absent (dj-rest-auth's allow_blank fields).
 * Returns false after answering 400 when it is not a string. */
static bool field(sa_ctx *ctx, const char *name, const char **out)
{
    *out = NULL;
    sa_status st = sa_optional_string(ctx, name, out);
    if (st == SA_ERR_INVALID)
        return false;
    if (st != SA_OK || !*out || !(*out)[0])
        *out = NULL;
    return true;
}

/* Log the keys of Google's JWKS document that were refused, once per document (google.h). */
static void log_rejected_keys(void)
{
    const sa_google_rejected_key *keys;
    size_t n = sa_google_rejected_keys(google, &keys);
    for (size_t i = 0; i < n; i++)
        sa_log("google: JWKS key kid \"%s\" ignored: %s", keys[i].kid, keys[i].reason);
}

/* Ask Google who this is. Returns true with *id filled, or false after answering. */
static bool google_identity(sa_ctx *ctx, sa_google_identity *id)
{
    const char *id_token, *access_token, *code, *verifier, *redirect_uri;
    const char *reason = NULL;
    sa_error err = {0};
    sa_google_result r;

    if (!field(ctx, "id_token", &id_token) || !field(ctx, "access_token", &access_token) ||
        !field(ctx, "code", &code) || !field(ctx, "code_verifier", &verifier) ||
        !field(ctx, "redirect_uri", &redirect_uri))
        return false;

    if (!google) {
        google = sa_google_new(ctx->cfg, ctx->store, &err);
        if (!google) {
            sa_respond_store_error(ctx, err.status, &err);
            return false;
        }
    }
    sa_google_set_store(google, ctx->store);

    /* The ID token is checked when given (with the access token, if any, against its
     * at_hash); else the access token; else the code. */
    if (id_token)
        r = sa_google_verify_id_token(google, id_token, access_token, ctx->now, id, &reason, &err);
    else if (access_token)
        r = sa_google_verify_access_token(google, access_token, ctx->now, id, &reason, &err);
    else if (code)
        r = sa_google_exchange_code(google, code, verifier, redirect_uri, ctx->now, id, &reason,
                                    &err);
    else {
        sa_respond_field_error_code(ctx, "non_field_errors",
                                    "Incorrect input. access_token or code is required.", NULL);
        return false;
    }
    log_rejected_keys();

    switch (r) {
    case SA_GOOGLE_OK:
        return true;
    case SA_GOOGLE_REJECTED:
        sa_log("google: refused: %s", err.msg);
        sa_respond_field_error_code(ctx, "non_field_errors",
                                    "Incorrect value", reason ? reason : SA_GOOGLE_R_MALFORMED);
        return false;
    case SA_GOOGLE_UNAVAILABLE:
        sa_log("google: %s", err.msg);
        sa_respond_detail(ctx, 503, "Google could not be reached.", "upstream_unavailable");
        return false;
    case SA_GOOGLE_ERROR:
        break;
    }
    sa_respond_store_error(ctx, err.status, &err);
    return false;
}

static void handle(sa_ctx *ctx)
{
    sa_google_identity id = {0};
    sa_user cand = {0}, user = {0};
    sa_login_outcome outcome = SA_LOGIN_EXISTING;
    sa_token access, refresh;
    sa_session session;
    sa_error err = {0};
    sa_status st;

    /* Security: in cookie mode a sign-in sets our cookies: a hostile page must not sign the
     * visitor's browser into another account (login CSRF). */
    if (!sa_csrf_check(ctx, SA_CSRF_SETS_COOKIES) || !google_identity(ctx, &id))
        goto done;
    if ((st = sa_session_begin(ctx->cfg, ctx->now, &session, &err)) != SA_OK) {
        sa_respond_store_error(ctx, st, &err);
        goto done;
    }

    /* The account as Google describes it; the store makes the username unique. */
    memcpy(cand.google_sub, id.sub, sizeof cand.google_sub);
    memcpy(cand.email, id.email, sizeof cand.email);
    memcpy(cand.first_name, id.given_name, sizeof cand.first_name);
    memcpy(cand.last_name, id.family_name, sizeof cand.last_name);
    sa_username_from_profile(id.given_name, id.family_name, id.email, cand.username,
                             sizeof cand.username);
    cand.is_active = true;
    cand.google_extra = id.claims_json; /* borrowed: the store keeps its own copy */

    /* Security: an existing account is linked by e-mail only when configured and Google says
     * the address is verified; otherwise the owner of the address keeps it. */
    /* The account and the new session in one transaction: one commit per sign-in. */
    st = sa_store_google_login(ctx->store, &cand, ctx->cfg->link_verified_email &&
                               id.email_verified, ctx->now, &session, &user, &outcome, &err);
    if (st == SA_ERR_EXISTS && outcome == SA_LOGIN_EMAIL_TAKEN) {
        sa_respond_field_error_code(ctx, "non_field_errors",
                                    "User is already registered with this e-mail address.", NULL);
        goto done;
    }
    if (st == SA_ERR_INVALID) {
        sa_log("google: account refused by the store: %s", err.msg);
        sa_respond_field_error_code(ctx, "non_field_errors",
                                    "Incorrect value", SA_GOOGLE_R_MALFORMED);
        goto done;
    }
    if (st != SA_OK) {
        sa_respond_store_error(ctx, st, &err);
        goto done;
    }
    if (!user.is_active) {
        sa_respond_field_error_code(ctx, "non_field_errors", "User account is disabled.", NULL);
        goto done;
    }

    st = sa_session_tokens(ctx->cfg, &session, ctx->now, &access, &refresh, &err);
    if (st != SA_OK) {
        sa_respond_store_error(ctx, st, &err);
        goto done;
    }
    sa_jw w;
    sa_jw_begin(&w, &ctx->res.body);
    sa_jw_object(&w);
    sa_token_fields(ctx, &w, &access, &refresh, true);
    sa_jw_key(&w, "user");
    sa_user_write(&w, &user);
    sa_jw_end(&w);
    sa_respond_written(ctx, 200, &w);
    if (ctx->cfg->cookie_mode)
        sa_cookie_set_tokens(ctx, &access, &refresh);
done:
    sa_user_clear(&user);
    sa_google_identity_clear(&id);
}

int main(int argc, char **argv)
{
    static const sa_endpoint endpoint = {
        .name = "google-login", .methods = SA_POST, .needs_store = true, .handle = handle,
        .tls = true, /* fetches Google's keys and tokens over HTTPS */
        .credential_body = true,
    };
    int rc = sa_serve(&endpoint, argc, argv);
    sa_google_free(google);
    return rc;
}
