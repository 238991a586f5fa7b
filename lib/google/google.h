/* google.h: verifying what Google hands a Next-Auth app (api.html#google-login).
 *
 * Three ways in, one identity out:
 *   - an ID token: RS256 signature with Google's published key chosen by `kid`, then iss, aud,
 *     azp, exp, iat, sub and (with an access token) at_hash;
 *   - an access token alone: Google's tokeninfo must name one of our client ids and the token
 *     must be unexpired, then userinfo supplies the profile (a JWT passed as access token is
 *     verified as an ID token instead);
 *   - an authorization code: exchanged at Google's token endpoint, then the ID token it returns
 *     is verified as above.
 *
 * One sa_google per process (each serves one request at a time): it holds the curl handle
 * (connections kept alive between requests), and the parsed RSA keys of the JWKS document it
 * last saw. The JWKS document itself is cached in the store, shared by every process, and
 * refreshed when its Cache-Control max-age has passed; an unknown `kid` forces at most one
 * refetch a minute across all processes; while Google cannot be reached, cached keys keep
 * working past their expiry.
 *
 * Split by concern: google.c (token checks, the three flows), google_jwks.c (JWKS parsing, the
 * process and store caches), google_http.c (libcurl).
 *
 * Security: no algorithm but RS256 is ever accepted, and the algorithm is checked before any
 * key is looked up; keys are public RSA keys of 2048 to 8192 bits with an odd e >= 65537,
 * built from the JWKS n/e only and checked by OpenSSL (sa_google_jwks_parse);
 * every byte from Google is bounded (SA_GOOGLE_RESPONSE_MAX) before parsing and parsed with
 * sa_json_parse (duplicate keys refused); HTTPS with certificate checks, plain http only to
 * loopback hosts (the tests' fake Google); no redirects followed. */
#ifndef SA_GOOGLE_H
#define SA_GOOGLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "config/config.h"
#include "core/sa_error.h"
#include "store/store.h"

#define SA_GOOGLE_TOKEN_MAX 16384        /* ID token, access token or code, in bytes */
#define SA_GOOGLE_RESPONSE_MAX 65536     /* any response body from Google */
#define SA_GOOGLE_REFETCH_INTERVAL 60    /* seconds between refetches forced by an unknown kid */
#define SA_GOOGLE_RETRY_AFTER 10         /* seconds a process waits after a failed JWKS fetch
                                            before trying again (it serves stale keys meanwhile) */
#define SA_GOOGLE_DEFAULT_MAX_AGE 300    /* JWKS freshness when Google sends no max-age */
#define SA_GOOGLE_MAX_MAX_AGE 86400      /* never trust a cached JWKS document longer */
#define SA_GOOGLE_MAX_KEYS 32            /* entries in one JWKS document; more: refused */
#define SA_GOOGLE_CHECKED_KEYS 16        /* RS256 keys judged per document; later ones are
                                            refused unjudged (Google publishes 2 or 3) */
#define SA_GOOGLE_CHECK_BITS 32768       /* modulus bits per document handed to OpenSSL's
                                            check (16 keys of 2048 bits, 4 of 8192): bounds
                                            the CPU one document costs */
#define SA_GOOGLE_MIN_MAX_AGE 60         /* JWKS freshness for no-store, no-cache, max-age=0
                                            or an exhausted Age: the refetch floor */
#define SA_GOOGLE_KID_MAX 128
#define SA_GOOGLE_PICTURE_MAX 2048

typedef struct sa_google sa_google;

typedef enum sa_google_result {
    SA_GOOGLE_OK = 0,      /* *out holds the verified identity */
    SA_GOOGLE_REJECTED,    /* the token is bad: *reason says why (answer 400 with it as code) */
    SA_GOOGLE_UNAVAILABLE, /* Google unreachable, timing out, answering 5xx or nonsense, and no
                              usable cached keys: answer 503 upstream_unavailable */
    SA_GOOGLE_ERROR        /* our own trouble (memory, store needing recovery): err->status
                              says which; answer as a store error (503) */
} sa_google_result;

/* Machine reasons for SA_GOOGLE_REJECTED (the "code" of the 400 answer). */
#define SA_GOOGLE_R_MALFORMED "malformed"
#define SA_GOOGLE_R_UNSUPPORTED_ALG "unsupported_algorithm"
#define SA_GOOGLE_R_UNKNOWN_KEY "unknown_key"
#define SA_GOOGLE_R_INVALID_SIGNATURE "invalid_signature"
#define SA_GOOGLE_R_WRONG_ISSUER "wrong_issuer"
#define SA_GOOGLE_R_WRONG_AUDIENCE "wrong_audience"
#define SA_GOOGLE_R_WRONG_AZP "wrong_azp"
#define SA_GOOGLE_R_EXPIRED "expired"
#define SA_GOOGLE_R_IN_FUTURE "issued_in_future"
#define SA_GOOGLE_R_MISSING_SUB "missing_sub"
#define SA_GOOGLE_R_BAD_AT_HASH "bad_at_hash"
#define SA_GOOGLE_R_REJECTED_BY_GOOGLE "rejected_by_google"
#define SA_GOOGLE_R_SUB_MISMATCH "sub_mismatch"

/* Who Google says the user is. Strings are NUL-terminated UTF-8, "" when Google gave none;
 * names longer than the store's fields are cut at a character boundary. */
typedef struct sa_google_identity {
    char sub[SA_SUB_MAX + 1];
    char email[SA_EMAIL_MAX + 1];
    bool email_verified;           /* JSON true (ID token, userinfo) or "true" (tokeninfo) only */
    char given_name[SA_NAME_MAX + 1];
    char family_name[SA_NAME_MAX + 1];
    char name[SA_NAME_MAX + 1];
    char picture[SA_GOOGLE_PICTURE_MAX + 1];
    char *claims_json;             /* compact JSON of the verified claims (ID token) or of the
                                      userinfo answer (access token): the social account's
                                      extra data. Owned; freed by sa_google_identity_clear. */
} sa_google_identity;

void sa_google_identity_clear(sa_google_identity *id);

/* Create the per-process verifier. cfg and store must outlive it; store may be NULL (keys then
 * cached in this process only). Cheap: libcurl is loaded by the first call to Google, which
 * checks each URL before contacting it (https, or http to a loopback host; sa_config_load
 * refuses other URLs up front). Returns NULL with err set: SA_ERR_NOMEM. */
sa_google *sa_google_new(const sa_config *cfg, sa_store *store, sa_error *err);
void sa_google_free(sa_google *g);

/* Verify a Google ID token (NUL-terminated) at time now. access_token, when non-NULL, must
 * match the token's at_hash if the token has one (Google puts one in tokens it returns with an
 * access token).
 * Returns SA_GOOGLE_OK with *out filled (clear it after use);
 *         SA_GOOGLE_REJECTED with *reason one of the SA_GOOGLE_R_* strings;
 *         SA_GOOGLE_UNAVAILABLE when the key could not be had from Google nor the caches;
 *         SA_GOOGLE_ERROR (err->status SA_ERR_NOMEM or SA_ERR_FATAL from the store).
 * err->msg explains every non-OK result for the log (never the token). */
sa_google_result sa_google_verify_id_token(sa_google *g, const char *id_token,
                                           const char *access_token, int64_t now,
                                           sa_google_identity *out, const char **reason,
                                           sa_error *err);

/* Verify an access token through tokeninfo (POSTed as a form, never in a URL; aud or azp one
 * of our client ids, unexpired),
 * then read the profile from userinfo (its sub must be tokeninfo's). A value that is a JWT is
 * verified as an ID token instead. Results as sa_google_verify_id_token; REJECTED reasons:
 * malformed, rejected_by_google (Google's 4xx), wrong_audience, expired, missing_sub,
 * sub_mismatch. */
sa_google_result sa_google_verify_access_token(sa_google *g, const char *access_token,
                                               int64_t now, sa_google_identity *out,
                                               const char **reason, sa_error *err);

/* Exchange an authorization code at Google's token endpoint (client id = the first of
 * cfg->google_client_ids, with cfg->google_client_secret), sending redirect_uri (NULL: the
 * configured one) and code_verifier (NULL: none; else RFC 7636's 43-128 unreserved characters),
 * then verify the returned ID token with the returned access token (or, if Google returned no
 * ID token, the access token alone). Results as sa_google_verify_id_token; Google's 4xx answer
 * is REJECTED rejected_by_google, except invalid_client (our secret is wrong), which is
 * UNAVAILABLE so the operator sees it in the log and the user gets 503, not a blame. */
sa_google_result sa_google_exchange_code(sa_google *g, const char *code,
                                         const char *code_verifier, const char *redirect_uri,
                                         int64_t now, sa_google_identity *out,
                                         const char **reason, sa_error *err);

/* True when s has the shape of a compact JWS (three base64url parts, the first decoding to a
 * JSON object). Cheap; verifies nothing. */
bool sa_google_is_jwt(const char *s);

/* A key of a JWKS document that was refused, and why (for the log). */
typedef struct sa_google_rejected_key {
    char kid[SA_GOOGLE_KID_MAX + 1]; /* printable ASCII ('?' for any other byte), cut to
                                        SA_GOOGLE_KID_MAX; "" when the key had none: for logs */
    char *raw_kid;                   /* the kid as the document spelled it (any length), owned
                                        by the keyset; NULL when none: for comparisons */
    const char *reason;              /* a fixed text, e.g. "exponent under 65537" */
} sa_google_rejected_key;

/* The keys refused in the JWKS document this verifier's cache holds, the first time they are
 * asked for after that document was parsed (fetched, read from the store, or installed);
 * afterwards 0. *keys (owned by g) stays valid until the next call into g. For the request
 * layer to log, since the library does not log. */
size_t sa_google_rejected_keys(sa_google *g, const sa_google_rejected_key **keys);

/* The store g caches Google's keys in from now on (NULL: none). The request loop may reopen
 * the store between requests: the endpoint hands g the current one before each use. */
void sa_google_set_store(sa_google *g, sa_store *store);

#endif
