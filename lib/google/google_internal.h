/* google_internal.h: the pieces google.c, google_http.c and google_jwks.c share, and the
 * verifier's state: not installed, not for endpoints (they use google.h). The unit tests
 * and fuzz targets include it to test the pieces one by one. */
#ifndef SA_GOOGLE_INTERNAL_H
#define SA_GOOGLE_INTERNAL_H

#include "google/google.h"

#include <openssl/evp.h>

typedef struct sa_google_key {
    char kid[SA_GOOGLE_KID_MAX + 1];
    EVP_PKEY *pkey;                  /* RSA public key, 2048 to 8192 bits, checked */
} sa_google_key;

/* A parsed JWKS document and when it stops being fresh. */
typedef struct sa_google_keyset {
    sa_google_key *keys;
    size_t n;
    sa_google_rejected_key rejected[SA_GOOGLE_MAX_KEYS]; /* RS256 keys refused */
    size_t n_rejected;
    bool rejected_reported;          /* sa_google_rejected_keys has handed them out */
    char *doc;                       /* the document text it was parsed from (NUL-terminated);
                                        after sa_google_jwks_checked, our checked document */
    size_t doc_len;
    int64_t fetched_at;
    int64_t expires_at;
    unsigned char source_sha256[32]; /* SHA-256 of Google's text the keys came from */
    bool source_known;               /* source_sha256 is set */
} sa_google_keyset;

void sa_google_keyset_clear(sa_google_keyset *set);

/* Parse a JWKS document (len bytes). Keys that are not RSA signature keys for RS256 (kty
 * other than RSA, alg other than RS256, use other than sig; EC keys among them) are skipped
 * unparsed. An RS256 key is refused, and listed in out->rejected with its kid and the reason,
 * unless it has a kid of at most SA_GOOGLE_KID_MAX bytes, base64url n and e, a modulus of
 * 2048 to 8192 bits that is odd, an odd exponent of at least 65537 (at most 64 bits), and
 * passes OpenSSL's EVP_PKEY_public_check. Only the first SA_GOOGLE_CHECKED_KEYS RS256 keys,
 * and only up to SA_GOOGLE_CHECK_BITS modulus bits in all, are judged; later keys are refused
 * unjudged. Kids are compared as sent (raw bytes). A duplicate kid, more than
 * SA_GOOGLE_MAX_KEYS keys,
 * a member of the wrong type, or no usable key at all (err->msg then names the first refused
 * kid and why) make the whole document SA_ERR_INVALID. SA_ERR_NOMEM on allocation failure.
 * On SA_OK *out owns the keys and a copy of the text. A SA_GOOGLE_CHECKED_MEMBER in the
 * document is ignored: this is the parser for Google's answers. */
sa_status sa_google_jwks_parse(const char *doc, size_t len, sa_google_keyset *out,
                               sa_error *err);

/* Our checked document: the JWKS document a process that fetched and accepted Google's keys
 * shares through the store, written with json-c:
 *   {"keys":[<each accepted JWK object, all its members, as Google sent it>],
 *    "socialauth_checked":{"google_sha256":"<hex SHA-256 of Google's text>",
 *                          "refused":[{"kid":"<kid as sent; absent when it had none>",
 *                                      "reason":"<why>"}, ...]}}
 * Security: the store is written only by the service user, and whoever can write it can put
 * a valid key of their own there (no check of ours can stop that), so trusting our own
 * recorded verdict loses nothing; a document from Google is always fully checked
 * (sa_google_jwks_parse ignores the member), and a stored one without it (an older release's)
 * is fully checked too. */
#define SA_GOOGLE_CHECKED_MEMBER "socialauth_checked"
#define SA_GOOGLE_CHECKED_SHA256 "google_sha256"
#define SA_GOOGLE_CHECKED_MAX (2 * SA_GOOGLE_RESPONSE_MAX) /* bytes of a checked document: a
                                  subset of Google's text plus at most 32 refusals */

/* Parse a JWKS document read from the store (at most SA_GOOGLE_CHECKED_MAX bytes): as
 * sa_google_jwks_parse, except that a document
 * carrying SA_GOOGLE_CHECKED_MEMBER is taken with our recorded verdict: every rule above
 * applies to its keys except OpenSSL's EVP_PKEY_public_check (the fetching process ran it),
 * and out->rejected is rebuilt from its refused list (printable, cut as kids are), so a kid
 * refused there is still known as refused. A malformed member (not an object, refused not an
 * array of at most SA_GOOGLE_MAX_KEYS objects each with a string reason and an optional string
 * kid, a google_sha256 not 64 hex digits, a kid repeated) makes the document SA_ERR_INVALID. */
sa_status sa_google_jwks_parse_stored(const char *doc, size_t len, sa_google_keyset *out,
                                      sa_error *err);

/* Turn set (just accepted by sa_google_jwks_parse from Google's text whose SHA-256 is sha256)
 * into our checked document: set->doc is replaced by it and set->source_sha256 set. Returns
 * SA_OK, SA_ERR_INVALID (the checked text would exceed SA_GOOGLE_CHECKED_MAX bytes, or set->doc
 * is not JSON with a keys member: the document is then refused), SA_ERR_NOMEM; on an error
 * set->doc is unchanged. */
sa_status sa_google_jwks_checked(sa_google_keyset *set, const unsigned char sha256[32],
                                 sa_error *err);

/* The key with this kid in set, or NULL. */
EVP_PKEY *sa_google_keyset_find(const sa_google_keyset *set, const char *kid);

/* Install a JWKS document in the process cache (and in the store, when the verifier has one)
 * as if just fetched at fetched_at with freshness until expires_at. For tests and warm-up.
 * Returns SA_OK, SA_ERR_INVALID (document rejected), SA_ERR_NOMEM. */
sa_status sa_google_keys_install(sa_google *g, const char *doc, size_t len, int64_t fetched_at,
                                 int64_t expires_at, sa_error *err);

/* The public key for kid at time now, following the cache rules above. Returns SA_OK with
 * *pkey (owned by g, valid until the next call), SA_ERR_NOT_FOUND (no such kid in fresh keys,
 * or a forced refetch was not allowed / did not bring it, or the cached document's key under
 * that kid was refused: then at once, fresh or stale, without a refetch), SA_ERR_UNAVAILABLE (no usable keys
 * and Google unreachable), SA_ERR_NOMEM, SA_ERR_FATAL (store needs recovery). */
sa_status sa_google_key_for(sa_google *g, const char *kid, int64_t now, EVP_PKEY **pkey,
                            sa_error *err);

/* Verify an RS256 signature (PKCS#1 v1.5, SHA-256) over data with pkey.
 * Returns true only for a good signature. */
bool sa_google_rs256_verify(EVP_PKEY *pkey, const char *data, size_t data_len,
                            const unsigned char *sig, size_t sig_len);

/* The OIDC at_hash of an access token for RS256: base64url of the left half of its SHA-256,
 * written NUL-terminated to out (at least 23 bytes). Returns the length, 0 on failure. */
size_t sa_google_at_hash(const char *access_token, char *out, size_t out_size);

/* Check the claims of an ID token whose signature has been verified. Returns NULL when they
 * pass, else the SA_GOOGLE_R_* reason. access_token may be NULL. */
const char *sa_google_check_claims(const sa_config *cfg, json_object *claims,
                                   const char *access_token, int64_t now);

/* When the access token tokeninfo describes expires (unix seconds): its exp, else now +
 * expires_in, saturating at INT64_MAX; each a non-negative decimal as a JSON integer or a
 * string of at most 15 digits. now must be non-negative. Returns false, *exp unspecified,
 * when neither is usable (absent, negative, another type), or when exp is present but not
 * usable (no fallback to expires_in): the token is then refused. */
bool sa_google_tokeninfo_exp(json_object *info, int64_t now, int64_t *exp);

/* Max-age (seconds) from a Cache-Control header value and an Age header value (either may be
 * NULL): SA_GOOGLE_DEFAULT_MAX_AGE when there is none, SA_GOOGLE_MIN_MAX_AGE for
 * no-cache/no-store/max-age=0 or when Age has used it all up (a source that forbids caching
 * must not make every login a fetch), else max-age minus Age, at most SA_GOOGLE_MAX_MAX_AGE. */
int64_t sa_google_max_age(const char *cache_control, const char *age);

/* One HTTP exchange with Google. */
typedef struct sa_google_response {
    long status;                     /* HTTP status; 0 when no answer came */
    char *body;                      /* NUL-terminated, at most SA_GOOGLE_RESPONSE_MAX bytes */
    size_t body_len;
    char cache_control[256];         /* Cache-Control header of the answer, "" if none */
    char age[32];                    /* Age header, "" if none */
} sa_google_response;

void sa_google_response_clear(sa_google_response *res);

/* GET url (with an optional `Authorization: Bearer <bearer>`), or POST form (already
 * application/x-www-form-urlencoded) when form is non-NULL. Returns SA_OK when an answer
 * came (any status but a redirect: the caller judges it), SA_ERR_UNAVAILABLE (no connection,
 * timeout, TLS failure, a 3xx redirect, answer over SA_GOOGLE_RESPONSE_MAX: err->msg says
 * which, with curl's error text), SA_ERR_NOMEM. The body is wiped when cleared. */
sa_status sa_google_http(sa_google *g, const char *url, const char *bearer, const char *form,
                         sa_google_response *res, sa_error *err);

/* Percent-encode s (all but RFC 3986 unreserved characters) into a newly allocated string
 * (free()), or NULL when out of memory. */
char *sa_google_escape(const char *s);

/* Whether url is acceptable for talking to Google: https://, or http:// to 127.0.0.1, ::1 or
 * localhost. */
bool sa_google_url_allowed(const char *url);

/* The verifier's state, shared by google*.c only. */
struct sa_google {
    const sa_config *cfg;
    sa_store *store;                 /* may be NULL */
    void *curl;                      /* CURL *, reused so connections are kept alive */
    sa_google_keyset keys;           /* parsed keys of the JWKS document last seen */
    int64_t retry_after;             /* no JWKS fetch before this after a failure */
    int64_t forced_at;               /* last forced refetch seen (the store's, or ours) */
    char fetch_error[160];           /* why the last JWKS fetch failed, "" after a success */
    unsigned char refused_sha256[32]; /* SHA-256 of the last fetched document we refused: the
                                         same text again is refused without parsing */
    bool refused_known;
    char refused_why[160];              /* why that document was refused */
};

#endif
