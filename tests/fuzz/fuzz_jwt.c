/* fuzz_jwt.c: libFuzzer target for sa_jwt_verify, sa_json_parse and base64url.
 *
 * Build and run (from the top directory; Debian: apt-get install clang libclang-rt-14-dev):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE \
 *     -Ilib -o tests/fuzz/fuzz_jwt tests/fuzz/fuzz_jwt.c lib/token/jwt.c lib/codec/json.c lib/codec/b64url.c \
 *     lib/core/sa_error.c -ljson-c -lcrypto
 *   mkdir -p /tmp/fuzz-jwt && tests/fuzz/fuzz_jwt -max_total_time=60 -max_len=12000 \
 *     /tmp/fuzz-jwt tests/fuzz/corpus/jwt
 *
 * The first input byte picks what the rest is:
 *   'T' a token, verified as is (almost always stopped by size, shape, base64 or signature);
 *   'S' "<header JSON>\n<payload JSON>", signed here with the test key and then verified, so
 *       the claim checks behind the signature are reached; the second byte sets the expected
 *       token type (bit 0) and whether aud/iss are configured (bit 1);
 *   'J' a JSON document for sa_json_parse, whose tree must be the one json-c's own tokener
 *       builds from the same bytes whenever we accept them;
 *   'B' text for sa_b64url_decode.
 * Any other first byte picks one of the four by its value. Each mode checks invariants and
 * aborts when one breaks, so a logic error shows up like a memory error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "codec/json.h"
#include "token/jwt.h"

#define FUZZ_KEY "fuzz-signing-key-0123456789abcdef-0123456789"
#define FUZZ_NOW INT64_C(1700000100)

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);   \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static void fuzz_config(sa_config *cfg, int with_aud)
{
    memset(cfg, 0, sizeof *cfg);
    memcpy(cfg->signing_key, FUZZ_KEY, strlen(FUZZ_KEY));
    cfg->signing_key_len = strlen(FUZZ_KEY);
    if (with_aud) {
        snprintf(cfg->jwt_audience, sizeof cfg->jwt_audience, "api");
        snprintf(cfg->jwt_issuer, sizeof cfg->jwt_issuer, "iss");
    }
}

/* A valid result must hold claims that our own minting reproduces and verifies again. */
static void check_valid_claims(const sa_config *cfg, const sa_claims *c, sa_token_type type)
{
    CHECK(c->token_type == type);
    CHECK(c->exp > FUZZ_NOW);
    CHECK(c->iat <= FUZZ_NOW);
    size_t jti = strnlen(c->jti, sizeof c->jti), uid = strnlen(c->user_id, sizeof c->user_id),
           sid = strnlen(c->sid, sizeof c->sid);
    CHECK(jti >= 1 && jti <= SA_JTI_LEN);
    CHECK(uid >= 1 && uid <= SA_USER_ID_MAX);
    CHECK(sid <= SA_SID_LEN);

    char tok[SA_JWT_MAX_LEN + 1];
    sa_claims again;
    sa_error err = {0};
    CHECK(sa_jwt_mint(cfg, c, tok, sizeof tok, &err) == SA_OK);
    CHECK(sa_jwt_verify(cfg, tok, strlen(tok), type, FUZZ_NOW, &again, &err) == SA_JWT_VALID);
    CHECK(memcmp(&again, c, sizeof again) == 0);
}

static void fuzz_token(const uint8_t *data, size_t size)
{
    sa_config cfg;
    sa_claims c;
    sa_error err = {0};
    fuzz_config(&cfg, 0);
    sa_jwt_result r =
        sa_jwt_verify(&cfg, (const char *)data, size, SA_TOKEN_ACCESS, FUZZ_NOW, &c, &err);
    if (r == SA_JWT_VALID)
        check_valid_claims(&cfg, &c, SA_TOKEN_ACCESS);
    else
        CHECK(err.msg[0] != '\0');
}

static void fuzz_signed(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    sa_token_type type = (data[0] & 1) ? SA_TOKEN_REFRESH : SA_TOKEN_ACCESS;
    sa_config cfg;
    fuzz_config(&cfg, data[0] & 2);
    data++;
    size--;
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl || size > 6000)
        return;
    size_t hlen = (size_t)(nl - data), plen = size - hlen - 1;

    static char tok[3 * SA_JWT_MAX_LEN];
    size_t t = sa_b64url_encode(data, hlen, tok, sizeof tok);
    tok[t++] = '.';
    t += sa_b64url_encode(nl + 1, plen, tok + t, sizeof tok - t);
    unsigned char mac[32];
    unsigned int mac_len = 0;
    CHECK(HMAC(EVP_sha256(), FUZZ_KEY, (int)strlen(FUZZ_KEY), (const unsigned char *)tok, t, mac,
               &mac_len) != NULL);
    tok[t++] = '.';
    t += sa_b64url_encode(mac, mac_len, tok + t, sizeof tok - t);

    sa_claims c;
    sa_error err = {0};
    sa_jwt_result r = sa_jwt_verify(&cfg, tok, t, type, FUZZ_NOW, &c, &err);
    if (r == SA_JWT_VALID)
        check_valid_claims(&cfg, &c, type);
    else
        CHECK(err.msg[0] != '\0');
    /* The same bytes under the other expected type: VALID and WRONG_TYPE swap, INVALID stays. */
    sa_token_type other = type == SA_TOKEN_ACCESS ? SA_TOKEN_REFRESH : SA_TOKEN_ACCESS;
    sa_jwt_result r2 = sa_jwt_verify(&cfg, tok, t, other, FUZZ_NOW, &c, &err);
    if (r == SA_JWT_INVALID)
        CHECK(r2 == SA_JWT_INVALID);
    if (r == SA_JWT_VALID)
        CHECK(r2 == SA_JWT_WRONG_TYPE);
    if (r2 == SA_JWT_VALID)
        CHECK(r == SA_JWT_WRONG_TYPE);
}

/* True when the text may hold a surrogate pair escape ("\\uD8xx" to "\\uDBxx"). */
static int has_pair_escape(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i + 3 < size; i++) {
        if (data[i] == '\\' && data[i + 1] == 'u' && (data[i + 2] | 0x20) == 'd' &&
            memchr("89abAB", data[i + 3], 6))
            return 1;
    }
    return 0;
}

/* Whatever sa_json_parse accepted (as o), json-c's own strict tokener reads as the same tree,
 * so building the tree ourselves changes nothing a reader of it could see. Except: json-c
 * 0.16 decodes some surrogate pairs as U+FFFD (code points whose low 16 bits look like a
 * surrogate, such as U+1DE00; json-c pull request #893), where we decode them right; those
 * texts are left to test_json.c. */
static void check_same_as_tokener(const uint8_t *data, size_t size, json_object *o)
{
    if (has_pair_escape(data, size))
        return;
    json_tokener *tok = json_tokener_new_ex(65); /* our 64 levels */
    CHECK(tok != NULL);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *t = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    if (json_tokener_get_error(tok) == json_tokener_continue)
        t = json_tokener_parse_ex(tok, "", 1); /* a top-level number ends at the NUL */
    CHECK(json_tokener_get_error(tok) == json_tokener_success);
    CHECK(json_object_equal(o, t));
    size_t n = 0, m = 0;
    const char *s = sa_json_compact(o, &n), *u = sa_json_compact(t, &m);
    CHECK(n == m && memcmp(s, u, n) == 0);
    json_object_put(t);
    json_tokener_free(tok);
}

static void fuzz_json(const uint8_t *data, size_t size)
{
    json_object *o = NULL, *o2 = NULL;
    sa_error err = {0};
    sa_status st = sa_json_parse((const char *)data, size, &o, &err);
    if (st != SA_OK) {
        CHECK(o == NULL);
        CHECK(err.msg[0] != '\0');
        return;
    }
    check_same_as_tokener(data, size, o);
    /* Compact output parses again, to the same text. */
    size_t n = 0;
    const char *s = sa_json_compact(o, &n);
    CHECK(s != NULL && strlen(s) == n);
    char *copy = malloc(n ? n : 1);
    CHECK(copy != NULL);
    memcpy(copy, s, n);
    CHECK(sa_json_parse(copy, n, &o2, &err) == SA_OK);
    size_t n2 = 0;
    const char *s2 = sa_json_compact(o2, &n2);
    CHECK(n2 == n && memcmp(s2, copy, n) == 0);
    free(copy);
    json_object_put(o2);
    json_object_put(o);
}

static void fuzz_b64(const uint8_t *data, size_t size)
{
    static unsigned char out[65536];
    static char back[90000];
    size_t n = 0;
    if (size > 80000)
        return;
    if (sa_b64url_decode((const char *)data, size, out, sizeof out, &n) != SA_OK)
        return;
    /* Canonical: one spelling per byte string, so encoding gives the input back. */
    size_t m = sa_b64url_encode(out, n, back, sizeof back);
    CHECK(m == size && memcmp(back, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0]) {
    case 'T': fuzz_token(data + 1, size - 1); break;
    case 'S': fuzz_signed(data + 1, size - 1); break;
    case 'J': fuzz_json(data + 1, size - 1); break;
    case 'B': fuzz_b64(data + 1, size - 1); break;
    default:
        switch (data[0] % 4) {
        case 0: fuzz_token(data + 1, size - 1); break;
        case 1: fuzz_signed(data + 1, size - 1); break;
        case 2: fuzz_json(data + 1, size - 1); break;
        default: fuzz_b64(data + 1, size - 1); break;
        }
    }
    return 0;
}
