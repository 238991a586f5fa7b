/* user-me: /api/auth/user/ (api.html#user). GET shows the signed-in user; PUT and PATCH
 * change username, first_name, last_name (pk, userId, email are read-only and ignored). */
#include "api/auth.h"
#include "http/http.h"
#include "core/text.h"
#include "api/tokens.h"
#include "api/user.h"

#include <string.h>

/* Add message to field's list in errors (DRF lists every message of a field). */
static void field_error(json_object *errors, const char *field, const char *message)
{
    json_object *list;
    if (!json_object_object_get_ex(errors, field, &list)) {
        list = json_object_new_array();
        json_object_object_add(errors, field, list);
    }
    json_object_array_add(list, json_object_new_string(message));
}

/* Read one writable string field (body.c checked it is text). Missing fields are left alone
 * unless `required`. Returns the value, or NULL when absent or after adding an error. */
static const char *take_field(sa_ctx *ctx, json_object *errors, const char *field,
                              bool required, bool allow_blank, size_t *len)
{
    const char *s;
    const char *problem = sa_field_string_check(ctx->req.data, field, required, allow_blank,
                                                &s, len);
    if (problem)
        field_error(errors, field, problem);
    return s;
}

/* first_name / last_name: up to 150 characters (Django's max_length counts code points). */
static void take_name(sa_ctx *ctx, json_object *errors, const char *field, char *dst)
{
    size_t len = 0;
    const char *s = take_field(ctx, errors, field, false, true, &len);
    if (!s)
        return;
    if (sa_text_chars(s, len) > SA_NAME_CHARS) {
        field_error(errors, field, SA_MAX_150_MESSAGE);
        return;
    }
    memcpy(dst, s, len + 1);
}

/* username: NFKC, Django's validator, 150 characters (user.h). */
static void take_username(sa_ctx *ctx, json_object *errors, bool required, sa_user *user)
{
    size_t len = 0;
    const char *s = take_field(ctx, errors, "username", required, false, &len);
    char normal[SA_USERNAME_MAX + 1];
    const char *msgs[2];
    if (!s)
        return;
    size_t n = sa_username_check(s, len, normal, msgs);
    for (size_t i = 0; i < n; i++)
        field_error(errors, "username", msgs[i]);
    if (n == 0)
        memcpy(user->username, normal, strlen(normal) + 1);
}

static void respond_user(sa_ctx *ctx, const sa_user *user)
{
    sa_jw w;
    sa_jw_begin(&w, &ctx->res.body);
    sa_user_write(&w, user);
    sa_respond_written(ctx, 200, &w);
}

static void update(sa_ctx *ctx, sa_user *user)
{
    json_object *errors = json_object_new_object();
    bool put = ctx->req.method_bit == SA_PUT;
    /* DRF's serializer fields trim surrounding whitespace before validating: "  Ada " is Ada,
     * "  " is blank. Usernames are not trimmed: api.html#user refuses every space and
     * invisible character in them (" alice" is a 400 here, stricter than DRF). */
    sa_charfield_normalize(ctx, "first_name");
    sa_charfield_normalize(ctx, "last_name");
    take_username(ctx, errors, put, user);
    take_name(ctx, errors, "first_name", user->first_name);
    take_name(ctx, errors, "last_name", user->last_name);
    if (json_object_object_length(errors) > 0) {
        sa_respond_json(ctx, 400, errors);
        return;
    }
    json_object_put(errors);
    sa_error err = {0};
    sa_status st = sa_store_user_update(ctx->store, user, &err);
    if (st == SA_ERR_EXISTS) {
        sa_respond_field_error(ctx, "username", "A user with that username already exists.");
        return;
    }
    if (st != SA_OK) {
        sa_respond_store_error(ctx, st, &err);
        return;
    }
    respond_user(ctx, user);
}

static void handle(sa_ctx *ctx)
{
    sa_user user = {0};
    if (!sa_auth_require(ctx, &user, NULL))
        return;
    if (ctx->req.method_bit & (SA_PUT | SA_PATCH))
        update(ctx, &user);
    else
        respond_user(ctx, &user);
    sa_user_clear(&user);
}

int main(int argc, char **argv)
{
    static const sa_endpoint endpoint = {
        .name = "user-me", .methods = SA_GET | SA_PUT | SA_PATCH, .needs_store = true,
        .handle = handle,
    };
    return sa_serve(&endpoint, argc, argv);
}
