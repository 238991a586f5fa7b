/* google.c: the three ways Google vouches for a user (ID token, access token, authorization
 * code) and the checks on what it says. Keys: google_jwks.c. HTTP: google_http.c. */
#include "google/google_internal.h"
#include "google/google_curl_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "codec/json.h"
#include "token/claims.h"
#include "token/jwt.h"
#include "core/text.h"

#define GOOGLE_SIG_MAX 1024          /* bytes of an RS256 signature: 8192-bit keys at most */
#define GOOGLE_VERIFIER_MIN 43       /* RFC 7636 section 4.1 */
#define GOOGLE_VERIFIER_MAX 128

/* ---- life cycle ---- */

sa_google *sa_google_new(const sa_config *cfg, sa_store *store, sa_error *err)
{
    /* No libcurl here: it is loaded, and the handle made, by the first call to Google
     * (google_http.c), which also checks each URL before contacting it; sa_config_load has
     * already refused URLs that are not https:// (or http:// to loopback). */
    sa_google *g = calloc(1, sizeof *g);
    if (!g) {
        SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
        return NULL;
    }
    g->cfg = cfg;
    g->store = store;
    return g;
}

void sa_google_free(sa_google *g)
{
    if (!g)
        return;
    const sa_google_curl *api = sa_google_curl_loaded();
    if (g->curl && api)
        api->easy_cleanup(g->curl);
    sa_google_keyset_clear(&g->keys);
    free(g);
}

void sa_google_set_store(sa_google *g, sa_store *store)
{
    g->store = store;
}

void sa_google_identity_clear(sa_google_identity *id)
{
    if (!id)
        return;
    free(id->claims_json);
    memset(id, 0, sizeof *id);
}

/* ---- small helpers ---- */

/* A string member, NUL-free. Returns SA_OK, SA_ERR_NOT_FOUND, SA_ERR_INVALID (other type,
 * embedded NUL). */
static sa_status google_string(json_object *obj, const char *key, const char **out)
{
    size_t len = 0;
    sa_status st = sa_json_get_string(obj, key, out, &len);
    if (st == SA_OK && strlen(*out) != len)
        return SA_ERR_INVALID;
    return st;
}

/* Strictly decimal, non-negative, no sign or spaces; as a JSON integer or a string (of at
 * most 15 digits, so no overflow). */
static bool google_json_time(json_object *obj, const char *key, int64_t *out)
{
    const char *s;
    if (sa_json_get_int64(obj, key, out) == SA_OK)
        return *out >= 0;
    if (google_string(obj, key, &s) != SA_OK || !s[0] || strlen(s) > 15)
        return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return true;
}

bool sa_google_tokeninfo_exp(json_object *info, int64_t now, int64_t *exp)
{
    int64_t left;
    /* A present exp is judged alone: an unusable one never falls back to expires_in. */
    if (json_object_object_get_ex(info, "exp", NULL))
        return google_json_time(info, "exp", exp);
    if (!google_json_time(info, "expires_in", &left))
        return false;
    /* Security: saturate, never overflow: 2^63-1 seconds left is "not expired". */
    *exp = left > INT64_MAX - now ? INT64_MAX : now + left;
    return true;
}

/* Base64url alphabet only (what a JWS part may hold). */
static bool google_b64url_chars(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* RFC 6750 token68: what a bearer token may hold. */
static bool google_token68(const char *s)
{
    size_t len = strlen(s), i = 0;
    if (len == 0 || len > SA_GOOGLE_TOKEN_MAX)
        return false;
    for (; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'))
            break;
    }
    while (i < len && s[i] == '=')
        i++;
    return i == len;
}

/* Printable ASCII only, 1..max bytes. */
static bool google_printable(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7E)
            return false;
    return true;
}

/* Decode one base64url part and parse it as a JSON object. Returns true with *out (a new
 * reference) on success. */
static bool google_decode_json(const char *part, size_t len, json_object **out)
{
    unsigned char *buf = NULL;
    size_t n = 0;
    bool ok = false;
    *out = NULL;

    buf = malloc(len / 4 * 3 + 3);
    if (!buf)
        return false;
    if (sa_b64url_decode(part, len, buf, len / 4 * 3 + 3, &n) != SA_OK)
        goto done;
    if (sa_json_parse((const char *)buf, n, out, NULL) != SA_OK)
        goto done;
    if (!json_object_is_type(*out, json_type_object)) {
        json_object_put(*out);
        *out = NULL;
        goto done;
    }
    ok = true;
done:
    free(buf);
    return ok;
}

/* A growable string for building form bodies and URLs. */
typedef struct google_str {
    char *s;
    size_t len, cap;
    bool nomem;
} google_str;

static void google_str_add(google_str *b, const char *s)
{
    size_t n = strlen(s);
    if (b->nomem)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->nomem = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

/* Append "&name=<escaped value>" (no '&' when first). */
static void google_str_field(google_str *b, const char *name, const char *value)
{
    char *esc = sa_google_escape(value);
    if (!esc) {
        b->nomem = true;
        return;
    }
    if (b->len)
        google_str_add(b, "&");
    google_str_add(b, name);
    google_str_add(b, "=");
    google_str_add(b, esc);
    free(esc);
}

/* Security: the buffer may hold our client secret or a user's token. */
static void google_str_free(google_str *b)
{
    if (b->s) {
        OPENSSL_cleanse(b->s, b->cap);
        free(b->s);
    }
    memset(b, 0, sizeof *b);
}

/* ---- exposed checks ---- */

bool sa_google_is_jwt(const char *s)
{
    if (!s)
        return false;
    size_t len = strnlen(s, SA_GOOGLE_TOKEN_MAX + 1);
    if (len > SA_GOOGLE_TOKEN_MAX)
        return false;
    const char *d1 = memchr(s, '.', len);
    if (!d1 || d1 == s)
        return false;
    const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - s));
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - s)))
        return false;
    if (!google_b64url_chars(s, (size_t)(d1 - s)) ||
        !google_b64url_chars(d1 + 1, (size_t)(d2 - d1 - 1)) ||
        !google_b64url_chars(d2 + 1, len - (size_t)(d2 + 1 - s)))
        return false;
    json_object *hdr = NULL;
    bool ok = google_decode_json(s, (size_t)(d1 - s), &hdr);
    json_object_put(hdr);
    return ok;
}

bool sa_google_rs256_verify(EVP_PKEY *pkey, const char *data, size_t data_len,
                            const unsigned char *sig, size_t sig_len)
{
    bool ok = false;
    EVP_MD_CTX *md = NULL;

    /* Security: the key must be RSA and the signature exactly the modulus size; the digest and
     * padding are fixed here (SHA-256, PKCS#1 v1.5), never taken from the token. */
    if (!pkey || !EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_get_size(pkey) <= 0 ||
        sig_len != (size_t)EVP_PKEY_get_size(pkey))
        return false;
    md = EVP_MD_CTX_new();
    if (!md)
        return false;
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
        EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)data, data_len) == 1)
        ok = true;
    EVP_MD_CTX_free(md);
    return ok;
}

size_t sa_google_at_hash(const char *access_token, char *out, size_t out_size)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    if (!access_token || !SHA256((const unsigned char *)access_token, strlen(access_token),
                                 digest))
        return 0;
    return sa_b64url_encode(digest, sizeof digest / 2, out, out_size);
}

/* Whether every audience in aud (string or array of strings) is one of ours, and there is at
 * least one. */
static bool google_audience_ok(const sa_config *cfg, json_object *aud)
{
    if (json_object_is_type(aud, json_type_string)) {
        const char *s = json_object_get_string(aud);
        return (size_t)json_object_get_string_len(aud) == strlen(s) &&
               sa_strlist_contains(&cfg->google_client_ids, s);
    }
    if (!json_object_is_type(aud, json_type_array))
        return false;
    size_t n = json_object_array_length(aud);
    if (n == 0 || n > SA_MAX_LIST)
        return false;
    for (size_t i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(aud, i);
        if (!json_object_is_type(a, json_type_string))
            return false;
        const char *s = json_object_get_string(a);
        /* Security: OIDC Core 3.1.3.7: a token that also names audiences we do not trust
         * is refused, not just one that fails to name us. */
        if ((size_t)json_object_get_string_len(a) != strlen(s) ||
            !sa_strlist_contains(&cfg->google_client_ids, s))
            return false;
    }
    return true;
}

/* The sub member. Returns NULL with *sub set when it is a non-empty string of at most
 * SA_SUB_MAX bytes, else the reason: missing_sub (absent, empty, null), malformed. */
static const char *google_sub(json_object *obj, const char **sub)
{
    sa_status st = google_string(obj, "sub", sub);
    if (st == SA_ERR_INVALID)
        return SA_GOOGLE_R_MALFORMED;
    if (st != SA_OK || !(*sub)[0])
        return SA_GOOGLE_R_MISSING_SUB;
    if (strlen(*sub) > SA_SUB_MAX)
        return SA_GOOGLE_R_MALFORMED;
    return NULL;
}

const char *sa_google_check_claims(const sa_config *cfg, json_object *claims,
                                   const char *access_token, int64_t now)
{
    const char *s, *why;
    json_object *aud;
    int64_t exp, iat;
    sa_status st;

    st = google_string(claims, "iss", &s);
    if (st == SA_ERR_INVALID)
        return SA_GOOGLE_R_MALFORMED;
    if (st != SA_OK || !sa_strlist_contains(&cfg->google_issuers, s))
        return SA_GOOGLE_R_WRONG_ISSUER;

    if (!json_object_object_get_ex(claims, "aud", &aud) || !google_audience_ok(cfg, aud))
        return SA_GOOGLE_R_WRONG_AUDIENCE;

    st = google_string(claims, "azp", &s);
    if (st == SA_ERR_INVALID)
        return SA_GOOGLE_R_MALFORMED;
    if (st == SA_OK && !sa_strlist_contains(&cfg->google_client_ids, s))
        return SA_GOOGLE_R_WRONG_AZP;

    /* Each time is a JSON integer (json.h refuses strings, floats and 1e300 here), both
     * required, checked as our tokens' are (claims.h). Servers' clocks drift from Google's:
     * google_leeway (issue 8.10), not our leeway. */
    sa_error ignored = {0};   /* the claim checks' reason: Google's answer is the reason code */
    sa_claim_result exp_r = sa_claim_exp(claims, now, cfg->google_leeway, &exp, &ignored);
    sa_claim_result iat_r = sa_claim_iat(claims, now, cfg->google_leeway, &iat, &ignored);
    if (exp_r == SA_CLAIM_ABSENT || exp_r == SA_CLAIM_MALFORMED || iat_r == SA_CLAIM_ABSENT ||
        iat_r == SA_CLAIM_MALFORMED)
        return SA_GOOGLE_R_MALFORMED;
    if (exp_r == SA_CLAIM_OUT_OF_WINDOW)
        return SA_GOOGLE_R_EXPIRED;
    if (iat_r == SA_CLAIM_OUT_OF_WINDOW)
        return SA_GOOGLE_R_IN_FUTURE;

    why = google_sub(claims, &s);
    if (why)
        return why;

    if (access_token) {
        /* A token without at_hash is accepted: the access token then vouches for nothing and
         * is not used. One with at_hash must match it exactly. */
        st = google_string(claims, "at_hash", &s);
        if (st == SA_ERR_INVALID)
            return SA_GOOGLE_R_BAD_AT_HASH;
        if (st == SA_OK) {
            char want[64];
            size_t want_len = sa_google_at_hash(access_token, want, sizeof want);
            if (want_len == 0 || strlen(s) != want_len || CRYPTO_memcmp(s, want, want_len) != 0)
                return SA_GOOGLE_R_BAD_AT_HASH;
        }
    }
    return NULL;
}

/* Fill the profile part of an identity from an object of claims (ID token or userinfo).
 * Returns NULL or a reason (malformed: a profile member of the wrong type or too long). */
static const char *google_fill_profile(json_object *obj, sa_google_identity *out)
{
    const char *s;
    sa_status st;
    static const struct { const char *key; size_t off; size_t size; } names[] = {
        { "given_name", offsetof(sa_google_identity, given_name), SA_NAME_MAX + 1 },
        { "family_name", offsetof(sa_google_identity, family_name), SA_NAME_MAX + 1 },
        { "name", offsetof(sa_google_identity, name), SA_NAME_MAX + 1 },
    };

    const char *why = google_sub(obj, &s);
    if (why)
        return why;
    memcpy(out->sub, s, strlen(s) + 1);

    st = google_string(obj, "email", &s);
    if (st == SA_OK) {
        if (strlen(s) > SA_EMAIL_MAX || sa_text_chars(s, strlen(s)) > SA_EMAIL_CHARS)
            return SA_GOOGLE_R_MALFORMED;
        memcpy(out->email, s, strlen(s) + 1);
    } else if (st == SA_ERR_INVALID && !sa_json_is_null(obj, "email")) {
        return SA_GOOGLE_R_MALFORMED;
    }

    /* Security: only a JSON true counts (json-c would read "false" as true). */
    bool verified = false;
    out->email_verified = sa_json_get_bool(obj, "email_verified", &verified) == SA_OK &&
                          verified && out->email[0];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        st = google_string(obj, names[i].key, &s);
        if (st == SA_OK)
            /* Kept whole up to Django's 150 characters, cut at a character beyond. */
            sa_text_copy_cut((char *)out + names[i].off, names[i].size, s, SA_NAME_CHARS);
    }
    if (google_string(obj, "picture", &s) == SA_OK && strlen(s) <= SA_GOOGLE_PICTURE_MAX)
        memcpy(out->picture, s, strlen(s) + 1);

    size_t len = 0;
    const char *text = sa_json_compact(obj, &len);
    out->claims_json = text ? strndup(text, len) : NULL;
    if (!out->claims_json)
        return "";  /* out of memory: the caller turns "" into SA_GOOGLE_ERROR */
    return NULL;
}

/* google_fill_profile as a result. Contract: SA_GOOGLE_OK; SA_GOOGLE_REJECTED with *reason
 * (err->msg "<what> refused: <reason>"); SA_GOOGLE_ERROR when out of memory. */
static sa_google_result google_take_profile(json_object *obj, const char *what,
                                            sa_google_identity *out, const char **reason,
                                            sa_error *err)
{
    const char *why = google_fill_profile(obj, out);

    if (why && !why[0]) {
        SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
        return SA_GOOGLE_ERROR;
    }
    if (why) {
        *reason = why;
        SA_FAIL(err, SA_ERR_INVALID, "%s refused: %s", what, why);
        return SA_GOOGLE_REJECTED;
    }
    return SA_GOOGLE_OK;
}

/* ---- the three flows ---- */

sa_google_result sa_google_verify_id_token(sa_google *g, const char *id_token,
                                           const char *access_token, int64_t now,
                                           sa_google_identity *out, const char **reason,
                                           sa_error *err)
{
    sa_google_result r = SA_GOOGLE_REJECTED;
    json_object *header = NULL, *claims = NULL;
    const char *alg = NULL, *kid = NULL, *why;
    unsigned char *sig = NULL;
    size_t sig_len = 0, len;
    EVP_PKEY *pkey = NULL;
    sa_status st;

    memset(out, 0, sizeof *out);
    *reason = SA_GOOGLE_R_MALFORMED;

    /* Security: bounded before any work. */
    len = id_token ? strnlen(id_token, SA_GOOGLE_TOKEN_MAX + 1) : 0;
    if (len == 0 || len > SA_GOOGLE_TOKEN_MAX) {
        SA_FAIL(err, SA_ERR_INVALID, "ID token empty or over %d bytes", SA_GOOGLE_TOKEN_MAX);
        goto done;
    }
    const char *d1 = memchr(id_token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - id_token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - id_token))) {
        SA_FAIL(err, SA_ERR_INVALID, "ID token is not three dot-separated parts");
        goto done;
    }
    size_t h_len = (size_t)(d1 - id_token), p_len = (size_t)(d2 - d1 - 1);
    size_t s_len = len - (size_t)(d2 + 1 - id_token);

    if (!google_decode_json(id_token, h_len, &header)) {
        SA_FAIL(err, SA_ERR_INVALID, "ID token header is not a base64url JSON object");
        goto done;
    }
    /* Security: RS256 and nothing else, decided before any key is looked up: this is what
     * stops alg:none and HS256-keyed-with-the-public-key tokens. */
    if (google_string(header, "alg", &alg) != SA_OK) {
        SA_FAIL(err, SA_ERR_INVALID, "ID token header has no alg");
        goto done;
    }
    if (strcmp(alg, "RS256") != 0) {
        *reason = SA_GOOGLE_R_UNSUPPORTED_ALG;
        SA_FAIL(err, SA_ERR_INVALID, "ID token alg is not RS256");
        goto done;
    }
    /* Security: we understand no critical extension, so any `crit` is refused (RFC 7515). */
    if (json_object_object_get_ex(header, "crit", NULL)) {
        SA_FAIL(err, SA_ERR_INVALID, "ID token header has crit");
        goto done;
    }
    if (google_string(header, "kid", &kid) != SA_OK || !kid[0] ||
        strlen(kid) > SA_GOOGLE_KID_MAX) {
        *reason = SA_GOOGLE_R_UNKNOWN_KEY;
        SA_FAIL(err, SA_ERR_INVALID, "ID token has no usable kid");
        goto done;
    }
    if (!google_decode_json(d1 + 1, p_len, &claims)) {
        SA_FAIL(err, SA_ERR_INVALID, "ID token payload is not a base64url JSON object");
        goto done;
    }
    sig = malloc(GOOGLE_SIG_MAX);
    if (!sig) {
        r = SA_GOOGLE_ERROR;
        SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (s_len == 0 || s_len > GOOGLE_SIG_MAX / 3 * 4 + 4 ||
        sa_b64url_decode(d2 + 1, s_len, sig, GOOGLE_SIG_MAX, &sig_len) != SA_OK) {
        SA_FAIL(err, SA_ERR_INVALID, "ID token signature is not base64url");
        goto done;
    }

    st = sa_google_key_for(g, kid, now, &pkey, err);
    if (st == SA_ERR_NOT_FOUND) {
        *reason = SA_GOOGLE_R_UNKNOWN_KEY;
        goto done;
    }
    if (st == SA_ERR_UNAVAILABLE) {
        r = SA_GOOGLE_UNAVAILABLE;
        goto done;
    }
    if (st != SA_OK) {
        r = SA_GOOGLE_ERROR;
        goto done;
    }
    if (!sa_google_rs256_verify(pkey, id_token, (size_t)(d2 - id_token), sig, sig_len)) {
        *reason = SA_GOOGLE_R_INVALID_SIGNATURE;
        SA_FAIL(err, SA_ERR_INVALID, "ID token signature does not verify");
        goto done;
    }
    why = sa_google_check_claims(g->cfg, claims, access_token, now);
    if (why) {
        *reason = why;
        SA_FAIL(err, SA_ERR_INVALID, "ID token refused: %s", why);
        goto done;
    }
    r = google_take_profile(claims, "ID token profile", out, reason, err);
done:
    if (r != SA_GOOGLE_OK)
        sa_google_identity_clear(out);
    if (r != SA_GOOGLE_REJECTED)
        *reason = NULL;
    free(sig);
    json_object_put(header);
    json_object_put(claims);
    return r;
}

/* Judge the HTTP status of an answer from Google. Returns SA_GOOGLE_OK for 200, REJECTED
 * (rejected_by_google) for a 4xx other than 408/429, UNAVAILABLE otherwise. */
static sa_google_result google_judge_status(const sa_google_response *res, const char *what,
                                            const char **reason, sa_error *err)
{
    if (res->status == 200)
        return SA_GOOGLE_OK;
    if (res->status >= 400 && res->status < 500 && res->status != 408 && res->status != 429) {
        *reason = SA_GOOGLE_R_REJECTED_BY_GOOGLE;
        SA_FAIL(err, SA_ERR_INVALID, "Google's %s answered HTTP %ld", what, res->status);
        return SA_GOOGLE_REJECTED;
    }
    SA_FAIL(err, SA_ERR_UNAVAILABLE, "Google's %s answered HTTP %ld", what, res->status);
    return SA_GOOGLE_UNAVAILABLE;
}

/* Parse a 200 answer's body as a JSON object; nonsense from Google is UNAVAILABLE. */
static sa_google_result google_answer_json(const sa_google_response *res, const char *what,
                                           json_object **out, sa_error *err)
{
    sa_error why = { 0 };
    *out = NULL;
    if (sa_json_parse(res->body, res->body_len, out, &why) != SA_OK ||
        !json_object_is_type(*out, json_type_object)) {
        json_object_put(*out);
        *out = NULL;
        /* The parser's reason names a position, never the text: safe to log, and it tells
         * an operator why (e.g. "Integer out of range": every integer must fit int64). */
        SA_FAIL(err, SA_ERR_UNAVAILABLE, "Google's %s sent something that is not a JSON object "
                "(%.120s)", what, why.msg[0] ? why.msg : "not an object");
        return SA_GOOGLE_UNAVAILABLE;
    }
    return SA_GOOGLE_OK;
}

/* Whether a 4xx answer says our client id or secret is wrong (invalid_client,
 * unauthorized_client): an operator's problem, not the user's; err says so (SA_ERR_CONFIG). */
static bool google_client_refused(const sa_google_response *res, const char *what,
                                  sa_error *err)
{
    json_object *answer = NULL;
    const char *error = NULL;
    bool refused = res->status >= 400 && res->status < 500 &&
                   sa_json_parse(res->body, res->body_len, &answer, NULL) == SA_OK &&
                   json_object_is_type(answer, json_type_object) &&
                   google_string(answer, "error", &error) == SA_OK &&
                   (strcmp(error, "invalid_client") == 0 ||
                    strcmp(error, "unauthorized_client") == 0);

    if (refused)
        SA_FAIL(err, SA_ERR_CONFIG, "Google's %s refused our client credentials (%s)", what,
                error);
    json_object_put(answer);
    return refused;
}

/* Ask Google: GET url (with `Authorization: Bearer <bearer>` when bearer is non-NULL), or
 * POST form when form is non-NULL, and take the answer as a JSON object. err->msg names what.
 * Contract: SA_GOOGLE_OK with *answer (a new reference; NULL on every other result);
 *   SA_GOOGLE_REJECTED with *reason rejected_by_google (a 4xx other than 408/429);
 *   SA_GOOGLE_UNAVAILABLE when no answer came, for any other status, for a 200 that is not a
 *   JSON object, and, when a form was posted (tokeninfo's, or the token endpoint's with our
 *   client credentials), for a 4xx that refuses our client (err->status SA_ERR_CONFIG);
 *   SA_GOOGLE_ERROR when out of memory. */
static sa_google_result google_ask(sa_google *g, const char *what, const char *url,
                                   const char *bearer, const char *form, json_object **answer,
                                   const char **reason, sa_error *err)
{
    sa_google_response res = { 0 };
    sa_google_result r;
    sa_status st;

    *answer = NULL;
    st = sa_google_http(g, url, bearer, form, &res, err);
    if (st != SA_OK)
        r = st == SA_ERR_NOMEM ? SA_GOOGLE_ERROR : SA_GOOGLE_UNAVAILABLE;
    else if (form && google_client_refused(&res, what, err))
        r = SA_GOOGLE_UNAVAILABLE;
    else
        r = google_judge_status(&res, what, reason, err);
    if (r == SA_GOOGLE_OK)
        r = google_answer_json(&res, what, answer, err);
    sa_google_response_clear(&res);
    return r;
}

sa_google_result sa_google_verify_access_token(sa_google *g, const char *access_token,
                                               int64_t now, sa_google_identity *out,
                                               const char **reason, sa_error *err)
{
    sa_google_result r = SA_GOOGLE_REJECTED;
    google_str form = { 0 };
    json_object *info = NULL, *profile = NULL;
    const char *aud = NULL, *azp = NULL, *info_sub = NULL, *s;
    int64_t exp = 0;

    memset(out, 0, sizeof *out);
    *reason = SA_GOOGLE_R_MALFORMED;

    if (access_token && sa_google_is_jwt(access_token))
        return sa_google_verify_id_token(g, access_token, NULL, now, out, reason, err);

    /* Security: the token goes into a form body and a header: token68 characters only. */
    if (!access_token || !google_token68(access_token)) {
        SA_FAIL(err, SA_ERR_INVALID, "access token empty, too long or with odd characters");
        goto done;
    }
    if (!g->cfg->google_tokeninfo_url[0] || !g->cfg->google_userinfo_url[0]) {
        r = SA_GOOGLE_UNAVAILABLE;
        SA_FAIL(err, SA_ERR_CONFIG, "google_tokeninfo_url/google_userinfo_url not configured");
        goto done;
    }

    /* 1. tokeninfo: is this token one of ours, and alive?
     * Security: the token goes in a POST form body, not the URL, where proxies and logs
     * would keep it. */
    google_str_field(&form, "access_token", access_token);
    if (form.nomem) {
        r = SA_GOOGLE_ERROR;
        SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
        goto done;
    }
    r = google_ask(g, "tokeninfo", g->cfg->google_tokeninfo_url, NULL, form.s, &info, reason,
                   err);
    if (r != SA_GOOGLE_OK)
        goto done;
    r = SA_GOOGLE_REJECTED;
    if (google_string(info, "aud", &aud) != SA_OK)
        aud = NULL;
    if (google_string(info, "azp", &azp) != SA_OK)
        azp = NULL;
    if (!((aud && sa_strlist_contains(&g->cfg->google_client_ids, aud)) ||
          (azp && sa_strlist_contains(&g->cfg->google_client_ids, azp)))) {
        *reason = SA_GOOGLE_R_WRONG_AUDIENCE;
        SA_FAIL(err, SA_ERR_INVALID, "access token was issued to another client");
        goto done;
    }
    if (!sa_google_tokeninfo_exp(info, now, &exp)) {
        SA_FAIL(err, SA_ERR_INVALID, "tokeninfo gave no usable expiry");
        goto done;
    }
    if (sa_claim_expired(exp, now, g->cfg->google_leeway)) {
        *reason = SA_GOOGLE_R_EXPIRED;
        SA_FAIL(err, SA_ERR_INVALID, "access token expired");
        goto done;
    }
    if (google_string(info, "sub", &info_sub) != SA_OK)
        info_sub = NULL;

    /* 2. userinfo: who is it? */
    r = google_ask(g, "userinfo", g->cfg->google_userinfo_url, access_token, NULL, &profile,
                   reason, err);
    if (r == SA_GOOGLE_OK)
        r = google_take_profile(profile, "userinfo", out, reason, err);
    if (r != SA_GOOGLE_OK)
        goto done;
    r = SA_GOOGLE_REJECTED;
    if (info_sub && strcmp(info_sub, out->sub) != 0) {
        *reason = SA_GOOGLE_R_SUB_MISMATCH;
        SA_FAIL(err, SA_ERR_INVALID, "tokeninfo and userinfo name different users");
        goto done;
    }
    /* tokeninfo speaks of e-mail verification as the string "true". */
    if (!out->email_verified && out->email[0] && google_string(info, "email", &s) == SA_OK &&
        strcmp(s, out->email) == 0 && google_string(info, "email_verified", &s) == SA_OK &&
        strcmp(s, "true") == 0)
        out->email_verified = true;
    *reason = NULL;
    r = SA_GOOGLE_OK;
done:
    if (r != SA_GOOGLE_OK)
        sa_google_identity_clear(out);
    if (r != SA_GOOGLE_REJECTED)
        *reason = NULL;
    google_str_free(&form);
    json_object_put(info);
    json_object_put(profile);
    return r;
}

sa_google_result sa_google_exchange_code(sa_google *g, const char *code,
                                         const char *code_verifier, const char *redirect_uri,
                                         int64_t now, sa_google_identity *out,
                                         const char **reason, sa_error *err)
{
    sa_google_result r = SA_GOOGLE_REJECTED;
    google_str form = { 0 };
    json_object *answer = NULL;
    const char *id_token = NULL, *access_token = NULL;
    const sa_config *cfg = g->cfg;

    memset(out, 0, sizeof *out);
    *reason = SA_GOOGLE_R_MALFORMED;

    if (!code || !google_printable(code, SA_GOOGLE_TOKEN_MAX)) {
        SA_FAIL(err, SA_ERR_INVALID, "code empty, too long or with odd characters");
        goto done;
    }
    if (code_verifier) {
        size_t vlen = strlen(code_verifier);
        bool ok = vlen >= GOOGLE_VERIFIER_MIN && vlen <= GOOGLE_VERIFIER_MAX;
        for (size_t i = 0; ok && i < vlen; i++) {
            char c = code_verifier[i];
            ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~';
        }
        if (!ok) {
            SA_FAIL(err, SA_ERR_INVALID, "code_verifier is not RFC 7636's 43-128 characters");
            goto done;
        }
    }
    if (!redirect_uri)
        redirect_uri = cfg->google_redirect_uri;
    if (redirect_uri[0] && !google_printable(redirect_uri, 2048)) {
        SA_FAIL(err, SA_ERR_INVALID, "redirect_uri too long or with odd characters");
        goto done;
    }
    if (!cfg->google_token_url[0] || cfg->google_client_ids.n == 0) {
        r = SA_GOOGLE_UNAVAILABLE;
        SA_FAIL(err, SA_ERR_CONFIG, "google_token_url/google_client_ids not configured");
        goto done;
    }

    google_str_field(&form, "grant_type", "authorization_code");
    google_str_field(&form, "code", code);
    google_str_field(&form, "client_id", cfg->google_client_ids.v[0]);
    google_str_field(&form, "client_secret", cfg->google_client_secret);
    if (redirect_uri[0])
        google_str_field(&form, "redirect_uri", redirect_uri);
    if (code_verifier)
        google_str_field(&form, "code_verifier", code_verifier);
    if (form.nomem) {
        r = SA_GOOGLE_ERROR;
        SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
        goto done;
    }

    r = google_ask(g, "token endpoint", cfg->google_token_url, NULL, form.s, &answer, reason,
                   err);
    if (r != SA_GOOGLE_OK)
        goto done;
    if (google_string(answer, "id_token", &id_token) != SA_OK)
        id_token = NULL;
    if (google_string(answer, "access_token", &access_token) != SA_OK)
        access_token = NULL;
    if (id_token)
        r = sa_google_verify_id_token(g, id_token, access_token, now, out, reason, err);
    else if (access_token)
        r = sa_google_verify_access_token(g, access_token, now, out, reason, err);
    else {
        r = SA_GOOGLE_UNAVAILABLE;
        SA_FAIL(err, SA_ERR_UNAVAILABLE, "Google's token endpoint returned no token");
    }
done: /* (after an inner verification, these repeat what it did: harmless) */
    if (r != SA_GOOGLE_OK)
        sa_google_identity_clear(out);
    if (r != SA_GOOGLE_REJECTED)
        *reason = NULL;
    google_str_free(&form);
    json_object_put(answer);
    return r;
}
