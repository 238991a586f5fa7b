/* cors.c: cross-origin headers (api.html#cors). */
#include "http/cors.h"

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
    /* Like django-cors-headers: whenever CORS is configured, every answer varies with
     * Origin, also the ones to no or a refused origin, so a cache never hands an answer
     * without the CORS headers to an allowed origin, or one with them to another. */
    if (ctx->cfg->cors_allowed_origins.n > 0)
        ctx->res.vary |= SA_VARY_ORIGIN;
    if (!sa_cors_origin_allowed(ctx->cfg, origin))
        return;
    /* Security: with credentials the origin is echoed (a `*` would be refused by browsers and
     * config.c forbids `*` with cookie mode); without them `*` is enough. */
    sa_add_header(ctx, "Access-Control-Allow-Origin",
                  ctx->cfg->cors_any_origin ? "*" : origin);
    if (ctx->cfg->cookie_mode)
        sa_add_header(ctx, "Access-Control-Allow-Credentials", "true");
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
