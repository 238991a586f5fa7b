/* auth.h: authenticating a request to any app endpoint with our access token, the way
 * simplejwt's JWTAuthentication does (api.html#user), plus session revocation.
 *
 *     sa_user user = {0};
 *     if (!sa_auth_require(ctx, &user, NULL))
 *         return;            // the 401/503 answer is already written
 *     ... use user ...
 *     sa_user_clear(&user);
 */
#ifndef SA_AUTH_H
#define SA_AUTH_H

#include <stdbool.h>

#include "http/http.h"
#include "token/jwt.h"
#include "store/store.h"

/* True with *user (and *claims if non-NULL) filled for an active user holding a valid access
 * token of a live session; otherwise answers 401 (or 503) and returns false. */
bool sa_auth_require(sa_ctx *ctx, sa_user *user, sa_claims *claims);

#endif
