/* jwt.h: simplejwt-compatible HS256 tokens (api.html#tokens), minted and verified with
 * OpenSSL EVP; no JWT library.
 *
 * Security: one algorithm (HS256) fixed by configuration, never taken from the token;
 * signatures compared with CRYPTO_memcmp; tokens over SA_JWT_MAX_LEN refused before any work;
 * only canonical base64url accepted; duplicate JSON keys and `crit` refused; each claim's JSON
 * type checked before use. */
#ifndef SA_JWT_H
#define SA_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "codec/b64url.h"
#include "core/random.h"
#include "core/sa_error.h"

#define SA_JWT_MAX_LEN 8192
#define SA_JTI_LEN 32          /* lower-case hex characters */
#define SA_SID_LEN 32          /* lower-case hex characters */
#define SA_USER_ID_MAX 128

typedef enum sa_token_type { SA_TOKEN_ACCESS, SA_TOKEN_REFRESH } sa_token_type;

typedef struct sa_claims {
    sa_token_type token_type;
    int64_t exp;
    int64_t iat;
    char jti[SA_JTI_LEN + 1];
    char user_id[SA_USER_ID_MAX + 1]; /* integer user_id is converted to its decimal string */
    char sid[SA_SID_LEN + 1];         /* "" when the token has no sid (minted by Django) */
} sa_claims;

typedef enum sa_jwt_result {
    SA_JWT_VALID = 0,
    SA_JWT_INVALID,      /* "Token is invalid or expired" */
    SA_JWT_WRONG_TYPE    /* signature and times fine, but another token_type */
} sa_jwt_result;

/* Mint a token of claims->token_type with claims->exp, iat, jti, user_id, sid exactly in the
 * payload order of api.html#tokens (sid omitted when empty), plus aud/iss when configured.
 * Signed with the key directory's signing key, its kid in the header, when cfg->keys has
 * one (keyring.h); else with the configured key and simplejwt's header (no kid).
 * Writes a NUL-terminated token into out. Returns SA_OK, SA_ERR_TOO_LARGE (out too small, or
 * the token would exceed SA_JWT_MAX_LEN), SA_ERR_INVALID (no usable key: fewer than
 * SA_SIGNING_KEY_MIN bytes; empty jti or user_id; a claim that is not valid UTF-8), or
 * SA_ERR_UNAVAILABLE (OpenSSL failure). */
sa_status sa_jwt_mint(const sa_config *cfg, const sa_claims *claims, char *out, size_t out_size,
                      sa_error *err);

/* Verify token (len bytes, need not be NUL-terminated) as a token of `expected` type at time
 * `now`. On SA_JWT_VALID, *out holds the claims; otherwise *out is zeroed. err->msg says why
 * on the other results (for logs; never the token itself).
 *
 * The signature is checked over the text before any JSON is parsed. Claim rules
 * (api.html#token-checks): jti must be a string of 1..SA_JTI_LEN characters (simplejwt's is
 * always 32; a longer one is refused, never cut); user_id a string of 1..SA_USER_ID_MAX bytes
 * or a JSON integer; sid, when present, a string of 1..SA_SID_LEN bytes; iat and nbf optional but
 * integers when present; `aud` in a token is refused when no audience is configured (as
 * PyJWT does); header typ/kid, when present, must be strings.
 * Key: a header byte-identical to the one we mint for a kid of cfg->keys is verified with that
 * key; any other (no kid: simplejwt's) with the configured Django key, so a retired kid's
 * tokens fail.
 * SA_JWT_WRONG_TYPE is returned only when every other check passed. */
sa_jwt_result sa_jwt_verify(const sa_config *cfg, const char *token, size_t len,
                            sa_token_type expected, int64_t now, sa_claims *out, sa_error *err);


#endif
