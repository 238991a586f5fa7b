/* jwt.c: simplejwt-compatible HS256 tokens with OpenSSL EVP (api.html#tokens).
 *
 * Minting writes the header and payload text ourselves so the bytes (and their order) are
 * exactly simplejwt's. Verifying works on the text in this order: size bound, three parts,
 * canonical base64url, HMAC over "header.payload" compared in constant time, and only then
 * the payload's JSON. The header is compared as bytes with the ones we write (simplejwt's,
 * and ours with each directory kid); any other header (bounded by SA_JWT_MAX_LEN) is read
 * strictly before the HMAC, since its kid selects the key. */
#include "token/jwt.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "codec/json.h"
#include "config/keyring.h"
#include "token/claims.h"

#define HS256_LEN 32
/* base64url of {"alg":"HS256","typ":"JWT"}, byte for byte what simplejwt/PyJWT emit. */
static const char jwt_header_b64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/* HMAC-SHA256 of data with key (key_len bytes) into mac (HS256_LEN bytes).
 * Returns SA_OK or SA_ERR_UNAVAILABLE (OpenSSL failure).
 *
 * The key schedule (the padded key's two SHA-256 blocks) is computed once per process and key:
 * a context keyed once is re-initialised with a NULL key, which reuses it. Processes are
 * single-threaded (one request at a time: http.c's loop), so the static context is never shared. */
static sa_status hs256(const unsigned char *key, size_t key_len, const char *data, size_t len,
                       unsigned char mac[HS256_LEN])
{
    static EVP_MAC *hmac;
    static EVP_MAC_CTX *ctx;
    static unsigned char keyed_with[SA_SIGNING_KEY_MAX];
    static size_t keyed_len;
    size_t out_len = 0;

    if (!hmac && !(hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
        return SA_ERR_UNAVAILABLE;
    if (!ctx && !(ctx = EVP_MAC_CTX_new(hmac)))
        return SA_ERR_UNAVAILABLE;
    bool same_key = keyed_len == key_len && CRYPTO_memcmp(keyed_with, key, keyed_len) == 0;
    if (!same_key) {
        char digest[] = "SHA256";
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
            OSSL_PARAM_construct_end(),
        };
        keyed_len = 0;
        if (EVP_MAC_init(ctx, key, key_len, params) != 1)
            return SA_ERR_UNAVAILABLE;
        memcpy(keyed_with, key, key_len);
        keyed_len = key_len;
    } else if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1) {
        return SA_ERR_UNAVAILABLE;
    }
    if (EVP_MAC_update(ctx, (const unsigned char *)data, len) != 1 ||
        EVP_MAC_final(ctx, mac, &out_len, HS256_LEN) != 1 || out_len != HS256_LEN)
        return SA_ERR_UNAVAILABLE;
    return SA_OK;
}

/* Security: never sign or verify with a missing or short key: an empty HMAC key would let
 * anyone mint tokens. sa_config_load enforces the same bounds; this is the backstop. */
static bool key_usable(const sa_config *cfg)
{
    return cfg && cfg->signing_key_len >= SA_SIGNING_KEY_MIN &&
           cfg->signing_key_len <= SA_SIGNING_KEY_MAX;
}

/* Length of the NUL-terminated string in a fixed field, or size when unterminated. */
static size_t field_len(const char *s, size_t size)
{
    const char *nul = memchr(s, '\0', size);
    return nul ? (size_t)(nul - s) : size;
}

/* Append text (no escaping) at buf[*pos]; SA_ERR_TOO_LARGE when it does not fit with a NUL. */
static sa_status put(char *buf, size_t size, size_t *pos, const char *text)
{
    size_t n = strlen(text);
    if (*pos >= size || size - *pos <= n)
        return SA_ERR_TOO_LARGE;
    memcpy(buf + *pos, text, n + 1);
    *pos += n;
    return SA_OK;
}

/* Append ,"name":"<value escaped>" at buf[*pos]. */
static sa_status put_claim(char *buf, size_t size, size_t *pos, const char *name,
                           const char *value, size_t len)
{
    char key[32];
    size_t start = *pos;
    snprintf(key, sizeof key, ",\"%s\":", name);
    sa_status st = put(buf, size, pos, key);
    if (st == SA_OK)
        st = sa_json_append_string(buf, size, pos, value, len, true);
    if (st != SA_OK)
        *pos = start;
    return st;
}

/* Contract: returns SA_OK with a NUL-terminated token in out; SA_ERR_INVALID when cfg has no
 * usable key or a claim cannot be encoded (token_type out of range, empty or unterminated
 * jti/user_id, unterminated sid, invalid UTF-8); SA_ERR_TOO_LARGE when out is too small or
 * the token would exceed SA_JWT_MAX_LEN (which sa_jwt_verify would refuse);
 * SA_ERR_UNAVAILABLE when OpenSSL fails. out is "" on failure when out_size > 0. */
sa_status sa_jwt_mint(const sa_config *cfg, const sa_claims *claims, char *out, size_t out_size,
                      sa_error *err)
{
    char payload[SA_JWT_MAX_LEN];
    char token[SA_JWT_MAX_LEN + 1];
    char num[96];
    unsigned char mac[HS256_LEN];
    size_t p = 0, t = 0;
    sa_status st;

    if (out && out_size > 0)
        out[0] = '\0';
    if (!key_usable(cfg))
        return SA_FAIL(err, SA_ERR_INVALID, "no usable signing key");
    if (!claims || !out)
        return SA_FAIL(err, SA_ERR_INVALID, "missing claims or output");
    if (claims->token_type != SA_TOKEN_ACCESS && claims->token_type != SA_TOKEN_REFRESH)
        return SA_FAIL(err, SA_ERR_INVALID, "unknown token type");
    size_t jti_len = field_len(claims->jti, sizeof claims->jti);
    size_t uid_len = field_len(claims->user_id, sizeof claims->user_id);
    size_t sid_len = field_len(claims->sid, sizeof claims->sid);
    if (jti_len == 0 || jti_len == sizeof claims->jti)
        return SA_FAIL(err, SA_ERR_INVALID, "jti empty or unterminated");
    if (uid_len == 0 || uid_len == sizeof claims->user_id)
        return SA_FAIL(err, SA_ERR_INVALID, "user_id empty or unterminated");
    if (sid_len == sizeof claims->sid)
        return SA_FAIL(err, SA_ERR_INVALID, "sid unterminated");

    /* The payload, in simplejwt's key order, escaped as PyJWT does (ensure_ascii), so the
     * token is byte for byte the one simplejwt would mint from the same claims. */
    snprintf(num, sizeof num, "{\"token_type\":\"%s\",\"exp\":%" PRId64 ",\"iat\":%" PRId64,
             sa_claim_token_type_name(claims->token_type), claims->exp, claims->iat);
    st = put(payload, sizeof payload, &p, num);
    if (st == SA_OK)
        st = put_claim(payload, sizeof payload, &p, "jti", claims->jti, jti_len);
    if (st == SA_OK)
        st = put_claim(payload, sizeof payload, &p, "user_id", claims->user_id, uid_len);
    if (st == SA_OK && sid_len > 0)
        st = put_claim(payload, sizeof payload, &p, "sid", claims->sid, sid_len);
    if (st == SA_OK && cfg->jwt_audience[0])
        st = put_claim(payload, sizeof payload, &p, "aud", cfg->jwt_audience,
                       field_len(cfg->jwt_audience, sizeof cfg->jwt_audience));
    if (st == SA_OK && cfg->jwt_issuer[0])
        st = put_claim(payload, sizeof payload, &p, "iss", cfg->jwt_issuer,
                       field_len(cfg->jwt_issuer, sizeof cfg->jwt_issuer));
    if (st == SA_OK)
        st = put(payload, sizeof payload, &p, "}");
    if (st != SA_OK)
        return SA_FAIL(err, st, st == SA_ERR_INVALID ? "claim is not valid UTF-8"
                                                     : "payload too large");

    /* header "." payload, then the signature over exactly that text. With a key directory
     * (keyring.h) its signing key signs and the header names its kid: the Django key then
     * verifies only tokens without kid, so ours must say which key they need. */
    const sa_key *k = sa_keyring_signing(cfg->keys);
    st = put(token, sizeof token, &t, k ? k->header_b64 : jwt_header_b64);
    if (st == SA_OK)
        st = put(token, sizeof token, &t, ".");
    if (st != SA_OK)
        return SA_FAIL(err, st, "token too large");
    size_t n = sa_b64url_encode((const unsigned char *)payload, p, token + t, sizeof token - t);
    if (n == 0)
        return SA_FAIL(err, SA_ERR_TOO_LARGE, "token too large");
    t += n;
    if (hs256(k ? k->key : cfg->signing_key, k ? k->len : cfg->signing_key_len, token, t,
              mac) != SA_OK)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "HMAC failed");
    st = put(token, sizeof token, &t, ".");
    if (st != SA_OK)
        return SA_FAIL(err, st, "token too large");
    n = sa_b64url_encode(mac, sizeof mac, token + t, sizeof token - t);
    if (n == 0)
        return SA_FAIL(err, SA_ERR_TOO_LARGE, "token too large");
    t += n;
    if (t > SA_JWT_MAX_LEN || t + 1 > out_size)
        return SA_FAIL(err, SA_ERR_TOO_LARGE, "token too large");
    memcpy(out, token, t + 1);
    return SA_OK;
}

/* An optional claim (iat, nbf) is fine when absent or valid. */
static bool optional_ok(sa_claim_result r)
{
    return r == SA_CLAIM_OK || r == SA_CLAIM_ABSENT;
}

/* Contract: SA_JWT_VALID with *out filled; SA_JWT_WRONG_TYPE when everything checks out but
 * token_type is not `expected`'s name; SA_JWT_INVALID otherwise. *out is zeroed unless
 * SA_JWT_VALID. err (status SA_ERR_INVALID) says why for logs.
 *
 * Claim rules (each type checked before use): exp an integer with exp > now - leeway; iat, if
 * present, an integer <= now + leeway; nbf, if present, an integer <= now + leeway; jti a
 * string of 1..SA_JTI_LEN characters (simplejwt's uuid4().hex is 32; longer is refused, not
 * cut); token_type a string; user_id a string of 1..SA_USER_ID_MAX bytes or an integer
 * (read as its decimal string); sid absent, or a string of 1..SA_SID_LEN bytes; aud required
 * and matching when cfg->jwt_audience is set, refused when it is not (as PyJWT does); iss
 * required and equal when cfg->jwt_issuer is set. In the header: alg exactly "HS256", no
 * crit; typ and kid, when present, must be strings (any value: one key is configured). */
sa_jwt_result sa_jwt_verify(const sa_config *cfg, const char *token, size_t len,
                            sa_token_type expected, int64_t now, sa_claims *out, sa_error *err)
{
    unsigned char header_raw[SA_JWT_MAX_LEN], payload_raw[SA_JWT_MAX_LEN];
    unsigned char sig[HS256_LEN + 3], mac[HS256_LEN];
    size_t header_len, payload_len, sig_len;
    json_object *payload = NULL;
    sa_claims c;
    sa_error jerr = {0};
    sa_jwt_result res = SA_JWT_INVALID;

    memset(&c, 0, sizeof c);
    if (out)
        memset(out, 0, sizeof *out);
    if (!out || (!token && len > 0)) {
        SA_FAIL(err, SA_ERR_INVALID, "missing token or output");
        goto done;
    }
    if (!key_usable(cfg)) {
        SA_FAIL(err, SA_ERR_INVALID, "no usable signing key");
        goto done;
    }
    /* Security: bound all work by the size first. */
    if (len == 0 || len > SA_JWT_MAX_LEN) {
        SA_FAIL(err, SA_ERR_INVALID, len == 0 ? "empty token" : "token too long");
        goto done;
    }

    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) {
        SA_FAIL(err, SA_ERR_INVALID, "not three dot-separated parts");
        goto done;
    }
    size_t signed_len = (size_t)(dot2 - token);
    const char *sig_b64 = dot2 + 1;
    size_t sig_b64_len = len - signed_len - 1;

    size_t header_b64_len = (size_t)(dot1 - token);
    bool canonical_header = header_b64_len == sizeof jwt_header_b64 - 1 &&
                            memcmp(token, jwt_header_b64, sizeof jwt_header_b64 - 1) == 0;
    /* The key: one of ours when the header is byte for byte the one we write for its kid
     * (the fast path: no JSON read before the HMAC); else the header is decoded and read
     * strictly (sa_claim_header: alg HS256 whatever the key, no crit, no duplicate member,
     * any member order, as PyJWT writes {"alg","kid","typ"}), and its kid selects a
     * directory key; without a kid, or with one the directory does not hold, the Django key
     * (simplejwt's tokens, and ours without a key directory). */
    const sa_key *k = canonical_header ? NULL
                                       : sa_keyring_by_header(cfg->keys, token, header_b64_len);
    canonical_header = canonical_header || k;
    char kid[SA_KID_MAX + 1];
    if (!canonical_header &&
        sa_b64url_decode(token, header_b64_len, header_raw, sizeof header_raw, &header_len) !=
            SA_OK) {
        SA_FAIL(err, SA_ERR_INVALID, "header or payload is not canonical base64url");
        goto done;
    }
    if (!canonical_header) {
        if (!sa_claim_header(header_raw, header_len, kid, err))
            goto done;
        k = kid[0] ? sa_keyring_by_kid(cfg->keys, kid) : NULL;
    }
    if (sa_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), payload_raw, sizeof payload_raw,
                         &payload_len) != SA_OK) {
        SA_FAIL(err, SA_ERR_INVALID, "header or payload is not canonical base64url");
        goto done;
    }
    /* An empty signature is what alg "none" tokens carry. */
    if (sa_b64url_decode(sig_b64, sig_b64_len, sig, sizeof sig, &sig_len) != SA_OK ||
        sig_len != HS256_LEN) {
        SA_FAIL(err, SA_ERR_INVALID, "signature missing, malformed or not HS256-sized");
        goto done;
    }
    /* Security: the algorithm is HS256 because the configuration says so, whatever the header
     * claims; compare in constant time so timing tells nothing about the expected MAC. */
    if (hs256(k ? k->key : cfg->signing_key, k ? k->len : cfg->signing_key_len, token,
              signed_len, mac) != SA_OK) {
        SA_FAIL(err, SA_ERR_INVALID, "HMAC failed");
        goto done;
    }
    if (CRYPTO_memcmp(mac, sig, HS256_LEN) != 0) {
        SA_FAIL(err, SA_ERR_INVALID, "bad signature");
        goto done;
    }

    /* Signed by our key from here on; still check every value's type before use. */
    if (sa_json_parse((const char *)payload_raw, payload_len, &payload, &jerr) != SA_OK ||
        !json_object_is_type(payload, json_type_object)) {
        SA_FAIL(err, SA_ERR_INVALID, "payload is not a JSON object%s%s",
                jerr.msg[0] ? ": " : "", jerr.msg);
        goto done;
    }

    /* One check a claim (claims.h), in this order; a wrong type counts only at the end. */
    int64_t leeway = cfg->leeway > 0 ? cfg->leeway : 0;
    bool type_expected = false;
    if (sa_claim_exp(payload, now, leeway, &c.exp, err) != SA_CLAIM_OK ||
        !optional_ok(sa_claim_iat(payload, now, leeway, &c.iat, err)) ||
        !optional_ok(sa_claim_nbf(payload, now, leeway, err)) ||
        !sa_claim_audience(payload, cfg->jwt_audience, err) ||
        !sa_claim_issuer(payload, cfg->jwt_issuer, err) ||
        !sa_claim_jti(payload, c.jti, err) ||
        !sa_claim_token_type(payload, expected, &type_expected, err) ||
        !sa_claim_user_id(payload, c.user_id, err) ||
        !sa_claim_sid(payload, c.sid, err))
        goto done;
    if (!type_expected) {
        SA_FAIL(err, SA_ERR_INVALID, "token has wrong type");
        res = SA_JWT_WRONG_TYPE;
        goto done;
    }
    c.token_type = expected;
    *out = c;
    res = SA_JWT_VALID;

done:
    json_object_put(payload);
    return res;
}
