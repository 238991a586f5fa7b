/* fuzz_google.c: libFuzzer target for what Google hands us (google.h): Cache-Control/Age, ID
 * tokens and their claims, the JWKS fetch, and the tokeninfo, userinfo and token-endpoint
 * answers.
 *
 * Google's side is scripted: the program is linked with -Wl,--wrap=sa_google_http, so every
 * call the library makes to Google gets the next "answer" of the input instead of the network.
 * The verifier holds the keys of a JWKS built at start-up from a 2048-bit RSA key (kid
 * "fuzz-kid") that this program signs with; fixed time FUZZ_NOW.
 *
 * (JWKS documents alone are fuzz_jwks's.) First byte:
 *   'C' "<cache-control>\n<age>" → sa_google_max_age;
 *   'T' "<token>[\n<access token>]" verified as an ID token as is;
 *   'S' "<header JSON>\n<payload JSON>[\n<access token>]" signed here with the fuzz key, then
 *       verified: the claim checks behind the signature are reached;
 *   'A' an access token's verification (tokeninfo, then userinfo) against scripted answers;
 *   'X' a code exchange (token endpoint, then what its answer leads to) against scripted
 *       answers;
 *   'F' the process keys made stale, then a signed token whose key must be fetched: the
 *       scripted answers are the JWKS fetches.
 * Scripted answers follow, separated by NUL bytes; each answer's first byte picks the HTTP
 * status (or no answer at all), then (in 'F' only) a Cache-Control line, then the body; the
 * body "@jwks" stands for the JWKS of the fuzz key (unknown when the corpus was written).
 * Invariants: every result is one of the four with reason set exactly for REJECTED; an OK
 * identity has a bounded non-empty sub and parseable claims; no call to Google happens
 * beyond what the flow allows (at most 3 per input). */
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "fuzz_check.h"
#include "google/google_internal.h"
#include "codec/json.h"
#include "token/jwt.h"

#define FUZZ_NOW INT64_C(1700000100)
#define FUZZ_CLIENT "fuzz-client.apps.googleusercontent.com"

static sa_config cfg;
static sa_google *google;
static EVP_PKEY *fuzz_key;

/* ---- scripted Google ---- */

static char *fuzz_jwks;
static const uint8_t *script;
static size_t script_len;
static bool script_cache_control;
static int script_calls;

sa_status __wrap_sa_google_http(sa_google *g, const char *url, const char *bearer,
                                 const char *form, sa_google_response *res, sa_error *err);

sa_status __wrap_sa_google_http(sa_google *g, const char *url, const char *bearer,
                                 const char *form, sa_google_response *res, sa_error *err)
{
    static const long statuses[] = {200, 200, 200, 200, 200, 200, 400, 401, 403,
                                    404, 408, 429, 500, 502, 503, 302, 0};
    memset(res, 0, sizeof *res);
    script_calls++;
    CHECK(script_calls <= 3);
    CHECK(url && url[0]);
    if (!script || script_len == 0)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "fuzz: no more answers");
    const uint8_t *end = memchr(script, 0, script_len);
    size_t n = end ? (size_t)(end - script) : script_len;
    const uint8_t *a = script;
    script = end ? end + 1 : NULL;
    script_len = end ? script_len - n - 1 : 0;
    if (n == 0)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "fuzz: empty answer");
    res->status = statuses[a[0] % (sizeof statuses / sizeof statuses[0])];
    if (res->status == 0)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "fuzz: no answer");
    a++;
    n--;
    if (script_cache_control) {
        const uint8_t *nl = memchr(a, '\n', n);
        size_t c = nl ? (size_t)(nl - a) : n;
        size_t keep = c < sizeof res->cache_control ? c : sizeof res->cache_control - 1;
        memcpy(res->cache_control, a, keep);
        res->cache_control[keep] = '\0';
        a += nl ? c + 1 : c;
        n -= nl ? c + 1 : c;
    }
    if (n == 5 && memcmp(a, "@jwks", 5) == 0) { /* the JWKS of the key this program signs with */
        a = (const uint8_t *)fuzz_jwks;
        n = strlen(fuzz_jwks);
    }
    if (n > SA_GOOGLE_RESPONSE_MAX)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "fuzz: answer too large");
    res->body = malloc(n + 1);
    CHECK(res->body != NULL);
    memcpy(res->body, a, n);
    res->body[n] = '\0';
    res->body_len = n;
    return SA_OK;
}

/* ---- signing with the fuzz key ---- */

static size_t b64url_bn(EVP_PKEY *key, const char *name, char *out, size_t size)
{
    BIGNUM *bn = NULL;
    CHECK(EVP_PKEY_get_bn_param(key, name, &bn) == 1);
    unsigned char bytes[512];
    int n = BN_bn2bin(bn, bytes);
    BN_free(bn);
    return sa_b64url_encode(bytes, (size_t)n, out, size);
}

static void fuzz_init(void)
{
    sa_error err = {0};
    sa_config_defaults(&cfg);
    static const char text[] =
        "google_client_ids = " FUZZ_CLIENT " other-client\n"
        "google_issuers = https://accounts.google.com accounts.google.com\n"
        "google_jwks_url = https://www.googleapis.com/oauth2/v3/certs\n"
        "google_tokeninfo_url = https://oauth2.googleapis.com/tokeninfo\n"
        "google_userinfo_url = https://openidconnect.googleapis.com/v1/userinfo\n"
        "google_token_url = https://oauth2.googleapis.com/token\n"
        "google_client_secret = fuzz-secret\n"
        "leeway = 5\n";
    CHECK(sa_config_parse(&cfg, text, sizeof text - 1, "fuzz.conf", &err) == SA_OK);
    fuzz_key = EVP_RSA_gen(2048);
    CHECK(fuzz_key != NULL);
    char n[400], e[16];
    size_t nl = b64url_bn(fuzz_key, OSSL_PKEY_PARAM_RSA_N, n, sizeof n);
    size_t el = b64url_bn(fuzz_key, OSSL_PKEY_PARAM_RSA_E, e, sizeof e);
    n[nl] = e[el] = '\0';
    size_t cap = nl + el + 200;
    fuzz_jwks = malloc(cap);
    CHECK(fuzz_jwks != NULL);
    snprintf(fuzz_jwks, cap,
             "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"RS256\",\"use\":\"sig\","
             "\"kid\":\"fuzz-kid\",\"n\":\"%s\",\"e\":\"%s\"}]}", n, e);
    google = sa_google_new(&cfg, NULL, &err);
    CHECK(google != NULL);
}

/* Fresh keys, no refetch history: each input starts from the same state. */
static void fuzz_reset(int64_t expires_at)
{
    sa_error err = {0};
    CHECK(sa_google_keys_install(google, fuzz_jwks, strlen(fuzz_jwks), FUZZ_NOW - 10,
                                 expires_at, &err) == SA_OK);
    google->retry_after = 0;
    google->forced_at = 0;
    script = NULL;
    script_len = 0;
    script_cache_control = false;
    script_calls = 0;
}

/* "<b64 header>.<b64 payload>.<RS256 signature>", malloc'd. */
static char *sign(const uint8_t *header, size_t hlen, const uint8_t *payload, size_t plen)
{
    size_t cap = (hlen + plen) / 3 * 4 + 600;
    char *tok = malloc(cap);
    CHECK(tok != NULL);
    size_t t = sa_b64url_encode(header, hlen, tok, cap);
    tok[t++] = '.';
    t += sa_b64url_encode(payload, plen, tok + t, cap - t);
    unsigned char sig[256];
    size_t sig_len = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    CHECK(md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, fuzz_key) == 1 &&
          EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)tok, t) == 1);
    EVP_MD_CTX_free(md);
    tok[t++] = '.';
    t += sa_b64url_encode(sig, sig_len, tok + t, cap - t);
    tok[t] = '\0';
    return tok;
}

/* ---- checks ---- */

static void check_result(sa_google_result r, const char *reason, const sa_error *err,
                         sa_google_identity *id)
{
    CHECK(r == SA_GOOGLE_OK || r == SA_GOOGLE_REJECTED || r == SA_GOOGLE_UNAVAILABLE ||
          r == SA_GOOGLE_ERROR);
    CHECK((r == SA_GOOGLE_REJECTED) == (reason != NULL));
    if (getenv("FUZZ_VERBOSE")) /* for whoever writes seeds: which path an input takes */
        fprintf(stderr, "result %d, reason %s, %s\n", (int)r, reason ? reason : "-", err->msg);
    if (r != SA_GOOGLE_OK) {
        CHECK(err->msg[0] != '\0');
        CHECK(id->claims_json == NULL);
        return;
    }
    size_t sub = strnlen(id->sub, sizeof id->sub);
    CHECK(sub >= 1 && sub <= SA_SUB_MAX);
    CHECK(strnlen(id->email, sizeof id->email) <= SA_EMAIL_MAX);
    CHECK(strnlen(id->given_name, sizeof id->given_name) <= SA_NAME_MAX);
    CHECK(strnlen(id->family_name, sizeof id->family_name) <= SA_NAME_MAX);
    CHECK(strnlen(id->picture, sizeof id->picture) <= SA_GOOGLE_PICTURE_MAX);
    CHECK(id->claims_json != NULL);
    json_object *o = NULL;
    CHECK(sa_json_parse(id->claims_json, strlen(id->claims_json), &o, NULL) == SA_OK);
    CHECK(json_object_is_type(o, json_type_object));
    json_object_put(o);
    sa_google_identity_clear(id);
}

/* A NUL-terminated copy of [data, data+n). */
static char *dup_text(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

static void fuzz_max_age(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t n = nl ? (size_t)(nl - data) : size;
    char *cc = dup_text(data, n);
    char *age = nl ? dup_text(nl + 1, size - n - 1) : NULL;
    int64_t v = sa_google_max_age(cc, age);
    CHECK(v >= 0 && v <= SA_GOOGLE_MAX_MAX_AGE);
    free(cc);
    free(age);
}

/* Split "<a>\n<b>[\n<c>]" in place into up to three NUL-terminated parts. */
static int split3(char *s, char *part[3])
{
    int n = 0;
    part[0] = part[1] = part[2] = NULL;
    while (n < 3) {
        part[n++] = s;
        char *nl = n < 3 ? strchr(s, '\n') : NULL;
        if (!nl)
            break;
        *nl = '\0';
        s = nl + 1;
    }
    return n;
}

static void verify(const char *token, const char *access_token)
{
    sa_google_identity id;
    const char *reason = "unset";
    sa_error err = {0};
    sa_google_result r =
        sa_google_verify_id_token(google, token, access_token, FUZZ_NOW, &id, &reason, &err);
    check_result(r, reason, &err, &id);
}

static void fuzz_raw_token(const uint8_t *data, size_t size)
{
    char *text = dup_text(data, size), *part[3];
    int n = split3(text, part);
    verify(part[0], n > 1 ? part[1] : NULL);
    free(text);
}

static void fuzz_signed(const uint8_t *data, size_t size, bool stale)
{
    if (stale) {
        fuzz_reset(FUZZ_NOW - 1);
        /* The answers come after the token text, past its first NUL. */
        const uint8_t *end = memchr(data, 0, size);
        if (end) {
            script = end + 1;
            script_len = size - (size_t)(end - data) - 1;
            size = (size_t)(end - data);
        }
        script_cache_control = true;
    }
    char *text = dup_text(data, size), *part[3];
    int n = split3(text, part);
    if (n >= 2) {
        char *tok = sign((const uint8_t *)part[0], strlen(part[0]), (const uint8_t *)part[1],
                         strlen(part[1]));
        verify(tok, n > 2 ? part[2] : NULL);
        free(tok);
    }
    free(text);
}

/* An access token's verification ('A') or a code exchange ('X') against scripted answers. */
static void fuzz_flow(const uint8_t *data, size_t size, bool exchange)
{
    script = data;
    script_len = size;
    sa_google_identity id;
    const char *reason = "unset";
    sa_error err = {0};
    sa_google_result r =
        exchange ? sa_google_exchange_code(google, "4/fuzz-code", NULL,
                                           "https://app.example.com/cb", FUZZ_NOW, &id, &reason,
                                           &err)
                 : sa_google_verify_access_token(google, "ya29.fuzz-access-token", FUZZ_NOW, &id,
                                                 &reason, &err);
    check_result(r, reason, &err, &id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!google)
        fuzz_init();
    if (size < 1)
        return 0;
    fuzz_reset(FUZZ_NOW + 3600);
    uint8_t mode = data[0];
    data++;
    size--;
    switch (mode) {
    case 'C': fuzz_max_age(data, size); break;
    case 'T': fuzz_raw_token(data, size); break;
    case 'S': fuzz_signed(data, size, false); break;
    case 'A': fuzz_flow(data, size, false); break;
    case 'X': fuzz_flow(data, size, true); break;
    case 'F': fuzz_signed(data, size, true); break;
    default: break;
    }
    return 0;
}
