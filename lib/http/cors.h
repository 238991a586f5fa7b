/* cors.h: CORS as django-cors-headers does it (api.html#cors). */
#ifndef SA_CORS_H
#define SA_CORS_H

#include <stdbool.h>

#include "http/http.h"

/* True when origin is one of cfg->cors_allowed_origins (or they are "*"). */
bool sa_cors_origin_allowed(const sa_config *cfg, const char *origin);

/* Add Access-Control-Allow-Origin and (cookie mode) -Allow-Credentials to the answer when the
 * request's Origin is allowed, and Vary: Origin whenever CORS is configured (any origin).
 * Called for every answer by the request loop. */
void sa_cors_decorate(sa_ctx *ctx);

/* Answer a preflight (OPTIONS with Access-Control-Request-Method): 200, empty body, the
 * allowed methods and headers when the origin is allowed. */
void sa_cors_preflight(sa_ctx *ctx);

#endif
