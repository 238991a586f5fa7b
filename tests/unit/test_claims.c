/* test_claims.c: every claim check of token/claims.c (exp, iat, nbf and their leeway, jti,
 * user_id, sid, token_type, aud, iss, the header's alg/crit/typ/kid), each at the edges of
 * its window and size, and that Google's ID-token check uses the same time rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "codec/json.h"
#include "config/keyring.h"
#include "token/claims.h"

/* The JSON object text, parsed; the caller puts it. */
static json_object *obj(const char *text)
{
    json_object *o = NULL;
    sa_error err = {0};
    assert_int_equal(sa_json_parse(text, strlen(text), &o, &err), SA_OK);
    return o;
}

/* claim check f on {"name": value} at now 1000, leeway 10. */
static sa_claim_result time_claim(sa_claim_result (*f)(json_object *, int64_t, int64_t,
                                                        int64_t *, sa_error *),
                                  const char *text, int64_t *t, char *msg)
{
    json_object *o = obj(text);
    sa_error err = {0};
    sa_claim_result r = f(o, 1000, 10, t, &err);
    snprintf(msg, sizeof err.msg, "%s", err.msg);
    json_object_put(o);
    return r;
}

static void test_time_rules(void **state)
{
    (void)state;
    assert_false(sa_claim_expired(991, 1000, 10));
    assert_true(sa_claim_expired(990, 1000, 10));      /* exp == now - leeway: expired */
    assert_true(sa_claim_expired(1000, 1000, 0));
    assert_false(sa_claim_early(1010, 1000, 10));      /* iat == now + leeway: fine */
    assert_true(sa_claim_early(1011, 1000, 10));
    /* Clamped, never wrapped: a huge leeway or time does not turn the answer round. */
    assert_false(sa_claim_expired(INT64_MAX, INT64_MIN + 5, INT64_MAX));
    assert_true(sa_claim_expired(INT64_MIN, INT64_MIN, 1));
    assert_false(sa_claim_early(INT64_MAX, INT64_MAX - 5, INT64_MAX));
    assert_true(sa_claim_early(INT64_MAX, 0, 10));
    assert_true(sa_claim_expired(5, 0, INT64_MIN));    /* a negative leeway narrows, clamped */
}

static void test_exp(void **state)
{
    int64_t t;
    char msg[256];
    (void)state;
    assert_int_equal(time_claim(sa_claim_exp, "{\"exp\":991}", &t, msg), SA_CLAIM_OK);
    assert_int_equal(t, 991);
    assert_int_equal(time_claim(sa_claim_exp, "{\"exp\":990}", &t, msg), SA_CLAIM_OUT_OF_WINDOW);
    assert_string_equal(msg, "token expired");
    assert_int_equal(time_claim(sa_claim_exp, "{}", &t, msg), SA_CLAIM_ABSENT);
    assert_string_equal(msg, "exp missing");
    assert_int_equal(time_claim(sa_claim_exp, "{\"exp\":\"2000\"}", &t, msg), SA_CLAIM_MALFORMED);
    assert_string_equal(msg, "exp is not an integer");
    assert_int_equal(t, 0);
    assert_int_equal(time_claim(sa_claim_exp, "{\"exp\":2000.5}", &t, msg), SA_CLAIM_MALFORMED);
    assert_int_equal(time_claim(sa_claim_exp, "{\"exp\":null}", &t, msg), SA_CLAIM_MALFORMED);
}

static void test_iat(void **state)
{
    int64_t t;
    char msg[256] = "";
    (void)state;
    assert_int_equal(time_claim(sa_claim_iat, "{\"iat\":1010}", &t, msg), SA_CLAIM_OK);
    assert_int_equal(t, 1010);
    assert_int_equal(time_claim(sa_claim_iat, "{\"iat\":1011}", &t, msg), SA_CLAIM_OUT_OF_WINDOW);
    assert_string_equal(msg, "iat in the future");
    msg[0] = '\0';
    assert_int_equal(time_claim(sa_claim_iat, "{}", &t, msg), SA_CLAIM_ABSENT);
    assert_int_equal(t, 0);
    assert_string_equal(msg, "");                      /* absent is no error for us */
    assert_int_equal(time_claim(sa_claim_iat, "{\"iat\":true}", &t, msg), SA_CLAIM_MALFORMED);
    assert_string_equal(msg, "iat is not an integer");
}

static sa_claim_result nbf_of(const char *text, char *msg)
{
    json_object *o = obj(text);
    sa_error err = {0};
    sa_claim_result r = sa_claim_nbf(o, 1000, 10, &err);
    snprintf(msg, sizeof err.msg, "%s", err.msg);
    json_object_put(o);
    return r;
}

static void test_nbf(void **state)
{
    char msg[256];
    (void)state;
    assert_int_equal(nbf_of("{\"nbf\":1010}", msg), SA_CLAIM_OK);
    assert_int_equal(nbf_of("{\"nbf\":1011}", msg), SA_CLAIM_OUT_OF_WINDOW);
    assert_string_equal(msg, "not valid yet (nbf)");
    assert_int_equal(nbf_of("{}", msg), SA_CLAIM_ABSENT);
    assert_int_equal(nbf_of("{\"nbf\":\"1\"}", msg), SA_CLAIM_MALFORMED);
    assert_string_equal(msg, "nbf is not an integer");
}

/* A string claim check on text: its result, and the value it copied. */
#define STRING_CLAIM(f, text, out)                                                          \
    ({                                                                                      \
        json_object *o_ = obj(text);                                                        \
        sa_error e_ = {0};                                                                  \
        bool r_ = f(o_, out, &e_);                                                          \
        json_object_put(o_);                                                                \
        r_;                                                                                 \
    })

static void test_jti(void **state)
{
    char jti[SA_JTI_LEN + 1];
    (void)state;
    assert_true(STRING_CLAIM(sa_claim_jti, "{\"jti\":\"0123456789abcdef0123456789abcdef\"}", jti));
    assert_string_equal(jti, "0123456789abcdef0123456789abcdef");
    assert_true(STRING_CLAIM(sa_claim_jti, "{\"jti\":\"a\"}", jti));
    assert_string_equal(jti, "a");
    /* 33 characters: refused, never cut. */
    assert_false(STRING_CLAIM(sa_claim_jti, "{\"jti\":\"0123456789abcdef0123456789abcdef0\"}", jti));
    assert_string_equal(jti, "");
    assert_false(STRING_CLAIM(sa_claim_jti, "{\"jti\":\"\"}", jti));
    assert_false(STRING_CLAIM(sa_claim_jti, "{\"jti\":12}", jti));
    assert_false(STRING_CLAIM(sa_claim_jti, "{}", jti));
    assert_false(STRING_CLAIM(sa_claim_jti, "{\"jti\":\"a\\u0000b\"}", jti));
}

static void test_user_id(void **state)
{
    char id[SA_USER_ID_MAX + 1], long_id[SA_USER_ID_MAX + 2], text[300];
    json_object *o;
    sa_error err = {0};
    (void)state;
    assert_true(STRING_CLAIM(sa_claim_user_id, "{\"user_id\":\"u-1\"}", id));
    assert_string_equal(id, "u-1");
    assert_true(STRING_CLAIM(sa_claim_user_id, "{\"user_id\":42}", id));   /* Django's ints */
    assert_string_equal(id, "42");
    assert_true(STRING_CLAIM(sa_claim_user_id, "{\"user_id\":-7}", id));
    assert_string_equal(id, "-7");
    assert_false(STRING_CLAIM(sa_claim_user_id, "{\"user_id\":\"\"}", id));
    assert_false(STRING_CLAIM(sa_claim_user_id, "{\"user_id\":true}", id));
    assert_false(STRING_CLAIM(sa_claim_user_id, "{\"user_id\":1.5}", id));
    assert_false(STRING_CLAIM(sa_claim_user_id, "{}", id));
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    snprintf(text, sizeof text, "{\"user_id\":\"%s\"}", long_id);
    o = obj(text);
    assert_false(sa_claim_user_id(o, id, &err));
    assert_string_equal(err.msg, "user_id empty or too long");
    json_object_put(o);
    long_id[SA_USER_ID_MAX] = '\0';                    /* exactly the maximum: fine */
    snprintf(text, sizeof text, "{\"user_id\":\"%s\"}", long_id);
    assert_true(STRING_CLAIM(sa_claim_user_id, text, id));
    assert_int_equal(strlen(id), SA_USER_ID_MAX);
}

static void test_sid(void **state)
{
    char sid[SA_SID_LEN + 1] = "x";
    (void)state;
    assert_true(STRING_CLAIM(sa_claim_sid, "{}", sid));     /* a token without sid */
    assert_string_equal(sid, "");
    assert_true(STRING_CLAIM(sa_claim_sid, "{\"sid\":\"0123456789abcdef0123456789abcdef\"}", sid));
    assert_string_equal(sid, "0123456789abcdef0123456789abcdef");
    assert_false(STRING_CLAIM(sa_claim_sid, "{\"sid\":\"0123456789abcdef0123456789abcdef0\"}", sid));
    assert_false(STRING_CLAIM(sa_claim_sid, "{\"sid\":\"\"}", sid));
    assert_false(STRING_CLAIM(sa_claim_sid, "{\"sid\":null}", sid));
    assert_false(STRING_CLAIM(sa_claim_sid, "{\"sid\":5}", sid));
}

static void test_token_type(void **state)
{
    json_object *o;
    sa_error err = {0};
    bool expected = true;
    (void)state;
    assert_string_equal(sa_claim_token_type_name(SA_TOKEN_ACCESS), "access");
    assert_string_equal(sa_claim_token_type_name(SA_TOKEN_REFRESH), "refresh");
    o = obj("{\"token_type\":\"refresh\"}");
    assert_true(sa_claim_token_type(o, SA_TOKEN_REFRESH, &expected, &err));
    assert_true(expected);
    assert_true(sa_claim_token_type(o, SA_TOKEN_ACCESS, &expected, &err));
    assert_false(expected);
    json_object_put(o);
    o = obj("{\"token_type\":\"refreshx\"}");
    assert_true(sa_claim_token_type(o, SA_TOKEN_REFRESH, &expected, &err));
    assert_false(expected);
    json_object_put(o);
    o = obj("{\"token_type\":1}");
    assert_false(sa_claim_token_type(o, SA_TOKEN_REFRESH, &expected, &err));
    assert_string_equal(err.msg, "token_type missing or not a string");
    json_object_put(o);
    o = obj("{}");
    assert_false(sa_claim_token_type(o, SA_TOKEN_ACCESS, &expected, &err));
    json_object_put(o);
}

static bool audience(const char *text, const char *want)
{
    json_object *o = obj(text);
    sa_error err = {0};
    bool ok = sa_claim_audience(o, want, &err);
    json_object_put(o);
    return ok;
}

static bool issuer(const char *text, const char *want)
{
    json_object *o = obj(text);
    sa_error err = {0};
    bool ok = sa_claim_issuer(o, want, &err);
    json_object_put(o);
    return ok;
}

static void test_audience_issuer(void **state)
{
    (void)state;
    assert_true(audience("{}", ""));
    assert_false(audience("{\"aud\":\"x\"}", ""));          /* meant for another service */
    assert_false(audience("{\"aud\":null}", ""));
    assert_true(audience("{\"aud\":\"api\"}", "api"));
    assert_false(audience("{\"aud\":\"apix\"}", "api"));
    assert_false(audience("{}", "api"));
    assert_true(audience("{\"aud\":[\"web\",\"api\"]}", "api"));
    assert_false(audience("{\"aud\":[\"web\"]}", "api"));
    assert_false(audience("{\"aud\":[\"api\",1]}", "api"));  /* one non-string spoils it */
    assert_false(audience("{\"aud\":{\"api\":1}}", "api"));
    assert_true(issuer("{}", ""));
    assert_true(issuer("{\"iss\":5}", ""));
    assert_true(issuer("{\"iss\":\"me\"}", "me"));
    assert_false(issuer("{\"iss\":\"mex\"}", "me"));
    assert_false(issuer("{}", "me"));
}

static bool header(const char *text, char *kid, char *msg)
{
    sa_error err = {0};
    bool ok = sa_claim_header((const unsigned char *)text, strlen(text), kid, &err);
    snprintf(msg, sizeof err.msg, "%s", err.msg);
    return ok;
}

static void test_header(void **state)
{
    char kid[SA_KID_MAX + 1], msg[256], text[200];
    char long_kid[SA_KID_MAX + 2];
    (void)state;
    assert_true(header("{\"typ\":\"JWT\",\"kid\":\"k1\",\"alg\":\"HS256\"}", kid, msg));
    assert_string_equal(kid, "k1");
    assert_true(header("{\"alg\":\"HS256\"}", kid, msg));
    assert_string_equal(kid, "");
    assert_false(header("{\"alg\":\"none\"}", kid, msg));
    assert_string_equal(msg, "alg is not HS256");
    assert_false(header("{\"alg\":\"HS512\"}", kid, msg));
    assert_false(header("{\"alg\":\"hs256\"}", kid, msg));
    assert_false(header("{\"typ\":\"JWT\"}", kid, msg));
    assert_false(header("{\"alg\":\"HS256\",\"crit\":[\"b64\"]}", kid, msg));
    assert_string_equal(msg, "crit header not supported");
    assert_false(header("{\"alg\":\"HS256\",\"typ\":1}", kid, msg));
    assert_string_equal(msg, "typ is not a string");
    assert_false(header("{\"alg\":\"HS256\",\"kid\":7}", kid, msg));
    assert_string_equal(msg, "kid is not a string");
    assert_false(header("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", kid, msg));  /* duplicate */
    assert_false(header("[\"alg\",\"HS256\"]", kid, msg));
    assert_false(header("{\"alg\":\"HS256\"", kid, msg));
    /* A kid longer than any directory key's: accepted, but it selects none. */
    memset(long_kid, 'k', sizeof long_kid - 1);
    long_kid[sizeof long_kid - 1] = '\0';
    snprintf(text, sizeof text, "{\"alg\":\"HS256\",\"kid\":\"%s\"}", long_kid);
    assert_true(header(text, kid, msg));
    assert_string_equal(kid, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_rules),
        cmocka_unit_test(test_exp),
        cmocka_unit_test(test_iat),
        cmocka_unit_test(test_nbf),
        cmocka_unit_test(test_jti),
        cmocka_unit_test(test_user_id),
        cmocka_unit_test(test_sid),
        cmocka_unit_test(test_token_type),
        cmocka_unit_test(test_audience_issuer),
        cmocka_unit_test(test_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
