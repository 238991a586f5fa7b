/* test_jwt.c: lib/token/jwt.c and lib/codec/b64url.c - HS256 tokens as simplejwt makes them, and every
 * rejection of api.html#tokens with a real crafted token. Crafted tokens are signed with
 * the right key unless the test is about the signature, so that only the check under test
 * can refuse them. Known-answer tokens were made once with PyJWT 2.6.0:
 *   /usr/bin/python3 -c 'import jwt; print(jwt.encode({...}, KEY, algorithm="HS256"))' */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/utc.h"
#include "token/jwt.h"
#include "jwt_craft.h"

#define KEY "socialauth-unit-test-key-0123456789abcdef"
#define OTHER_KEY "another-key-of-at-least-32-bytes-xxxxxxxx"
#define NOW INT64_C(1700000100)
#define HDR "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define JTI "0123456789abcdef0123456789abcdef"
#define SID "fedcba9876543210fedcba9876543210"

/* {"token_type":"access","exp":1700000300,"iat":1700000000,"jti":JTI,
 *  "user_id":"5f0c1a2e-8d3b-4c6a-9e7f-1234567890ab","sid":SID} */
static const char kat_access[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzAwMDAwMzAwL"
    "CJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwidXNlcl9pZCI"
    "6IjVmMGMxYTJlLThkM2ItNGM2YS05ZTdmLTEyMzQ1Njc4OTBhYiIsInNpZCI6ImZlZGNiYTk4NzY1NDMyMTBmZWRjY"
    "mE5ODc2NTQzMjEwIn0.GWLDha20jr_FXW5MzJqhpaWRBx-c3Yhx5BYPWlYRBrA";
/* Django-style: {"token_type":"refresh","exp":1700604800,"iat":1700000000,
 *  "jti":"aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb","user_id":42} (integer id, no sid) */
static const char kat_refresh_int_user[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTcwMDYwNDgwM"
    "CwiaWF0IjoxNzAwMDAwMDAwLCJqdGkiOiJhYWFhYWFhYWFhYWFhYWFhYmJiYmJiYmJiYmJiYmJiYiIsInVzZXJfaWQ"
    "iOjQyfQ.1yZ5jksL7K38ADZgW5_3Usd49816q76fOj9B5nEOeQE";
/* user_id "Zo\u00eb \"q\" \\ /\n", no sid: escaping as PyJWT (ensure_ascii) does. */
static const char kat_escaped_user[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzAwMDAwMzAwL"
    "CJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwidXNlcl9pZCI"
    "6IlpvXHUwMGViIFwicVwiIFxcIC9cbiJ9.AKjTEVA43YG3nAWwjlmz7NYD9smO0EtxNbqxOGcESYY";

static void cfg_init(sa_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    memcpy(cfg->signing_key, KEY, strlen(KEY));
    cfg->signing_key_len = strlen(KEY);
}

/* printf into a static buffer (one payload at a time). */
static const char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *P(const char *fmt, ...)
{
    static char buf[16384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    return buf;
}

/* A standard access payload with one claim's text replaced (NULL keeps it, "" drops it). */
static const char *payload_with(const char *type, const char *exp, const char *iat,
                                const char *jti, const char *user_id, const char *sid)
{
    static char buf[4096];
    char exp_d[32], iat_d[32];
    snprintf(exp_d, sizeof exp_d, "%" PRId64, NOW + 200);
    snprintf(iat_d, sizeof iat_d, "%" PRId64, NOW - 100);
    const char *f[][2] = {
        {"token_type", type ? type : "\"access\""}, {"exp", exp ? exp : exp_d},
        {"iat", iat ? iat : iat_d},                 {"jti", jti ? jti : "\"" JTI "\""},
        {"user_id", user_id ? user_id : "\"u-1\""}, {"sid", sid ? sid : "\"" SID "\""},
    };
    size_t p = 0;
    buf[p++] = '{';
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (!f[i][1][0])
            continue;
        p += (size_t)snprintf(buf + p, sizeof buf - p, "%s\"%s\":%s", p > 1 ? "," : "", f[i][0],
                              f[i][1]);
        assert_true(p < sizeof buf - 2);
    }
    buf[p++] = '}';
    buf[p] = '\0';
    return buf;
}

static sa_jwt_result verify_text(const sa_config *cfg, const char *token, size_t len,
                                 sa_token_type type, sa_claims *c, sa_error *err)
{
    /* An exact-size copy without NUL: reading past len would show under valgrind. */
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, token, len);
    sa_jwt_result r = sa_jwt_verify(cfg, copy, len, type, NOW, c, err);
    free(copy);
    return r;
}

/* Verify `token` and expect `want`, with err->msg containing `reason` (if not NULL). */
static void expect_token(const sa_config *cfg, const char *token, sa_token_type type,
                         sa_jwt_result want, const char *reason)
{
    sa_claims c;
    sa_error err = {0};
    sa_jwt_result r = verify_text(cfg, token, strlen(token), type, &c, &err);
    if (r != want || (reason && !strstr(err.msg, reason)))
        print_error("token %.80s...: result %d (want %d), msg \"%s\" (want \"%s\")\n", token, r,
                    want, err.msg, reason ? reason : "");
    assert_int_equal(r, want);
    if (reason)
        assert_non_null(strstr(err.msg, reason));
    if (r != SA_JWT_VALID) {
        sa_claims zero;
        memset(&zero, 0, sizeof zero);
        assert_memory_equal(&c, &zero, sizeof c);
    }
}

/* Craft header.payload signed with cfg's key, then expect as above. */
static void expect_crafted(const sa_config *cfg, const char *header, const char *payload,
                           sa_token_type type, sa_jwt_result want, const char *reason)
{
    char tok[3 * SA_JWT_MAX_LEN];
    assert_true(jwt_craft(tok, sizeof tok, cfg->signing_key, cfg->signing_key_len, header,
                          payload) > 0);
    expect_token(cfg, tok, type, want, reason);
}

static void expect_invalid(const char *header, const char *payload, const char *reason)
{
    sa_config cfg;
    cfg_init(&cfg);
    expect_crafted(&cfg, header, payload, SA_TOKEN_ACCESS, SA_JWT_INVALID, reason);
}

static void expect_valid(const char *header, const char *payload)
{
    sa_config cfg;
    cfg_init(&cfg);
    expect_crafted(&cfg, header, payload, SA_TOKEN_ACCESS, SA_JWT_VALID, NULL);
}

/* ---- base64url ---- */

static void test_b64url_vectors(void **state)
{
    (void)state;
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const want[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char out[32];
    unsigned char dec[32];
    size_t n;
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        assert_int_equal(sa_b64url_encode((const unsigned char *)in[i], strlen(in[i]), out,
                                          sizeof out),
                         strlen(want[i]));
        assert_string_equal(out, want[i]);
        assert_int_equal(sa_b64url_decode(want[i], strlen(want[i]), dec, sizeof dec, &n), SA_OK);
        assert_int_equal(n, strlen(in[i]));
        assert_memory_equal(dec, in[i], n);
    }
    /* The two characters that differ from base64. */
    const unsigned char bin[] = {0xfb, 0xff, 0xbf};
    assert_int_equal(sa_b64url_encode(bin, 3, out, sizeof out), 4);
    assert_string_equal(out, "-_-_");
    /* Every length and byte value round-trips, and matches OpenSSL's base64. */
    unsigned char data[200];
    char ref[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof data; len++) {
        char enc[300];
        unsigned char back[200];
        size_t m = sa_b64url_encode(data, len, enc, sizeof enc);
        assert_int_equal(m, jwt_b64url(data, len, ref, sizeof ref));
        assert_string_equal(enc, ref);
        assert_int_equal(sa_b64url_decode(enc, m, back, sizeof back, &n), SA_OK);
        assert_int_equal(n, len);
        assert_memory_equal(back, data, len);
    }
}

static void test_b64url_sizes(void **state)
{
    (void)state;
    char out[16];
    unsigned char dec[8];
    size_t n = 99;
    /* "foobar" is "Zm9vYmFy": 9 bytes with the NUL. */
    assert_int_equal(sa_b64url_encode((const unsigned char *)"foobar", 6, out, 9), 8);
    memset(out, 'x', sizeof out);
    assert_int_equal(sa_b64url_encode((const unsigned char *)"foobar", 6, out, 8), 0);
    assert_int_equal(out[0], '\0');
    assert_int_equal(sa_b64url_decode("Zm9vYmFy", 8, dec, 6, &n), SA_OK);
    assert_int_equal(n, 6);
    assert_int_equal(sa_b64url_decode("Zm9vYmFy", 8, dec, 5, &n), SA_ERR_TOO_LARGE);
    assert_int_equal(sa_b64url_decode("Zm9vYmE", 7, dec, 4, &n), SA_ERR_TOO_LARGE);
}

static void test_b64url_rejects_noncanonical(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Zg==", "Zg=", "Zm8=", "Zm9v\n", " Zm9v", "Zm 9v", "Zm9vY", /* 4n+1 */
        "Zh",   /* 'h' leaves bits set past the last byte */
        "Zm9",  /* likewise ("Zm8" is the canonical spelling) */
        "Zm+v", "Zm/v", "Zm9v!", "Zm.9", "Zm9v====",
    };
    unsigned char dec[16];
    size_t n;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sa_b64url_decode(bad[i], strlen(bad[i]), dec, sizeof dec, &n),
                         SA_ERR_INVALID);
    assert_int_equal(sa_b64url_decode("Zm8", 3, dec, sizeof dec, &n), SA_OK);
    /* Every non-zero trailing bit pattern is refused. */
    const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int v = 0; v < 64; v++) {
        char two[3] = {'Z', alphabet[v], '\0'};
        char three[4] = {'Z', 'm', alphabet[v], '\0'};
        assert_int_equal(sa_b64url_decode(two, 2, dec, sizeof dec, &n),
                         (v & 0x0F) ? SA_ERR_INVALID : SA_OK);
        assert_int_equal(sa_b64url_decode(three, 3, dec, sizeof dec, &n),
                         (v & 0x03) ? SA_ERR_INVALID : SA_OK);
    }
    /* NUL inside the length. */
    assert_int_equal(sa_b64url_decode("Zm\0v", 4, dec, sizeof dec, &n), SA_ERR_INVALID);
}

/* ---- helpers ---- */

static void test_random_hex(void **state)
{
    (void)state;
    char a[SA_JTI_LEN + 1], b[SA_JTI_LEN + 1], odd[6], big[201];
    assert_int_equal(sa_random_hex(a, SA_JTI_LEN), SA_OK);
    assert_int_equal(sa_random_hex(b, SA_JTI_LEN), SA_OK);
    assert_int_equal(strlen(a), SA_JTI_LEN);
    assert_int_equal(strspn(a, "0123456789abcdef"), SA_JTI_LEN);
    assert_string_not_equal(a, b);
    assert_int_equal(sa_random_hex(odd, 5), SA_OK);
    assert_int_equal(strlen(odd), 5);
    assert_int_equal(sa_random_hex(big, 200), SA_OK);
    assert_int_equal(strspn(big, "0123456789abcdef"), 200);
}

static void test_format_utc(void **state)
{
    (void)state;
    char buf[32];
    sa_format_utc(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    sa_format_utc(1700000000, buf, sizeof buf);
    assert_string_equal(buf, "2023-11-14T22:13:20Z");
    sa_format_utc(1709210096, buf, sizeof buf); /* leap day */
    assert_string_equal(buf, "2024-02-29T12:34:56Z");
    sa_format_utc(-5, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    sa_format_utc(INT64_MAX, buf, sizeof buf);
    assert_string_equal(buf, "9999-12-31T23:59:59Z");
    sa_format_utc(1700000000, buf, 21);
    assert_string_equal(buf, "2023-11-14T22:13:20Z");
    sa_format_utc(1700000000, buf, 5);
    assert_string_equal(buf, "2023");
}

/* ---- minting ---- */

static sa_claims kat_claims(void)
{
    sa_claims c;
    memset(&c, 0, sizeof c);
    c.token_type = SA_TOKEN_ACCESS;
    c.exp = 1700000300;
    c.iat = 1700000000;
    memcpy(c.jti, JTI, sizeof JTI);
    snprintf(c.user_id, sizeof c.user_id, "5f0c1a2e-8d3b-4c6a-9e7f-1234567890ab");
    memcpy(c.sid, SID, sizeof SID);
    return c;
}

static void test_mint_matches_pyjwt(void **state)
{
    (void)state;
    sa_config cfg;
    cfg_init(&cfg);
    sa_claims c = kat_claims();
    char tok[SA_JWT_MAX_LEN + 1];
    sa_error err = {0};
    assert_int_equal(sa_jwt_mint(&cfg, &c, tok, sizeof tok, &err), SA_OK);
    assert_string_equal(tok, kat_access);

    c.sid[0] = '\0';
    snprintf(c.user_id, sizeof c.user_id, "Zo\xc3\xab \"q\" \\ /\n");
    assert_int_equal(sa_jwt_mint(&cfg, &c, tok, sizeof tok, &err), SA_OK);
    assert_string_equal(tok, kat_escaped_user);
}

static void test_mint_round_trip(void **state)
{
    (void)state;
    sa_config cfg;
    cfg_init(&cfg);
    char tok[SA_JWT_MAX_LEN + 1];
    sa_claims c, got;
    memset(&c, 0, sizeof c);
    c.token_type = SA_TOKEN_REFRESH;
    c.iat = NOW;
    c.exp = NOW + 7 * 86400;
    assert_int_equal(sa_random_hex(c.jti, SA_JTI_LEN), SA_OK);
    assert_int_equal(sa_random_hex(c.sid, SA_SID_LEN), SA_OK);
    memset(c.user_id, 'u', SA_USER_ID_MAX); /* the longest id */
    assert_int_equal(sa_jwt_mint(&cfg, &c, tok, sizeof tok, NULL), SA_OK);
    assert_int_equal(sa_jwt_verify(&cfg, tok, strlen(tok), SA_TOKEN_REFRESH, NOW, &got, NULL),
                     SA_JWT_VALID);
    assert_memory_equal(&got, &c, sizeof c);

    /* aud and iss are appended, then required. */
    snprintf(cfg.jwt_audience, sizeof cfg.jwt_audience, "my-api");
    snprintf(cfg.jwt_issuer, sizeof cfg.jwt_issuer, "https://auth.example");
    c.token_type = SA_TOKEN_ACCESS;
    memset(c.sid, 0, sizeof c.sid);
    assert_int_equal(sa_jwt_mint(&cfg, &c, tok, sizeof tok, NULL), SA_OK);
    assert_int_equal(sa_jwt_verify(&cfg, tok, strlen(tok), SA_TOKEN_ACCESS, NOW, &got, NULL),
                     SA_JWT_VALID);
    assert_memory_equal(&got, &c, sizeof c);
    /* The payload really holds them in order after user_id. */
    const char *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');
    unsigned char raw[2048];
    size_t n;
    assert_int_equal(sa_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), raw, sizeof raw - 1, &n),
                     SA_OK);
    raw[n] = '\0';
    assert_non_null(strstr((char *)raw, "\"user_id\":\"uuuu"));
    assert_non_null(strstr((char *)raw, "\",\"aud\":\"my-api\",\"iss\":\"https://auth.example\"}"));
}

static void test_mint_errors(void **state)
{
    (void)state;
    sa_config cfg;
    cfg_init(&cfg);
    sa_claims c = kat_claims();
    char tok[SA_JWT_MAX_LEN + 1];
    sa_error err = {0};

    /* Output one byte short. */
    assert_int_equal(sa_jwt_mint(&cfg, &c, tok, strlen(kat_access), &err), SA_ERR_TOO_LARGE);
    assert_int_equal(tok[0], '\0');
    assert_int_equal(sa_jwt_mint(&cfg, &c, tok, strlen(kat_access) + 1, &err), SA_OK);

    sa_claims bad = c;
    bad.jti[0] = '\0';
    assert_int_equal(sa_jwt_mint(&cfg, &bad, tok, sizeof tok, &err), SA_ERR_INVALID);
    bad = c;
    bad.user_id[0] = '\0';
    assert_int_equal(sa_jwt_mint(&cfg, &bad, tok, sizeof tok, &err), SA_ERR_INVALID);
    bad = c;
    memset(bad.user_id, 'x', sizeof bad.user_id); /* unterminated */
    assert_int_equal(sa_jwt_mint(&cfg, &bad, tok, sizeof tok, &err), SA_ERR_INVALID);
    bad = c;
    memset(bad.sid, 'x', sizeof bad.sid);
    assert_int_equal(sa_jwt_mint(&cfg, &bad, tok, sizeof tok, &err), SA_ERR_INVALID);
    bad = c;
    snprintf(bad.user_id, sizeof bad.user_id, "\xff\xfe");
    assert_int_equal(sa_jwt_mint(&cfg, &bad, tok, sizeof tok, &err), SA_ERR_INVALID);
    bad = c;
    bad.token_type = (sa_token_type)7;
    assert_int_equal(sa_jwt_mint(&cfg, &bad, tok, sizeof tok, &err), SA_ERR_INVALID);

    /* Security: no signing without a real key. */
    cfg.signing_key_len = 0;
    assert_int_equal(sa_jwt_mint(&cfg, &c, tok, sizeof tok, &err), SA_ERR_INVALID);
    cfg.signing_key_len = SA_SIGNING_KEY_MIN - 1;
    assert_int_equal(sa_jwt_mint(&cfg, &c, tok, sizeof tok, &err), SA_ERR_INVALID);
    assert_int_equal(sa_jwt_mint(NULL, &c, tok, sizeof tok, &err), SA_ERR_INVALID);
}

/* ---- verifying: accepted tokens ---- */

static void test_verify_pyjwt_tokens(void **state)
{
    (void)state;
    sa_config cfg;
    cfg_init(&cfg);
    sa_claims c;
    sa_error err = {0};

    assert_int_equal(sa_jwt_verify(&cfg, kat_access, strlen(kat_access), SA_TOKEN_ACCESS, NOW,
                                   &c, &err),
                     SA_JWT_VALID);
    assert_int_equal(c.token_type, SA_TOKEN_ACCESS);
    assert_true(c.exp == 1700000300 && c.iat == 1700000000);
    assert_string_equal(c.jti, JTI);
    assert_string_equal(c.user_id, "5f0c1a2e-8d3b-4c6a-9e7f-1234567890ab");
    assert_string_equal(c.sid, SID);

    /* Django's integer user_id, no sid. */
    assert_int_equal(sa_jwt_verify(&cfg, kat_refresh_int_user, strlen(kat_refresh_int_user),
                                   SA_TOKEN_REFRESH, NOW, &c, &err),
                     SA_JWT_VALID);
    assert_int_equal(c.token_type, SA_TOKEN_REFRESH);
    assert_string_equal(c.user_id, "42");
    assert_string_equal(c.sid, "");
    assert_string_equal(c.jti, "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb");

    /* Escaped user_id comes back decoded. */
    assert_int_equal(sa_jwt_verify(&cfg, kat_escaped_user, strlen(kat_escaped_user),
                                   SA_TOKEN_ACCESS, NOW, &c, &err),
                     SA_JWT_VALID);
    assert_string_equal(c.user_id, "Zo\xc3\xab \"q\" \\ /\n");
}

static void test_verify_wrong_type(void **state)
{
    (void)state;
    sa_config cfg;
    cfg_init(&cfg);
    expect_token(&cfg, kat_access, SA_TOKEN_REFRESH, SA_JWT_WRONG_TYPE, "wrong type");
    expect_token(&cfg, kat_refresh_int_user, SA_TOKEN_ACCESS, SA_JWT_WRONG_TYPE, "wrong type");
    expect_crafted(&cfg, HDR, payload_with("\"sliding\"", 0, 0, 0, 0, 0), SA_TOKEN_ACCESS,
                   SA_JWT_WRONG_TYPE, "wrong type");
    /* Wrong type only once everything else is fine: an expired refresh token is invalid. */
    expect_crafted(&cfg, HDR, payload_with("\"refresh\"", P("%" PRId64, NOW), 0, 0, 0, 0),
                   SA_TOKEN_ACCESS, SA_JWT_INVALID, "expired");
    expect_crafted(&cfg, HDR, payload_with("\"refresh\"", 0, 0, "\"\"", 0, 0), SA_TOKEN_ACCESS,
                   SA_JWT_INVALID, "jti");
}

static void test_verify_header_variants(void **state)
{
    (void)state;
    const char *p = payload_with(0, 0, 0, 0, 0, 0);
    expect_valid(HDR, p);
    expect_valid("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", p); /* any order */
    expect_valid("{\"alg\":\"HS256\"}", p);                 /* no typ */
    expect_valid("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", p);
    expect_valid("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", p);
    expect_valid(" { \"alg\" : \"HS256\" } ", p);
    expect_invalid("{\"alg\":\"HS256\",\"typ\":1}", p, "typ");
    expect_invalid("{\"alg\":\"HS256\",\"kid\":null}", p, "kid");
}

/* ---- verifying: every rejection ---- */

static void test_reject_alg(void **state)
{
    (void)state;
    const char *p = payload_with(0, 0, 0, 0, 0, 0);
    sa_config cfg;
    cfg_init(&cfg);
    /* Classic alg none: empty signature. */
    char h[256], pl[4096], tok[8192];
    jwt_b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", 26, h, sizeof h);
    jwt_b64url(p, strlen(p), pl, sizeof pl);
    snprintf(tok, sizeof tok, "%s.%s.", h, pl);
    /* a header other than ours is read before the HMAC (its kid picks the key): refused there */
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_INVALID, "alg is not HS256");
    /* alg none (and others) even with a correct HMAC: the header is still refused. */
    expect_invalid("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, "alg");
    expect_invalid("{\"alg\":\"None\"}", p, "alg");
    expect_invalid("{\"alg\":\"HS512\"}", p, "alg");
    expect_invalid("{\"alg\":\"RS256\"}", p, "alg");
    expect_invalid("{\"alg\":\"hs256\"}", p, "alg");
    expect_invalid("{\"alg\":\"HS256 \"}", p, "alg");
    expect_invalid("{\"alg\":\"HS256\\u0000\"}", p, "alg");
    expect_invalid("{\"alg\":[\"HS256\"]}", p, "alg");
    expect_invalid("{\"alg\":null}", p, "alg");
    expect_invalid("{\"typ\":\"JWT\"}", p, "alg");
}

static void test_reject_duplicate_keys(void **state)
{
    (void)state;
    const char *p = payload_with(0, 0, 0, 0, 0, 0);
    /* json-c alone would keep the last "alg", HS256, and accept this. */
    expect_invalid("{\"alg\":\"none\",\"alg\":\"HS256\"}", p, "Duplicate key \"alg\"");
    expect_invalid("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", p, "Duplicate key");
    expect_invalid("{\"alg\":\"HS256\",\"x\":{\"a\":1,\"a\":2}}", p, "Duplicate key \"a\"");
    /* A second exp far in the future, a second token_type, a second user_id. */
    expect_invalid(HDR,
                   P("{\"token_type\":\"access\",\"exp\":%" PRId64 ",\"exp\":%" PRId64
                     ",\"jti\":\"" JTI "\",\"user_id\":\"u\"}",
                     NOW - 1000, NOW + 99999999),
                   "Duplicate key \"exp\"");
    expect_invalid(HDR,
                   P("{\"token_type\":\"refresh\",\"exp\":%" PRId64 ",\"jti\":\"" JTI
                     "\",\"user_id\":\"u\",\"token_type\":\"access\"}",
                     NOW + 100),
                   "Duplicate key \"token_type\"");
    expect_invalid(HDR,
                   P("{\"token_type\":\"access\",\"exp\":%" PRId64 ",\"jti\":\"" JTI
                     "\",\"user_id\":\"u\",\"user_\\u0069d\":\"admin\"}",
                     NOW + 100),
                   "Duplicate key \"user_id\"");
}

static void test_reject_crit(void **state)
{
    (void)state;
    const char *p = payload_with(0, 0, 0, 0, 0, 0);
    expect_invalid("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"crit\":[\"exp\"]}", p, "crit");
    expect_invalid("{\"alg\":\"HS256\",\"crit\":[]}", p, "crit");
    expect_invalid("{\"alg\":\"HS256\",\"crit\":null}", p, "crit");
}

static void test_reject_signature(void **state)
{
    (void)state;
    sa_config cfg;
    cfg_init(&cfg);
    const char *p = payload_with(0, 0, 0, 0, 0, 0);
    char tok[8192];

    /* HS256 with another key. */
    assert_true(jwt_craft(tok, sizeof tok, OTHER_KEY, strlen(OTHER_KEY), HDR, p) > 0);
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_INVALID, "bad signature");
    /* Our key with one byte more or less. */
    assert_true(jwt_craft(tok, sizeof tok, KEY "x", strlen(KEY) + 1, HDR, p) > 0);
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_INVALID, "bad signature");
    assert_true(jwt_craft(tok, sizeof tok, KEY, strlen(KEY) - 1, HDR, p) > 0);
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_INVALID, "bad signature");

    /* One flipped bit in the first signature byte (still canonical). */
    size_t n = jwt_craft(tok, sizeof tok, KEY, strlen(KEY), HDR, p);
    char *sig = strrchr(tok, '.') + 1;
    sig[0] = sig[0] == 'A' ? 'B' : 'A';
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_INVALID, "bad signature");
    /* Payload changed after signing (a different user). */
    n = jwt_craft(tok, sizeof tok, KEY, strlen(KEY), HDR, p);
    char other[8192];
    jwt_craft(other, sizeof other, KEY, strlen(KEY), HDR, payload_with(0, 0, 0, 0, "\"admin\"", 0));
    memcpy(strrchr(other, '.'), strrchr(tok, '.'), 44);
    expect_token(&cfg, other, SA_TOKEN_ACCESS, SA_JWT_INVALID, "bad signature");
    /* Truncated signature (31 bytes), extended signature (33), none at all. */
    n = jwt_craft(tok, sizeof tok, KEY, strlen(KEY), HDR, p);
    tok[n - 2] = '\0';
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_INVALID, "signature");
    n = jwt_craft(tok, sizeof tok, KEY, strlen(KEY), HDR, p);
    memcpy(tok + n, "AA", 3);
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_INVALID, "signature");
    *(strrchr(tok, '.') + 1) = '\0';
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_INVALID, "signature");
    /* Valid token, but we have no usable key. */
    n = jwt_craft(tok, sizeof tok, KEY, strlen(KEY), HDR, p);
    cfg.signing_key_len = 0;
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_INVALID, "key");
    (void)n;
}

static void test_reject_structure(void **state)
{
    (void)state;
    sa_config cfg;
    cfg_init(&cfg);
    char tok[8192];
    size_t n = jwt_craft(tok, sizeof tok, KEY, strlen(KEY), HDR, payload_with(0, 0, 0, 0, 0, 0));
    assert_true(n > 0);
    sa_claims c;
    sa_error err = {0};
    char more[3 * SA_JWT_MAX_LEN];

    expect_token(&cfg, "", SA_TOKEN_ACCESS, SA_JWT_INVALID, "empty");
    expect_token(&cfg, "..", SA_TOKEN_ACCESS, SA_JWT_INVALID, NULL);
    expect_token(&cfg, "abc", SA_TOKEN_ACCESS, SA_JWT_INVALID, "three");
    expect_token(&cfg, "a.b", SA_TOKEN_ACCESS, SA_JWT_INVALID, "three");
    expect_token(&cfg, "a.b.c.d", SA_TOKEN_ACCESS, SA_JWT_INVALID, "three");
    /* The valid token with a fourth part, a leading or trailing dot. */
    snprintf(more, sizeof more, "%s.", tok);
    expect_token(&cfg, more, SA_TOKEN_ACCESS, SA_JWT_INVALID, "three");
    snprintf(more, sizeof more, ".%s", tok);
    expect_token(&cfg, more, SA_TOKEN_ACCESS, SA_JWT_INVALID, "three");
    snprintf(more, sizeof more, "%s.%s", tok, strrchr(tok, '.') + 1);
    expect_token(&cfg, more, SA_TOKEN_ACCESS, SA_JWT_INVALID, "three");
    /* A NUL byte after the token, inside len. */
    memcpy(more, tok, n + 1);
    assert_int_equal(verify_text(&cfg, more, n + 1, SA_TOKEN_ACCESS, &c, &err), SA_JWT_INVALID);
    /* The same token verifies without its NUL (exact-size copy). */
    assert_int_equal(verify_text(&cfg, tok, n, SA_TOKEN_ACCESS, &c, &err), SA_JWT_VALID);
    /* Bearer prefix or surrounding space is not ours to strip. */
    snprintf(more, sizeof more, " %s", tok);
    expect_token(&cfg, more, SA_TOKEN_ACCESS, SA_JWT_INVALID, NULL);
    snprintf(more, sizeof more, "%s\n", tok);
    expect_token(&cfg, more, SA_TOKEN_ACCESS, SA_JWT_INVALID, NULL);
    assert_int_equal(sa_jwt_verify(&cfg, NULL, 0, SA_TOKEN_ACCESS, NOW, &c, &err),
                     SA_JWT_INVALID);
    assert_int_equal(sa_jwt_verify(&cfg, tok, n, SA_TOKEN_ACCESS, NOW, NULL, &err),
                     SA_JWT_INVALID);
}

/* Sign "header_b64.payload_b64" as given, so only canonical-form checks can refuse it. */
static void expect_raw_invalid(const char *signing_input, const char *reason)
{
    sa_config cfg;
    cfg_init(&cfg);
    char tok[8192];
    assert_true(jwt_craft_raw(tok, sizeof tok, KEY, strlen(KEY), signing_input) > 0);
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_INVALID, reason);
}

static void test_reject_noncanonical_b64(void **state)
{
    (void)state;
    char h[128], pl[4096], in[8192];
    /* A payload whose base64url ends in a partial group (len % 3 == 2: 3 chars). */
    static const char *const ids[] = {"\"u\"", "\"u1\"", "\"u12\""};
    const char *p = NULL;
    size_t plen = 0;
    for (size_t i = 0; i < 3; i++) {
        p = payload_with(0, 0, 0, 0, ids[i], 0);
        plen = strlen(p);
        if (plen % 3 == 2)
            break;
    }
    assert_int_equal(plen % 3, 2);
    size_t hn = jwt_b64url(HDR, strlen(HDR), h, sizeof h);
    size_t pn = jwt_b64url(p, plen, pl, sizeof pl);
    assert_true(hn > 0 && pn % 4 == 3);

    /* Control: the canonical text verifies when signed this way. */
    sa_config cfg;
    cfg_init(&cfg);
    char tok[8192];
    snprintf(in, sizeof in, "%s.%s", h, pl);
    jwt_craft_raw(tok, sizeof tok, KEY, strlen(KEY), in);
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_VALID, NULL);

    /* Same bytes, unused trailing bits set: decoders that ignore them would accept. */
    const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char alt[4096];
    memcpy(alt, pl, pn + 1);
    int v = (int)(strchr(alphabet, alt[pn - 1]) - alphabet);
    alt[pn - 1] = alphabet[v | 1];
    snprintf(in, sizeof in, "%s.%s", h, alt);
    expect_raw_invalid(in, "base64url");
    /* Padding, whitespace, standard-base64 characters. */
    snprintf(in, sizeof in, "%s.%s=", h, pl);
    expect_raw_invalid(in, "base64url");
    snprintf(in, sizeof in, "%s=.%s", h, pl); /* header is 36 chars: '=' makes 4n+1 */
    expect_raw_invalid(in, "base64url");
    snprintf(in, sizeof in, "%.10s\n%s.%s", h, h + 10, pl);
    expect_raw_invalid(in, "base64url");
    snprintf(in, sizeof in, "%s.%.10s %s", h, pl, pl + 10);
    expect_raw_invalid(in, "base64url");
    memcpy(alt, pl, pn + 1);
    alt[5] = '+';
    snprintf(in, sizeof in, "%s.%s", h, alt);
    expect_raw_invalid(in, "base64url");

    /* Signature in standard base64 with padding. */
    jwt_craft_raw(tok, sizeof tok, KEY, strlen(KEY), in);
    snprintf(in, sizeof in, "%s.%s", h, pl);
    size_t n = jwt_craft_raw(tok, sizeof tok, KEY, strlen(KEY), in);
    memcpy(tok + n, "=", 2);
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_INVALID, "signature");
    /* Signature's last character with its unused bits set. */
    n = jwt_craft_raw(tok, sizeof tok, KEY, strlen(KEY), in);
    v = (int)(strchr(alphabet, tok[n - 1]) - alphabet);
    tok[n - 1] = alphabet[v | 1];
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_INVALID, "signature");
}

static void test_reject_not_objects(void **state)
{
    (void)state;
    const char *p = payload_with(0, 0, 0, 0, 0, 0);
    expect_invalid("[]", p, "header is not a JSON object");
    expect_invalid("\"HS256\"", p, "header is not a JSON object");
    expect_invalid("null", p, "header is not a JSON object");
    expect_invalid("{\"alg\":\"HS256\"", p, "header is not a JSON object: Expecting");
    expect_invalid("{\"alg\":\"HS256\"} x", p, "Extra data");
    expect_invalid("{'alg':'HS256'}", p, "header is not a JSON object");
    expect_invalid("", p, "header is not a JSON object");
    expect_invalid(HDR, "[]", "payload is not a JSON object");
    expect_invalid(HDR, "", "payload is not a JSON object");
    expect_invalid(HDR, "{\"exp\":NaN}", "payload is not a JSON object");
    char deep[300];
    memset(deep, '[', 200);
    deep[200] = '\0';
    expect_invalid(HDR, deep, "Nesting too deep");
}

static void test_reject_exp(void **state)
{
    (void)state;
    sa_config cfg;
    cfg_init(&cfg);
    expect_invalid(HDR, payload_with(0, "", 0, 0, 0, 0), "exp missing");
    expect_invalid(HDR, payload_with(0, P("\"%" PRId64 "\"", NOW + 100), 0, 0, 0, 0),
                   "exp is not an integer");
    expect_invalid(HDR, payload_with(0, P("%" PRId64 ".0", NOW + 100), 0, 0, 0, 0),
                   "exp is not an integer");
    expect_invalid(HDR, payload_with(0, "1.7e10", 0, 0, 0, 0), "exp is not an integer");
    expect_invalid(HDR, payload_with(0, "true", 0, 0, 0, 0), "exp is not an integer");
    expect_invalid(HDR, payload_with(0, "null", 0, 0, 0, 0), "exp is not an integer");
    expect_invalid(HDR, payload_with(0, "[1]", 0, 0, 0, 0), "exp is not an integer");
    /* Beyond int64: json-c would clamp it to INT64_MAX, a token that never expires. */
    expect_invalid(HDR, payload_with(0, "99999999999999999999", 0, 0, 0, 0),
                   "Integer out of range");
    /* Expired: exp <= now - leeway. */
    expect_invalid(HDR, payload_with(0, P("%" PRId64, NOW), 0, 0, 0, 0), "expired");
    expect_invalid(HDR, payload_with(0, P("%" PRId64, NOW - 1), 0, 0, 0, 0), "expired");
    expect_invalid(HDR, payload_with(0, "-9223372036854775808", 0, 0, 0, 0), "expired");
    expect_valid(HDR, payload_with(0, P("%" PRId64, NOW + 1), 0, 0, 0, 0));
    expect_valid(HDR, payload_with(0, "9223372036854775807", 0, 0, 0, 0));
    /* Leeway 10 s. */
    cfg.leeway = 10;
    expect_crafted(&cfg, HDR, payload_with(0, P("%" PRId64, NOW - 9), 0, 0, 0, 0),
                   SA_TOKEN_ACCESS, SA_JWT_VALID, NULL);
    expect_crafted(&cfg, HDR, payload_with(0, P("%" PRId64, NOW - 10), 0, 0, 0, 0),
                   SA_TOKEN_ACCESS, SA_JWT_INVALID, "expired");
    /* The PyJWT token, at the second it expires and one before. */
    sa_claims c;
    assert_int_equal(sa_jwt_verify(&cfg, kat_access, strlen(kat_access), SA_TOKEN_ACCESS,
                                   1700000300 + 9, &c, NULL),
                     SA_JWT_VALID);
    assert_int_equal(sa_jwt_verify(&cfg, kat_access, strlen(kat_access), SA_TOKEN_ACCESS,
                                   1700000300 + 10, &c, NULL),
                     SA_JWT_INVALID);
    /* Extreme times saturate instead of overflowing. */
    cfg.leeway = INT64_MAX;
    assert_int_equal(sa_jwt_verify(&cfg, kat_access, strlen(kat_access), SA_TOKEN_ACCESS,
                                   INT64_MAX, &c, NULL),
                     SA_JWT_VALID);
    cfg.leeway = 0;
    assert_int_equal(sa_jwt_verify(&cfg, kat_access, strlen(kat_access), SA_TOKEN_ACCESS,
                                   INT64_MIN, &c, NULL),
                     SA_JWT_INVALID); /* iat in the future */
    assert_int_equal(sa_jwt_verify(&cfg, kat_access, strlen(kat_access), SA_TOKEN_ACCESS,
                                   INT64_MAX, &c, NULL),
                     SA_JWT_INVALID); /* expired */
}

static void test_reject_iat_nbf(void **state)
{
    (void)state;
    sa_config cfg;
    cfg_init(&cfg);
    expect_valid(HDR, payload_with(0, 0, "", 0, 0, 0)); /* iat optional */
    expect_valid(HDR, payload_with(0, 0, P("%" PRId64, NOW), 0, 0, 0));
    expect_invalid(HDR, payload_with(0, 0, P("%" PRId64, NOW + 1), 0, 0, 0), "iat in the future");
    expect_invalid(HDR, payload_with(0, 0, P("\"%" PRId64 "\"", NOW), 0, 0, 0),
                   "iat is not an integer");
    expect_invalid(HDR, payload_with(0, 0, "1700000000.5", 0, 0, 0), "iat is not an integer");
    expect_invalid(HDR, payload_with(0, 0, "null", 0, 0, 0), "iat is not an integer");
    cfg.leeway = 10;
    expect_crafted(&cfg, HDR, payload_with(0, 0, P("%" PRId64, NOW + 10), 0, 0, 0),
                   SA_TOKEN_ACCESS, SA_JWT_VALID, NULL);
    expect_crafted(&cfg, HDR, payload_with(0, 0, P("%" PRId64, NOW + 11), 0, 0, 0),
                   SA_TOKEN_ACCESS, SA_JWT_INVALID, "iat in the future");
    /* nbf, when present. */
    expect_invalid(HDR,
                   P("{\"token_type\":\"access\",\"exp\":%" PRId64 ",\"nbf\":%" PRId64
                     ",\"jti\":\"" JTI "\",\"user_id\":\"u\"}",
                     NOW + 100, NOW + 50),
                   "nbf");
    expect_invalid(HDR,
                   P("{\"token_type\":\"access\",\"exp\":%" PRId64 ",\"nbf\":\"0\",\"jti\":\"" JTI
                     "\",\"user_id\":\"u\"}",
                     NOW + 100),
                   "nbf");
    expect_valid(HDR, P("{\"token_type\":\"access\",\"exp\":%" PRId64 ",\"nbf\":%" PRId64
                        ",\"jti\":\"" JTI "\",\"user_id\":\"u\"}",
                        NOW + 100, NOW));
}

static void test_reject_jti_and_type(void **state)
{
    (void)state;
    expect_invalid(HDR, payload_with(0, 0, 0, "", 0, 0), "jti");
    expect_invalid(HDR, payload_with(0, 0, 0, "\"\"", 0, 0), "jti");
    expect_invalid(HDR, payload_with(0, 0, 0, "123", 0, 0), "jti");
    expect_invalid(HDR, payload_with(0, 0, 0, "null", 0, 0), "jti");
    expect_invalid(HDR, payload_with(0, 0, 0, "\"" JTI "0\"", 0, 0), "jti"); /* 33 chars */
    expect_invalid(HDR, payload_with(0, 0, 0, "\"ab\\u0000cd\"", 0, 0), "jti");
    expect_valid(HDR, payload_with(0, 0, 0, "\"x\"", 0, 0));
    expect_valid(HDR, payload_with(0, 0, 0, "\"" JTI "\"", 0, 0));

    expect_invalid(HDR, payload_with("", 0, 0, 0, 0, 0), "token_type");
    expect_invalid(HDR, payload_with("1", 0, 0, 0, 0, 0), "token_type");
    expect_invalid(HDR, payload_with("null", 0, 0, 0, 0, 0), "token_type");
    expect_invalid(HDR, payload_with("[\"access\"]", 0, 0, 0, 0, 0), "token_type");
    /* Not "access" with a hidden tail. */
    sa_config cfg;
    cfg_init(&cfg);
    expect_crafted(&cfg, HDR, payload_with("\"access\\u0000\"", 0, 0, 0, 0, 0), SA_TOKEN_ACCESS,
                   SA_JWT_INVALID, "token_type");
    expect_crafted(&cfg, HDR, payload_with("\"Access\"", 0, 0, 0, 0, 0), SA_TOKEN_ACCESS,
                   SA_JWT_WRONG_TYPE, "wrong type");
}

static void test_user_id(void **state)
{
    (void)state;
    sa_config cfg;
    cfg_init(&cfg);
    char tok[8192], id[SA_USER_ID_MAX + 8];
    sa_claims c;

    /* Integers become their decimal string. */
    static const struct { const char *json, *want; } ints[] = {
        {"42", "42"}, {"0", "0"}, {"-7", "-7"},
        {"9223372036854775807", "9223372036854775807"},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        jwt_craft(tok, sizeof tok, KEY, strlen(KEY), HDR,
                  payload_with(0, 0, 0, 0, ints[i].json, 0));
        assert_int_equal(sa_jwt_verify(&cfg, tok, strlen(tok), SA_TOKEN_ACCESS, NOW, &c, NULL),
                         SA_JWT_VALID);
        assert_string_equal(c.user_id, ints[i].want);
    }
    /* Longest string id passes, one more byte does not. */
    memset(id, 'a', SA_USER_ID_MAX);
    id[SA_USER_ID_MAX] = '\0';
    jwt_craft(tok, sizeof tok, KEY, strlen(KEY), HDR, payload_with(0, 0, 0, 0, P("\"%s\"", id), 0));
    assert_int_equal(sa_jwt_verify(&cfg, tok, strlen(tok), SA_TOKEN_ACCESS, NOW, &c, NULL),
                     SA_JWT_VALID);
    assert_string_equal(c.user_id, id);
    expect_invalid(HDR, payload_with(0, 0, 0, 0, P("\"%sa\"", id), 0), "user_id");

    expect_invalid(HDR, payload_with(0, 0, 0, 0, "", 0), "user_id");
    expect_invalid(HDR, payload_with(0, 0, 0, 0, "\"\"", 0), "user_id");
    expect_invalid(HDR, payload_with(0, 0, 0, 0, "null", 0), "user_id");
    expect_invalid(HDR, payload_with(0, 0, 0, 0, "1.5", 0), "user_id");
    expect_invalid(HDR, payload_with(0, 0, 0, 0, "42.0", 0), "user_id");
    expect_invalid(HDR, payload_with(0, 0, 0, 0, "true", 0), "user_id");
    expect_invalid(HDR, payload_with(0, 0, 0, 0, "[\"u\"]", 0), "user_id");
    expect_invalid(HDR, payload_with(0, 0, 0, 0, "{\"id\":1}", 0), "user_id");
    /* Security: "victim\u0000x" must not become the C string "victim". */
    expect_invalid(HDR, payload_with(0, 0, 0, 0, "\"victim\\u0000x\"", 0), "user_id");
    expect_invalid(HDR, payload_with(0, 0, 0, 0, "18446744073709551615", 0), "out of range");
}

static void test_sid(void **state)
{
    (void)state;
    char sid[SA_SID_LEN + 2];
    memset(sid, 'c', sizeof sid - 1);
    sid[SA_SID_LEN] = '\0';
    expect_valid(HDR, payload_with(0, 0, 0, 0, 0, ""));
    expect_valid(HDR, payload_with(0, 0, 0, 0, 0, "\"s\""));
    expect_valid(HDR, payload_with(0, 0, 0, 0, 0, P("\"%s\"", sid)));
    expect_invalid(HDR, payload_with(0, 0, 0, 0, 0, P("\"%sc\"", sid)), "sid");
    expect_invalid(HDR, payload_with(0, 0, 0, 0, 0, "\"\""), "sid");
    expect_invalid(HDR, payload_with(0, 0, 0, 0, 0, "null"), "sid");
    expect_invalid(HDR, payload_with(0, 0, 0, 0, 0, "12"), "sid");
    expect_invalid(HDR, payload_with(0, 0, 0, 0, 0, "\"a\\u0000\""), "sid");
}

static void test_audience_issuer(void **state)
{
    (void)state;
    sa_config cfg;
    cfg_init(&cfg);
    const char *tail = ",\"jti\":\"" JTI "\",\"user_id\":\"u\"";
    char base[256];
    snprintf(base, sizeof base, "{\"token_type\":\"access\",\"exp\":%" PRId64 "%s", NOW + 100,
             tail);
    /* No audience configured: a token that names one is refused, as PyJWT does. */
    expect_crafted(&cfg, HDR, P("%s,\"aud\":\"x\"}", base), SA_TOKEN_ACCESS, SA_JWT_INVALID,
                   "audience");
    /* iss is ignored when not configured. */
    expect_crafted(&cfg, HDR, P("%s,\"iss\":\"x\"}", base), SA_TOKEN_ACCESS, SA_JWT_VALID, NULL);

    snprintf(cfg.jwt_audience, sizeof cfg.jwt_audience, "api");
    expect_crafted(&cfg, HDR, P("%s,\"aud\":\"api\"}", base), SA_TOKEN_ACCESS, SA_JWT_VALID,
                   NULL);
    expect_crafted(&cfg, HDR, P("%s,\"aud\":[\"other\",\"api\"]}", base), SA_TOKEN_ACCESS,
                   SA_JWT_VALID, NULL);
    expect_crafted(&cfg, HDR, P("%s}", base), SA_TOKEN_ACCESS, SA_JWT_INVALID, "audience");
    expect_crafted(&cfg, HDR, P("%s,\"aud\":\"apix\"}", base), SA_TOKEN_ACCESS, SA_JWT_INVALID,
                   "audience");
    expect_crafted(&cfg, HDR, P("%s,\"aud\":[\"other\"]}", base), SA_TOKEN_ACCESS,
                   SA_JWT_INVALID, "audience");
    expect_crafted(&cfg, HDR, P("%s,\"aud\":[\"api\",1]}", base), SA_TOKEN_ACCESS,
                   SA_JWT_INVALID, "audience");
    expect_crafted(&cfg, HDR, P("%s,\"aud\":[]}", base), SA_TOKEN_ACCESS, SA_JWT_INVALID,
                   "audience");
    expect_crafted(&cfg, HDR, P("%s,\"aud\":null}", base), SA_TOKEN_ACCESS, SA_JWT_INVALID,
                   "audience");

    snprintf(cfg.jwt_issuer, sizeof cfg.jwt_issuer, "https://auth.example");
    expect_crafted(&cfg, HDR, P("%s,\"aud\":\"api\",\"iss\":\"https://auth.example\"}", base),
                   SA_TOKEN_ACCESS, SA_JWT_VALID, NULL);
    expect_crafted(&cfg, HDR, P("%s,\"aud\":\"api\"}", base), SA_TOKEN_ACCESS, SA_JWT_INVALID,
                   "issuer");
    expect_crafted(&cfg, HDR, P("%s,\"aud\":\"api\",\"iss\":\"https://evil\"}", base),
                   SA_TOKEN_ACCESS, SA_JWT_INVALID, "issuer");
    expect_crafted(&cfg, HDR, P("%s,\"aud\":\"api\",\"iss\":[\"https://auth.example\"]}", base),
                   SA_TOKEN_ACCESS, SA_JWT_INVALID, "issuer");
}

static void test_huge_tokens(void **state)
{
    (void)state;
    sa_config cfg;
    cfg_init(&cfg);
    char *tok = malloc(4 * SA_JWT_MAX_LEN);
    char *filler = malloc(2 * SA_JWT_MAX_LEN);
    assert_non_null(tok);
    assert_non_null(filler);
    /* Grow a filler claim until the token is exactly SA_JWT_MAX_LEN, then one step more. */
    size_t f = 0, n = 0;
    for (f = 0; f < 2 * SA_JWT_MAX_LEN - 1; f++) {
        memset(filler, 'x', f);
        filler[f] = '\0';
        char *p = strdup(P("{\"token_type\":\"access\",\"exp\":%" PRId64 ",\"jti\":\"" JTI
                           "\",\"user_id\":\"u\",\"pad\":\"%s\"}",
                           NOW + 100, filler));
        n = jwt_craft(tok, 4 * SA_JWT_MAX_LEN, KEY, strlen(KEY), HDR, p);
        free(p);
        if (n >= SA_JWT_MAX_LEN)
            break;
    }
    assert_int_equal(n, SA_JWT_MAX_LEN);
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_VALID, NULL);
    memset(filler, 'x', f + 1);
    filler[f + 1] = '\0';
    char *p = strdup(P("{\"token_type\":\"access\",\"exp\":%" PRId64 ",\"jti\":\"" JTI
                       "\",\"user_id\":\"u\",\"pad\":\"%s\"}",
                       NOW + 100, filler));
    n = jwt_craft(tok, 4 * SA_JWT_MAX_LEN, KEY, strlen(KEY), HDR, p);
    free(p);
    assert_true(n > SA_JWT_MAX_LEN);
    expect_token(&cfg, tok, SA_TOKEN_ACCESS, SA_JWT_INVALID, "too long");
    /* A megabyte of junk is refused by its size alone. */
    size_t big = 1 << 20;
    char *junk = malloc(big);
    assert_non_null(junk);
    memset(junk, 'A', big);
    sa_claims c;
    sa_error err = {0};
    assert_int_equal(sa_jwt_verify(&cfg, junk, big, SA_TOKEN_ACCESS, NOW, &c, &err),
                     SA_JWT_INVALID);
    assert_string_equal(err.msg, "token too long");
    free(junk);
    free(filler);
    free(tok);
}

/* A forked child's identifiers against its parent's: the child draws `n` and sends them over a
 * pipe, then the parent draws `n`; no identifier may be in both. */
static void fork_ids_disjoint(int n)
{
    enum { MAX = 64 };
    static char child_ids[MAX][SA_JTI_LEN + 1], mine[MAX][SA_JTI_LEN + 1];
    int pipefd[2];
    assert_true(n <= MAX);
    assert_int_equal(pipe(pipefd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int ok = 1;
        for (int i = 0; i < n && ok; i++) {
            char id[SA_JTI_LEN + 1];
            ok = sa_random_id_hex(id, SA_JTI_LEN) == SA_OK &&
                 write(pipefd[1], id, SA_JTI_LEN) == SA_JTI_LEN;
        }
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(read(pipefd[0], child_ids[i], SA_JTI_LEN), SA_JTI_LEN);
        child_ids[i][SA_JTI_LEN] = '\0';
    }
    close(pipefd[0]);
    close(pipefd[1]);
    for (int i = 0; i < n; i++)
        assert_int_equal(sa_random_id_hex(mine[i], SA_JTI_LEN), SA_OK);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            assert_string_not_equal(mine[i], child_ids[j]);
}

/* Identifiers from the pool: lower-case hex of the asked length, never the same twice across
 * several refills, and a forked child never hands out what its parent does: a fork before the
 * first draw (no pool yet), and with unused identifiers in the parent's pool (ten here, which a
 * child that kept the copy would hand out too) while the child draws past a refill. */
static void test_random_id_hex_pool(void **state)
{
    (void)state;
    enum { N = 400 };
    static char ids[N][SA_JTI_LEN + 1];
    fork_ids_disjoint(4);
    for (int i = 0; i < N; i++) {
        assert_int_equal(sa_random_id_hex(ids[i], SA_JTI_LEN), SA_OK);
        assert_int_equal(strlen(ids[i]), SA_JTI_LEN);
        assert_int_equal(strspn(ids[i], "0123456789abcdef"), SA_JTI_LEN);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    }
    char odd[8];
    assert_int_equal(sa_random_id_hex(odd, 7), SA_OK);
    assert_int_equal(strlen(odd), 7);
    assert_int_equal(strspn(odd, "0123456789abcdef"), 7);

    char first[SA_JTI_LEN + 1];
    assert_int_equal(sa_random_id_hex(first, SA_JTI_LEN), SA_OK);
    fork_ids_disjoint(64);   /* more than a pool: the child refills its own */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_id_hex_pool),
        cmocka_unit_test(test_b64url_vectors),
        cmocka_unit_test(test_b64url_sizes),
        cmocka_unit_test(test_b64url_rejects_noncanonical),
        cmocka_unit_test(test_random_hex),
        cmocka_unit_test(test_format_utc),
        cmocka_unit_test(test_mint_matches_pyjwt),
        cmocka_unit_test(test_mint_round_trip),
        cmocka_unit_test(test_mint_errors),
        cmocka_unit_test(test_verify_pyjwt_tokens),
        cmocka_unit_test(test_verify_wrong_type),
        cmocka_unit_test(test_verify_header_variants),
        cmocka_unit_test(test_reject_alg),
        cmocka_unit_test(test_reject_duplicate_keys),
        cmocka_unit_test(test_reject_crit),
        cmocka_unit_test(test_reject_signature),
        cmocka_unit_test(test_reject_structure),
        cmocka_unit_test(test_reject_noncanonical_b64),
        cmocka_unit_test(test_reject_not_objects),
        cmocka_unit_test(test_reject_exp),
        cmocka_unit_test(test_reject_iat_nbf),
        cmocka_unit_test(test_reject_jti_and_type),
        cmocka_unit_test(test_user_id),
        cmocka_unit_test(test_sid),
        cmocka_unit_test(test_audience_issuer),
        cmocka_unit_test(test_huge_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
