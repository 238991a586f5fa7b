/* cors.c: cross-origin headers (API.md section 8). */
#include "cors.h"

#include <string.h>

bool sa_cors_origin_allowed(const sa_config *cfg, const char *origin)
{
    if (!origin || !*origin)
        return false;
    return cfg->cors_any_origin || sa_strlist_contains(&cfg->cors_allowed_origins, origin);
}

void sa_cors_decorate(sa_ctx *ctx)
{
    const char *origin = ctx->req.origin;
    if (!sa_cors_origin_allowed(ctx->cfg, origin))
        return;
    /* Security: with credentials the origin is echoed (a `*` would be refused by browsers and
     * config.c forbids `*` with cookie mode); without them `*` is enough. */
    sa_add_header(ctx, "Access-Control-Allow-Origin",
                  ctx->cfg->cors_any_origin ? "*" : origin);
    if (ctx->cfg->cookie_mode)
        sa_add_header(ctx, "Access-Control-Allow-Credentials", "true");
    sa_add_header(ctx, "Vary", "Origin");
}

void sa_cors_preflight(sa_ctx *ctx)
{
    ctx->res.status = 200;
    sa_buf_reset(&ctx->res.body);
    if (!sa_cors_origin_allowed(ctx->cfg, ctx->req.origin))
        return;
    sa_add_header(ctx, "Access-Control-Allow-Methods", "DELETE, GET, OPTIONS, PATCH, POST, PUT");
    sa_add_header(ctx, "Access-Control-Allow-Headers",
                  "accept, authorization, content-type, user-agent, x-csrftoken, "
                  "x-requested-with");
    sa_add_header(ctx, "Access-Control-Max-Age", "86400");
}
