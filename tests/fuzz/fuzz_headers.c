/* fuzz_headers.c: libFuzzer target for the request headers we parse ourselves: the
 * Authorization header (sa_auth_require's split and scheme check), the Cookie header
 * (sa_cookie_get), and the Origin/Referer CSRF check (sa_csrf_check, both kinds), in cookie
 * mode.
 *
 * Input: four lines "<authorization>\n<cookie>\n<origin>\n<referer>" after one byte choosing
 * the method. The fuzzer cannot forge our HMAC, so every request must be refused: 401 (no or
 * bad credentials) or 403 (CSRF), with a JSON body. A cookie value found is bounded and holds
 * no ';'; the CSRF check passes only for a safe method or an allowed origin. Token
 * verification itself is fuzz_jwt's. */
#include <stdint.h>
#include <string.h>

#include "api/auth.h"
#include "api/cookie.h"
#include "http/cors.h"
#include "fuzz_check.h"
#include "codec/json.h"

#define ALLOWED_ORIGIN "https://app.example.com"

static const sa_config *fuzz_config(void)
{
    static sa_config cfg;
    static bool ready;
    if (!ready) {
        sa_config_defaults(&cfg);
        sa_error err = {0};
        static const char text[] =
            "signing_key = fuzz-signing-key-0123456789abcdef-0123456789\n"
            "cookie_mode = true\n"
            "cors_allowed_origins = " ALLOWED_ORIGIN " http://localhost:3000\n";
        CHECK(sa_config_parse(&cfg, text, sizeof text - 1, "fuzz.conf", &err) == SA_OK);
        ready = true;
    }
    return &cfg;
}

static char *take_line(const uint8_t **data, size_t *size)
{
    const uint8_t *nl = memchr(*data, '\n', *size);
    size_t n = nl ? (size_t)(nl - *data) : *size;
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    memcpy(s, *data, n);
    s[n] = '\0';
    *size -= nl ? n + 1 : n;
    *data += nl ? n + 1 : n;
    return s;
}

static void check_json_body(const sa_ctx *ctx)
{
    json_object *o = NULL;
    CHECK(sa_json_parse(ctx->res.body.data, ctx->res.body.len, &o, NULL) == SA_OK);
    CHECK(json_object_is_type(o, json_type_object));
    json_object_put(o);
}

/* The request's method and headers (authorization, cookie, origin, referer; "" = absent). */
static void set_request(sa_ctx *ctx, const char *method, int bit, const char *const h[4])
{
    ctx->req.method = method;
    ctx->req.method_bit = bit;
    ctx->req.authorization = *h[0] ? h[0] : NULL;
    ctx->req.cookie = *h[1] ? h[1] : NULL;
    ctx->req.origin = *h[2] ? h[2] : NULL;
    ctx->req.referer = *h[3] ? h[3] : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct { const char *name; int bit; } methods[] = {
        {"GET", SA_GET}, {"POST", SA_POST}, {"PATCH", SA_PATCH}, {"DELETE", SA_DELETE},
        {"HEAD", SA_HEAD}, {"PUT", SA_PUT}};
    if (size < 1)
        return 0;
    size_t m = data[0] % (sizeof methods / sizeof methods[0]);
    data++;
    size--;
    char *auth = take_line(&data, &size), *cookie = take_line(&data, &size),
         *origin = take_line(&data, &size), *referer = take_line(&data, &size);

    sa_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = fuzz_config();
    ctx.now = 1700000000;
    ctx.res.status = 200;
    const char *method = methods[m].name, *headers[4] = {auth, cookie, origin, referer};
    set_request(&ctx, method, methods[m].bit, headers);

    char value[64];
    if (sa_cookie_get(&ctx, ctx.cfg->cookie_access_name, value, sizeof value)) {
        size_t n = strnlen(value, sizeof value);
        CHECK(n > 0 && n < sizeof value && !strchr(value, ';'));
        CHECK(strstr(cookie, value) != NULL);
    }

    bool safe = methods[m].bit & (SA_GET | SA_HEAD);
    for (int kind = 0; kind < 2; kind++) {
        bool csrf = sa_csrf_check(&ctx, kind ? SA_CSRF_SETS_COOKIES : SA_CSRF_USES_COOKIES);
        /* Cookie-authenticated writes need an Origin or Referer that is allowed. */
        if (csrf && !safe && !kind)
            CHECK(ctx.req.origin || ctx.req.referer);
        if (!csrf) {
            CHECK(!safe && ctx.res.status == 403);
            check_json_body(&ctx);
        }
        ctx.res.status = 200;
        sa_buf_reset(&ctx.res.body);
        sa_buf_reset(&ctx.res.headers);
    }
    sa_ctx_reset(&ctx);
    set_request(&ctx, method, methods[m].bit, headers);

    sa_user user;
    memset(&user, 0, sizeof user);
    CHECK(!sa_auth_require(&ctx, &user, NULL));
    CHECK(ctx.res.status == 401 || ctx.res.status == 403);
    check_json_body(&ctx);

    sa_ctx_reset(&ctx);
    sa_buf_free(&ctx.res.headers);
    sa_buf_free(&ctx.res.body);
    free(auth);
    free(cookie);
    free(origin);
    free(referer);
    return 0;
}
