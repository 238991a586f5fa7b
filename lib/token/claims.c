/* claims.c: the claim checks, one function a claim (see claims.h). */
#include "token/claims.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "codec/json.h"
#include "config/keyring.h"

/* a + b clamped to the int64 range (times come from tokens and settings). */
static int64_t sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

/* a - b clamped likewise. */
static int64_t sat_sub(int64_t a, int64_t b)
{
    if (b == INT64_MIN)
        return a >= 0 ? INT64_MAX : a - INT64_MIN;
    return sat_add(a, -b);
}

bool sa_claim_expired(int64_t exp, int64_t now, int64_t leeway)
{
    return exp <= sat_sub(now, leeway);
}

bool sa_claim_early(int64_t t, int64_t now, int64_t leeway)
{
    return t > sat_add(now, leeway);
}

sa_claim_result sa_claim_exp(json_object *claims, int64_t now, int64_t leeway, int64_t *exp,
                             sa_error *err)
{
    *exp = 0;
    sa_status st = sa_json_get_int64(claims, "exp", exp);
    if (st == SA_ERR_NOT_FOUND) {
        SA_FAIL(err, SA_ERR_INVALID, "exp missing");
        return SA_CLAIM_ABSENT;
    }
    if (st != SA_OK) {
        *exp = 0;
        SA_FAIL(err, SA_ERR_INVALID, "exp is not an integer");
        return SA_CLAIM_MALFORMED;
    }
    if (sa_claim_expired(*exp, now, leeway)) {
        SA_FAIL(err, SA_ERR_INVALID, "token expired");
        return SA_CLAIM_OUT_OF_WINDOW;
    }
    return SA_CLAIM_OK;
}

/* An optional time claim that must not lie after now + leeway. */
static sa_claim_result not_after_now(json_object *claims, const char *name, int64_t now,
                                     int64_t leeway, int64_t *t, const char *malformed,
                                     const char *early, sa_error *err)
{
    *t = 0;
    sa_status st = sa_json_get_int64(claims, name, t);
    if (st == SA_ERR_NOT_FOUND)
        return SA_CLAIM_ABSENT;
    if (st != SA_OK) {
        *t = 0;
        SA_FAIL(err, SA_ERR_INVALID, "%s", malformed);
        return SA_CLAIM_MALFORMED;
    }
    if (sa_claim_early(*t, now, leeway)) {
        SA_FAIL(err, SA_ERR_INVALID, "%s", early);
        return SA_CLAIM_OUT_OF_WINDOW;
    }
    return SA_CLAIM_OK;
}

sa_claim_result sa_claim_iat(json_object *claims, int64_t now, int64_t leeway, int64_t *iat,
                             sa_error *err)
{
    return not_after_now(claims, "iat", now, leeway, iat, "iat is not an integer",
                         "iat in the future", err);
}

sa_claim_result sa_claim_nbf(json_object *claims, int64_t now, int64_t leeway, sa_error *err)
{
    int64_t nbf;
    return not_after_now(claims, "nbf", now, leeway, &nbf, "nbf is not an integer",
                         "not valid yet (nbf)", err);
}

/* A string claim of 1..max bytes into out (max + 1 bytes); SA_ERR_NOT_FOUND when absent,
 * SA_ERR_INVALID when of another type, empty or too long. */
static sa_status bounded_string(json_object *claims, const char *name, size_t max, char *out)
{
    const char *s;
    size_t n;
    sa_status st = sa_json_get_string(claims, name, &s, &n);
    if (st != SA_OK)
        return st;
    if (n == 0 || n > max)
        return SA_ERR_INVALID;
    memcpy(out, s, n);
    out[n] = '\0';
    return SA_OK;
}

bool sa_claim_jti(json_object *claims, char jti[SA_JTI_LEN + 1], sa_error *err)
{
    jti[0] = '\0';
    if (bounded_string(claims, "jti", SA_JTI_LEN, jti) == SA_OK)
        return true;
    jti[0] = '\0';
    SA_FAIL(err, SA_ERR_INVALID, "jti missing, not a string, empty or too long");
    return false;
}

bool sa_claim_user_id(json_object *claims, char user_id[SA_USER_ID_MAX + 1], sa_error *err)
{
    int64_t id;
    user_id[0] = '\0';
    sa_status st = bounded_string(claims, "user_id", SA_USER_ID_MAX, user_id);
    if (st == SA_OK)
        return true;
    user_id[0] = '\0';
    if (st == SA_ERR_INVALID && sa_json_get_string(claims, "user_id", NULL, NULL) == SA_OK) {
        SA_FAIL(err, SA_ERR_INVALID, "user_id empty or too long");
        return false;
    }
    if (sa_json_get_int64(claims, "user_id", &id) == SA_OK) {
        snprintf(user_id, SA_USER_ID_MAX + 1, "%" PRId64, id);
        return true;
    }
    SA_FAIL(err, SA_ERR_INVALID, "user_id missing or not a string or integer");
    return false;
}

bool sa_claim_sid(json_object *claims, char sid[SA_SID_LEN + 1], sa_error *err)
{
    sid[0] = '\0';
    sa_status st = bounded_string(claims, "sid", SA_SID_LEN, sid);
    if (st == SA_OK || st == SA_ERR_NOT_FOUND)
        return true;
    sid[0] = '\0';
    SA_FAIL(err, SA_ERR_INVALID, "sid not a string of 1 to %d characters", SA_SID_LEN);
    return false;
}

const char *sa_claim_token_type_name(sa_token_type type)
{
    return type == SA_TOKEN_ACCESS ? "access" : "refresh";
}

/* True when the string value of `key` in obj equals want. */
static bool string_is(json_object *obj, const char *key, const char *want)
{
    const char *s;
    size_t n;
    return sa_json_get_string(obj, key, &s, &n) == SA_OK && n == strlen(want) &&
           memcmp(s, want, n) == 0;
}

bool sa_claim_token_type(json_object *claims, sa_token_type expected, bool *is_expected,
                         sa_error *err)
{
    *is_expected = false;
    if (sa_json_get_string(claims, "token_type", NULL, NULL) != SA_OK) {
        SA_FAIL(err, SA_ERR_INVALID, "token_type missing or not a string");
        return false;
    }
    *is_expected = string_is(claims, "token_type", sa_claim_token_type_name(expected));
    return true;
}

/* `aud` names want: a string equal to it, or an array of strings holding it. */
static bool audience_names(json_object *claims, const char *want)
{
    json_object *aud;
    if (!json_object_object_get_ex(claims, "aud", &aud) || !aud)
        return false;
    if (json_object_is_type(aud, json_type_string))
        return string_is(claims, "aud", want);
    if (!json_object_is_type(aud, json_type_array))
        return false;
    size_t n = json_object_array_length(aud);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(aud, i);
        if (!json_object_is_type(v, json_type_string))
            return false;
        size_t len = (size_t)json_object_get_string_len(v);
        if (len == strlen(want) && memcmp(json_object_get_string(v), want, len) == 0)
            found = true;
    }
    return found;
}

bool sa_claim_audience(json_object *claims, const char *want, sa_error *err)
{
    /* Security: a token for another audience is not ours to accept; and one that names an
     * audience when we expect none was meant for some other service. */
    if (want[0] ? audience_names(claims, want) : !json_object_object_get_ex(claims, "aud", NULL))
        return true;
    SA_FAIL(err, SA_ERR_INVALID, "wrong or unexpected audience");
    return false;
}

bool sa_claim_issuer(json_object *claims, const char *want, sa_error *err)
{
    if (!want[0] || string_is(claims, "iss", want))
        return true;
    SA_FAIL(err, SA_ERR_INVALID, "wrong issuer");
    return false;
}

bool sa_claim_header(const unsigned char *raw, size_t len, char *kid, sa_error *err)
{
    json_object *header = NULL;
    sa_error jerr = {0};
    bool ok = false;
    sa_status st;
    const char *kid_s = NULL;
    size_t kid_len = 0;

    kid[0] = '\0';
    if (sa_json_parse((const char *)raw, len, &header, &jerr) != SA_OK ||
        !json_object_is_type(header, json_type_object)) {
        SA_FAIL(err, SA_ERR_INVALID, "header is not a JSON object%s%s", jerr.msg[0] ? ": " : "",
                jerr.msg);
        goto done;
    }
    /* Security: refuse any other algorithm named in a token we signed (alg "none" included),
     * and `crit`: we implement no extension, so RFC 7515 4.1.11 says reject. */
    if (!string_is(header, "alg", "HS256")) {
        SA_FAIL(err, SA_ERR_INVALID, "alg is not HS256");
        goto done;
    }
    if (json_object_object_get_ex(header, "crit", NULL)) {
        SA_FAIL(err, SA_ERR_INVALID, "crit header not supported");
        goto done;
    }
    st = sa_json_get_string(header, "typ", NULL, NULL);
    if (st != SA_OK && st != SA_ERR_NOT_FOUND) {
        SA_FAIL(err, SA_ERR_INVALID, "typ is not a string");
        goto done;
    }
    st = sa_json_get_string(header, "kid", &kid_s, &kid_len);
    if (st != SA_OK && st != SA_ERR_NOT_FOUND) {
        SA_FAIL(err, SA_ERR_INVALID, "kid is not a string");
        goto done;
    }
    if (st == SA_OK && kid_len <= SA_KID_MAX && strlen(kid_s) == kid_len) {
        memcpy(kid, kid_s, kid_len);
        kid[kid_len] = '\0';
    }
    ok = true;
done:
    json_object_put(header);
    return ok;
}
