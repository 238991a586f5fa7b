/* cookie.h: cookie transport of tokens (api.html#cookies; dj-rest-auth's JWT_AUTH_COOKIE
 * family) and the Origin check that makes cookie-authenticated writes safe from CSRF. */
#ifndef SA_COOKIE_H
#define SA_COOKIE_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"
#include "api/tokens.h"

/* Copy the value of cookie `name` from the request into out (size bytes). False when absent,
 * empty or too long. */
bool sa_cookie_get(const sa_ctx *ctx, const char *name, char *out, size_t size);

/* Set the HttpOnly access cookie (Path=/) and, when refresh is non-NULL, the HttpOnly refresh
 * cookie (Path=/api/auth/), with the configured Secure, SameSite and Domain. */
void sa_cookie_set_tokens(sa_ctx *ctx, const sa_token *access, const sa_token *refresh);

/* Expire both cookies (Max-Age=0, the Path and Domain they were set with). */
void sa_cookie_clear_tokens(sa_ctx *ctx);

/* Take `token` as this request's credential, read from a cookie (api.html#cookies): if the
 * answer turns out to be a 401 (the token refused: invalid, expired, revoked, its user gone
 * or disabled), the request loop also expires both cookies, so that a dead cookie never
 * sticks in the browser. Every reader of a token cookie calls it. */
void sa_cookie_credential(sa_ctx *ctx);

/* What a cross-site request could do with our cookies, for sa_csrf_check():
 * - SA_CSRF_USES_COOKIES: an unsafe request authenticated by our cookies. It must show an
 *   allowed Origin (or, without Origin, a Referer whose origin is allowed); neither header
 *   is refused.
 * - SA_CSRF_SETS_COOKIES: a request that would set (or clear) our cookies: google-login, and
 *   refresh or logout with a token in the body (login CSRF: a hostile page signing the
 *   victim's browser into the attacker's account). A hostile or `null` Origin (or, without
 *   Origin, a hostile Referer) is refused; a request with neither header is not a browser's
 *   cross-site request (Next-Auth's server-side callback) and passes. Outside cookie mode
 *   nothing is set, and everything passes.
 * In both, "allowed" means listed in cors_allowed_origins or equal to the request's own
 * scheme://Host (same origin, as Django's CSRF check accepts it); `null` never is. */
typedef enum sa_csrf_kind { SA_CSRF_USES_COOKIES, SA_CSRF_SETS_COOKIES } sa_csrf_kind;

/* Security: the one Origin/Referer check (api.html#cookies). Returns true when the request
 * passes; otherwise answers 403 {"detail":"CSRF Failed: Origin checking failed."} and
 * returns false. Safe methods (GET, HEAD, OPTIONS) always pass. */
bool sa_csrf_check(sa_ctx *ctx, sa_csrf_kind kind);

/* The refresh token of a refresh or logout request: the body's `refresh` field; in cookie
 * mode, when the body's `refresh` is absent, null or "" (dj-rest-auth's clients send
 * {"refresh":""}), the refresh cookie (SA_CSRF_USES_COOKIES, and marked with
 * sa_cookie_credential()); a body token in cookie mode is checked as SA_CSRF_SETS_COOKIES.
 * True with *token set (the cookie's copy lives in a static buffer until the next call);
 * false after answering 400 (DRF's field messages when neither gives a token) or 403. */
bool sa_refresh_token_of_request(sa_ctx *ctx, const char **token);

#endif
