/* answers.c: the standard answers endpoints share (see answers.h). */
#include "api/answers.h"
#include "codec/json_writer.h"

void sa_answer_token_invalid(sa_ctx *ctx)
{
    sa_respond_detail(ctx, 401, "Token is invalid or expired", "token_not_valid");
}

void sa_answer_token_wrong_type(sa_ctx *ctx)
{
    sa_respond_detail(ctx, 401, "Token has wrong type", "token_not_valid");
}

void sa_answer_token_refused(sa_ctx *ctx, sa_jwt_result r)
{
    if (r == SA_JWT_WRONG_TYPE)
        sa_answer_token_wrong_type(ctx);
    else
        sa_answer_token_invalid(ctx);
}

void sa_answer_token_blacklisted(sa_ctx *ctx)
{
    sa_respond_detail(ctx, 401, "Token is blacklisted", "token_not_valid");
}

void sa_answer_access_not_valid(sa_ctx *ctx, const char *message)
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

void sa_answer_no_credentials(sa_ctx *ctx)
{
    sa_respond_detail(ctx, 401, "Authentication credentials were not provided.", NULL);
}

void sa_answer_user_not_found(sa_ctx *ctx)
{
    sa_respond_detail(ctx, 401, "User not found", "user_not_found");
}

void sa_answer_user_inactive(sa_ctx *ctx)
{
    sa_respond_detail(ctx, 401, "User is inactive", "user_inactive");
}
