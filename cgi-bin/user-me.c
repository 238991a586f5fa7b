/* user-me: /api/auth/user/ (API.md section 7). GET shows the signed-in user; PUT and PATCH
 * change username, first_name, last_name (pk, userId, email are read-only and ignored). */
#include "auth.h"
#include "http.h"
#include "user.h"

#include <string.h>

static void field_error(json_object *errors, const char *field, const char *message)
{
    json_object *list = json_object_new_array();
    json_object_array_add(list, json_object_new_string(message));
    json_object_object_add(errors, field, list);
}

/* Read one writable field into dst (size bytes). Missing fields are left alone unless
 * `required`. Problems are added to errors in DRF's words. */
static void take_field(sa_ctx *ctx, json_object *errors, const char *field, bool required,
                       bool allow_blank, char *dst, size_t size)
{
    json_object *v;
    if (!json_object_object_get_ex(ctx->req.data, field, &v)) {
        if (required)
            field_error(errors, field, "This field is required.");
        return;
    }
    if (v == NULL) {
        field_error(errors, field, "This field may not be null.");
        return;
    }
    if (!json_object_is_type(v, json_type_string)) {
        field_error(errors, field, "Not a valid string.");
        return;
    }
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (len == 0 && !allow_blank) {
        field_error(errors, field, "This field may not be blank.");
        return;
    }
    if (len >= size || memchr(s, '\0', len)) {
        field_error(errors, field, "Ensure this field has no more than 150 characters.");
        return;
    }
    memcpy(dst, s, len + 1);
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
    take_field(ctx, errors, "username", put, false, user->username, sizeof user->username);
    take_field(ctx, errors, "first_name", false, true, user->first_name, sizeof user->first_name);
    take_field(ctx, errors, "last_name", false, true, user->last_name, sizeof user->last_name);
    if (!json_object_object_get_ex(errors, "username", NULL) && !sa_username_valid(user->username))
        field_error(errors, "username",
                    "Enter a valid username. This value may contain only letters, numbers, and "
                    "@/./+/-/_ characters.");
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
