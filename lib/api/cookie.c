/* cookie.c: token cookies and the CSRF Origin check (see cookie.h). */
#include "api/cookie.h"
#include "http/cors.h"

#include <stdio.h>
#include <string.h>

bool sa_cookie_get(const sa_ctx *ctx, const char *name, char *out, size_t size)
{
    const char *p = ctx->req.cookie;
    size_t nlen = strlen(name);
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            size_t vlen = len - nlen - 1;
            if (vlen == 0 || vlen >= size)
                return false;
            memcpy(out, p + nlen + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        p = end;
    }
    return false;
}

static void set_cookie(sa_ctx *ctx, const char *name, const char *value, const char *path,
                       int64_t max_age)
{
    const sa_config *cfg = ctx->cfg;
    sa_buf b = {0};
    sa_buf_printf(&b, "%s=%s; Path=%s; Max-Age=%lld; HttpOnly; SameSite=%s%s", name, value, path,
                  (long long)max_age, cfg->cookie_samesite, cfg->cookie_secure ? "; Secure" : "");
    if (cfg->cookie_domain[0])
        sa_buf_printf(&b, "; Domain=%s", cfg->cookie_domain);
    if (max_age == 0)
        sa_buf_printf(&b, "; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    if (b.data)
        sa_add_header(ctx, "Set-Cookie", b.data);
    sa_buf_free(&b);
}

void sa_cookie_set_tokens(sa_ctx *ctx, const sa_token *access, const sa_token *refresh)
{
    const sa_config *cfg = ctx->cfg;
    set_cookie(ctx, cfg->cookie_access_name, access->text, "/", access->claims.exp - ctx->now);
    if (refresh)
        set_cookie(ctx, cfg->cookie_refresh_name, refresh->text, "/api/auth/",
                   refresh->claims.exp - ctx->now);
}

void sa_cookie_clear_tokens(sa_ctx *ctx)
{
    set_cookie(ctx, ctx->cfg->cookie_access_name, "", "/", 0);
    set_cookie(ctx, ctx->cfg->cookie_refresh_name, "", "/api/auth/", 0);
}

/* before_send hook: a refused cookie token gets its cookies expired. An endpoint that
 * cleared them itself (logout) is not refused, so no cookie is set twice. */
static void expire_refused(sa_ctx *ctx)
{
    if (ctx->res.status == 401)
        sa_cookie_clear_tokens(ctx);
}

void sa_cookie_credential(sa_ctx *ctx)
{
    ctx->before_send = expire_refused;
}

/* The scheme://host[:port] prefix of a URL, into out. */
static bool origin_of_url(const char *url, char *out, size_t size)
{
    const char *sep = strstr(url, "://");
    if (!sep)
        return false;
    size_t n = (size_t)(sep + 3 - url) + strcspn(sep + 3, "/?#");
    if (n >= size)
        return false;
    memcpy(out, url, n);
    out[n] = '\0';
    return true;
}

/* Whether origin is the request's own scheme://Host, as Django's CsrfViewMiddleware accepts
 * it (compared exactly). Security: a browser's cross-site request carries the attacker's
 * Origin with our Host, so it never matches; a client that forges Host can forge Origin too
 * and is no browser victim of CSRF. */
static bool own_origin(const sa_ctx *ctx, const char *origin)
{
    const char *host = ctx->req.host;
    const char *scheme = ctx->req.https ? "https://" : "http://";
    size_t n = strlen(scheme);
    if (!host || !*host || strncmp(origin, scheme, n) != 0)
        return false;
    origin += n;
    if (strcmp(origin, host) == 0)
        return true;
    /* Debian's nginx passes HTTP_HOST without the port ($host, its fastcgi_params): then
     * Host plus SERVER_PORT, the port the client connected to, is the origin. */
    const char *port = ctx->req.server_port;
    size_t hlen = strlen(host);
    bool host_has_port = strchr(host[0] == '[' ? strchr(host, ']') ? strchr(host, ']') : host
                                               : host, ':') != NULL;
    return !host_has_port && port && *port && strncmp(origin, host, hlen) == 0 &&
           origin[hlen] == ':' && strcmp(origin + hlen + 1, port) == 0;
}

bool sa_csrf_check(sa_ctx *ctx, sa_csrf_kind kind)
{
    if (ctx->req.method_bit & (SA_GET | SA_HEAD | SA_OPTIONS))
        return true;
    if (kind == SA_CSRF_SETS_COOKIES && !ctx->cfg->cookie_mode)
        return true;
    const char *origin = ctx->req.origin;
    const char *referer = ctx->req.referer;
    char from_referer[512];
    bool has_origin = origin && *origin, has_referer = referer && *referer;
    if (!has_origin && !has_referer && kind == SA_CSRF_SETS_COOKIES)
        return true;
    if (!has_origin)
        origin = has_referer && origin_of_url(referer, from_referer, sizeof from_referer)
                     ? from_referer : NULL;
    /* Security: `null` is the origin of sandboxed frames, data: URLs and redirects across
     * origins, whoever wrote them: never trusted, even if listed. The API's own origin is
     * friendly without being listed (same-origin deployments behind one proxy). */
    if (origin && strcmp(origin, "null") != 0 &&
        (sa_cors_origin_allowed(ctx->cfg, origin) || own_origin(ctx, origin)))
        return true;
    sa_respond_detail(ctx, 403, "CSRF Failed: Origin checking failed.", NULL);
    return false;
}

/* Whether the body's `refresh` is absent, null or "": then cookie mode reads the cookie. */
static bool body_refresh_blank(const sa_ctx *ctx)
{
    json_object *v;
    if (!ctx->req.data || !json_object_object_get_ex(ctx->req.data, "refresh", &v) || !v)
        return true;
    return json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0;
}

bool sa_refresh_token_of_request(sa_ctx *ctx, const char **token)
{
    static char cookie_value[SA_JWT_MAX_LEN + 1];
    sa_charfield_normalize(ctx, "refresh");
    if (ctx->cfg->cookie_mode && body_refresh_blank(ctx) &&
        sa_cookie_get(ctx, ctx->cfg->cookie_refresh_name, cookie_value, sizeof cookie_value)) {
        if (!sa_csrf_check(ctx, SA_CSRF_USES_COOKIES))
            return false;
        sa_cookie_credential(ctx);
        *token = cookie_value;
        return true;
    }
    return sa_require_string(ctx, "refresh", token) &&
           sa_csrf_check(ctx, SA_CSRF_SETS_COOKIES);
}
