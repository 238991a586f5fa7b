/* cookie.h: cookie transport of tokens (API.md section 8; dj-rest-auth's JWT_AUTH_COOKIE
 * family) and the Origin check that makes cookie-authenticated writes safe from CSRF. */
#ifndef SA_COOKIE_H
#define SA_COOKIE_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "tokens.h"

/* Copy the value of cookie `name` from the request into out (size bytes). False when absent,
 * empty or too long. */
bool sa_cookie_get(const sa_ctx *ctx, const char *name, char *out, size_t size);

/* Set the HttpOnly access cookie (Path=/) and, when refresh is non-NULL, the HttpOnly refresh
 * cookie (Path=/api/auth/), with the configured Secure, SameSite and Domain. */
void sa_cookie_set_tokens(sa_ctx *ctx, const sa_token *access, const sa_token *refresh);

/* Expire both cookies. */
void sa_cookie_clear_tokens(sa_ctx *ctx);

/* Security: a browser attaches cookies to cross-site requests, so a cookie-authenticated
 * unsafe request must show an allowed Origin (or, without Origin, a Referer whose origin is
 * allowed). Returns true when it does; otherwise answers 403 "CSRF Failed: Origin checking
 * failed." and returns false. Safe methods always pass. */
bool sa_csrf_check(sa_ctx *ctx);

/* The refresh token of a refresh or logout request: the body's `refresh` field, else (cookie
 * mode) the refresh cookie, CSRF-checked. False after answering 400/403. */
bool sa_refresh_token_of_request(sa_ctx *ctx, const char **token);

#endif
