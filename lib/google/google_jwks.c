/* google_jwks.c: Google's signing keys: JWKS parsing, the per-process cache of parsed keys,
 * the store's shared cache of the document, and the refresh rules.
 *
 * Freshness: a document is fresh until fetched_at + Cache-Control max-age. Lookups go
 *   1. this process's parsed keys, while fresh (no store read, no network);
 *   2. the store's document (another process may have refreshed it), parsed again only when its
 *      text differs from ours;
 *   3. fresh keys without the kid: one forced refetch, at most one a minute across processes
 *      (sa_store_google_keys_claim_refetch), else unknown;
 *   4. stale or no keys: refetch; if Google cannot be reached, the stale keys keep working and
 *      this process waits SA_GOOGLE_RETRY_AFTER seconds before trying Google again. */
#include "google/google_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "codec/json.h"
#include "token/jwt.h"

#define JWKS_MIN_BITS 2048
#define JWKS_MAX_BITS 8192
#define JWKS_N_MAX (JWKS_MAX_BITS / 8 + 1) /* bytes of modulus, one leading zero allowed */
#define JWKS_E_MAX 8                        /* bytes of exponent: 64 bits at most */
#define JWKS_MIN_E 65537

void sa_google_keyset_clear(sa_google_keyset *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        EVP_PKEY_free(set->keys[i].pkey);
    for (size_t i = 0; i < set->n_rejected; i++)
        free(set->rejected[i].raw_kid);
    free(set->keys);
    free(set->doc);
    memset(set, 0, sizeof *set);
}

EVP_PKEY *sa_google_keyset_find(const sa_google_keyset *set, const char *kid)
{
    if (!set || !kid)
        return NULL;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->keys[i].kid, kid) == 0)
            return set->keys[i].pkey;
    return NULL;
}

/* Build an RSA public key from n and e. Returns NULL on any failure. */
static EVP_PKEY *google_rsa_from_ne(const BIGNUM *bn_n, const BIGNUM *bn_e)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;

    if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
        goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* OpenSSL's own check of a public key (for RSA: SP 800-56B's partial public-key validation). */
static bool google_public_check(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    bool ok = ctx && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* Decode one base64url big-endian integer of at most max bytes; NULL when it is not one. */
static BIGNUM *google_b64url_bn(const char *s, unsigned char *buf, size_t max)
{
    size_t len = 0;
    if (sa_b64url_decode(s, strlen(s), buf, max, &len) != SA_OK || len == 0)
        return NULL;
    return BN_bin2bn(buf, (int)len, NULL);
}

/* Judge the n and e of an RSA JWK (RFC 7518 section 6.3.1). Returns NULL with *pkey (owned by
 * the caller) when the key is usable, else why not (a fixed text) with *pkey NULL, or "" when
 * out of memory. n_buf holds JWKS_N_MAX bytes. A key passing our rules spends its modulus bits
 * from *bits_left (the document's budget for OpenSSL's check); one that does not fit is
 * refused unchecked. openssl_check false skips OpenSSL's check only (a stored document
 * carrying our own verdict: see SA_GOOGLE_CHECKED_MEMBER).
 * Security: our rules come before OpenSSL's check, so each refusal names its reason: e = 1
 * makes any padded hash a valid "signature", small or even e and short or even moduli make
 * forgery or factoring easy; over 8192 bits only costs CPU per verification. */
static const char *google_rsa_key(const char *n, const char *e, unsigned char *n_buf,
                                  int *bits_left, bool openssl_check, EVP_PKEY **pkey)
{
    unsigned char e_buf[JWKS_E_MAX];
    const char *why = NULL;
    BIGNUM *bn_n = NULL, *bn_e = NULL, *min_e = NULL;

    *pkey = NULL;
    if (!n || !e)
        return "no n or no e";
    if (strlen(n) > (JWKS_N_MAX * 4 + 2) / 3)
        return "modulus over 8192 bits";
    if (strlen(e) > (JWKS_E_MAX * 4 + 2) / 3)
        return "exponent over 64 bits";
    if (!(bn_n = google_b64url_bn(n, n_buf, JWKS_N_MAX)) ||
        !(bn_e = google_b64url_bn(e, e_buf, sizeof e_buf))) {
        why = "n or e is not base64url";
        goto done;
    }
    min_e = BN_new();
    if (!min_e || !BN_set_word(min_e, JWKS_MIN_E)) {
        why = "";
        goto done;
    }
    if (BN_num_bits(bn_n) < JWKS_MIN_BITS)
        why = "modulus under 2048 bits";
    else if (BN_num_bits(bn_n) > JWKS_MAX_BITS)
        why = "modulus over 8192 bits";
    else if (!BN_is_odd(bn_n))
        why = "modulus is even";
    else if (BN_cmp(bn_e, min_e) < 0)
        why = "exponent under 65537";
    else if (!BN_is_odd(bn_e))
        why = "exponent is even";
    else if (BN_num_bits(bn_n) > *bits_left)
        why = "over the document's budget of modulus bits to check";
    if (why)
        goto done;
    *bits_left -= BN_num_bits(bn_n);
    *pkey = google_rsa_from_ne(bn_n, bn_e);
    if (!*pkey)
        why = "OpenSSL cannot build it";
    else if (openssl_check && !google_public_check(*pkey))
        why = "fails OpenSSL's public key check";
    if (why) {
        EVP_PKEY_free(*pkey);
        *pkey = NULL;
    }
done:
    BN_free(bn_n);
    BN_free(bn_e);
    BN_free(min_e);
    return why;
}

/* An optional string member: absent is fine (returns true with *out NULL), any other type is
 * not. */
static bool jwks_opt_string(json_object *obj, const char *key, const char **out)
{
    size_t len;
    *out = NULL;
    sa_status st = sa_json_get_string(obj, key, out, &len);
    if (st == SA_ERR_NOT_FOUND) {
        *out = NULL;
        return true;
    }
    return st == SA_OK && strlen(*out) == len;
}

/* Copy s (NULL: "") to dst as printable ASCII (anything else becomes '?', so the log line it
 * ends up in cannot be split or forged), cut to max bytes; dst holds max + 1. */
static void jwks_printable(char *dst, const char *s, size_t max)
{
    size_t i = 0;
    for (; s && s[i] && i < max; i++)
        dst[i] = (s[i] >= 0x20 && s[i] < 0x7F) ? s[i] : '?';
    dst[i] = '\0';
}

/* Remember a refused key: its kid as sent (for comparisons), and its kid and why as printable
 * text for the log. false when out of memory. */
static bool jwks_reject(sa_google_keyset *set, const char *kid, const char *why)
{
    if (set->n_rejected >= SA_GOOGLE_MAX_KEYS)
        return true;
    sa_google_rejected_key *r = &set->rejected[set->n_rejected];
    r->raw_kid = NULL;
    if (kid && !(r->raw_kid = strdup(kid)))
        return false;
    set->n_rejected++;
    jwks_printable(r->kid, kid, SA_GOOGLE_KID_MAX);
    jwks_printable(r->reason, why, SA_GOOGLE_REASON_MAX);
    return true;
}

/* The refused key of set whose kid is exactly kid (raw bytes), or NULL. */
static const sa_google_rejected_key *jwks_refused(const sa_google_keyset *set, const char *kid)
{
    for (size_t i = 0; i < set->n_rejected; i++)
        if (set->rejected[i].raw_kid && strcmp(set->rejected[i].raw_kid, kid) == 0)
            return &set->rejected[i];
    return NULL;
}

/* Whether kid names a key already taken or refused in this document. */
static bool jwks_kid_seen(const sa_google_keyset *set, const char *kid)
{
    return sa_google_keyset_find(set, kid) || jwks_refused(set, kid);
}

/* Whether jwk declares itself an RSA signature key for RS256 (absent use and alg allowed).
 * Security: a key is usable only as what it declares itself to be; other keys (EC among
 * them) are skipped, never reinterpreted. false also for members of the wrong type. */
static bool jwks_is_rs256(json_object *jwk, const char **kid)
{
    const char *kty, *use, *alg;
    *kid = NULL;
    return jwks_opt_string(jwk, "kty", &kty) && jwks_opt_string(jwk, "use", &use) &&
           jwks_opt_string(jwk, "alg", &alg) && jwks_opt_string(jwk, "kid", kid) && kty &&
           strcmp(kty, "RSA") == 0 && (!use || strcmp(use, "sig") == 0) &&
           (!alg || strcmp(alg, "RS256") == 0);
}

/* Read our verdict member of a stored document into set: its refused keys (kid optional, reason
 * required, at most SA_GOOGLE_MAX_KEYS) and the SHA-256 of Google's text (64 hex digits,
 * optional). Returns SA_OK, SA_ERR_INVALID (malformed: err says so), SA_ERR_NOMEM. */
static sa_status jwks_read_verdict(json_object *checked, sa_google_keyset *set, sa_error *err)
{
    json_object *refused = NULL;
    const char *sha = NULL;
    if (!json_object_is_type(checked, json_type_object) ||
        !json_object_object_get_ex(checked, "refused", &refused) ||
        !json_object_is_type(refused, json_type_array) ||
        json_object_array_length(refused) > SA_GOOGLE_MAX_KEYS ||
        !jwks_opt_string(checked, SA_GOOGLE_CHECKED_SHA256, &sha))
        return SA_FAIL(err, SA_ERR_INVALID, "JWKS document's %s is malformed",
                       SA_GOOGLE_CHECKED_MEMBER);
    if (sha) {
        long n = 0;
        unsigned char *bin = strlen(sha) == 2 * sizeof set->source_sha256
                                 ? OPENSSL_hexstr2buf(sha, &n) : NULL;
        if (!bin || n != (long)sizeof set->source_sha256) {
            OPENSSL_free(bin);
            return SA_FAIL(err, SA_ERR_INVALID, "JWKS document's %s is malformed",
                           SA_GOOGLE_CHECKED_SHA256);
        }
        memcpy(set->source_sha256, bin, sizeof set->source_sha256);
        set->source_known = true;
        OPENSSL_free(bin);
    }
    for (size_t i = 0; i < json_object_array_length(refused); i++) {
        json_object *r = json_object_array_get_idx(refused, i);
        const char *kid, *why;
        if (!json_object_is_type(r, json_type_object) || !jwks_opt_string(r, "kid", &kid) ||
            !jwks_opt_string(r, "reason", &why) || !why)
            return SA_FAIL(err, SA_ERR_INVALID, "JWKS document's refused key %zu is malformed",
                           i);
        if (kid && kid[0] && jwks_kid_seen(set, kid))
            return SA_FAIL(err, SA_ERR_INVALID, "JWKS document repeats a kid");
        if (!jwks_reject(set, kid, why))
            return SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
    }
    return SA_OK;
}

/* The parser; stored: trust a SA_GOOGLE_CHECKED_MEMBER (google_internal.h). */
static sa_status jwks_parse(const char *doc, size_t len, bool stored, sa_google_keyset *out,
                            sa_error *err)
{
    sa_status st = SA_OK;
    json_object *root = NULL, *keys = NULL, *checked = NULL;
    sa_google_keyset set = { 0 };
    unsigned char *n_buf = NULL;
    size_t judged = 0;
    int bits_left = SA_GOOGLE_CHECK_BITS;

    if (len > (stored ? SA_GOOGLE_CHECKED_MAX : SA_GOOGLE_RESPONSE_MAX)) {
        st = SA_FAIL(err, SA_ERR_INVALID, "JWKS document over %d bytes",
                     stored ? SA_GOOGLE_CHECKED_MAX : SA_GOOGLE_RESPONSE_MAX);
        goto fail;
    }
    if (sa_json_parse(doc, len, &root, err) != SA_OK) {
        st = SA_FAIL(err, SA_ERR_INVALID, "JWKS document is not JSON");
        goto fail;
    }
    if (!json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "keys", &keys) ||
        !json_object_is_type(keys, json_type_array)) {
        st = SA_FAIL(err, SA_ERR_INVALID, "JWKS document has no keys array");
        goto fail;
    }
    size_t count = json_object_array_length(keys);
    if (count > SA_GOOGLE_MAX_KEYS) {
        st = SA_FAIL(err, SA_ERR_INVALID, "JWKS document has %zu keys", count);
        goto fail;
    }
    set.keys = calloc(count ? count : 1, sizeof *set.keys);
    set.doc = malloc(len + 1);
    n_buf = malloc(JWKS_N_MAX);
    if (!set.keys || !set.doc || !n_buf) {
        st = SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(set.doc, doc, len);
    set.doc[len] = '\0';
    set.doc_len = len;
    /* Security: only a document from the store may carry our verdict; in Google's answer the
     * member means nothing and every key is fully checked. */
    if (stored && json_object_object_get_ex(root, SA_GOOGLE_CHECKED_MEMBER, &checked) &&
        (st = jwks_read_verdict(checked, &set, err)) != SA_OK)
        goto fail;

    for (size_t i = 0; i < count; i++) {
        json_object *jwk = json_object_array_get_idx(keys, i);
        const char *kty, *use, *alg, *kid, *n, *e, *why;

        if (!json_object_is_type(jwk, json_type_object)) {
            st = SA_FAIL(err, SA_ERR_INVALID, "JWKS key %zu is not an object", i);
            goto fail;
        }
        if (!jwks_opt_string(jwk, "kty", &kty) || !jwks_opt_string(jwk, "use", &use) ||
            !jwks_opt_string(jwk, "alg", &alg) || !jwks_opt_string(jwk, "kid", &kid) ||
            !jwks_opt_string(jwk, "n", &n) || !jwks_opt_string(jwk, "e", &e)) {
            st = SA_FAIL(err, SA_ERR_INVALID, "JWKS key %zu has a member of the wrong type", i);
            goto fail;
        }
        if (!jwks_is_rs256(jwk, &kid))
            continue;
        if (!kid || !kid[0]) {
            if (!jwks_reject(&set, kid, "no kid"))
                goto nomem;
            continue;
        }
        if (jwks_kid_seen(&set, kid)) {
            /* Security: two keys under one kid would make the choice of key ambiguous. */
            st = SA_FAIL(err, SA_ERR_INVALID, "JWKS document repeats a kid");
            goto fail;
        }
        EVP_PKEY *pkey = NULL;
        if (strlen(kid) > SA_GOOGLE_KID_MAX)
            why = "kid over 128 bytes";
        /* Security: bounded work per document, whatever its source serves. */
        else if (judged++ >= SA_GOOGLE_CHECKED_KEYS)
            why = "over 16 RS256 keys in the document";
        else
            why = google_rsa_key(n, e, n_buf, &bits_left, !checked, &pkey);
        if (why && !why[0])
            goto nomem;
        if (why) {
            /* Security: a token naming this kid will find no key (unknown_key). */
            if (!jwks_reject(&set, kid, why))
                goto nomem;
            continue;
        }
        memcpy(set.keys[set.n].kid, kid, strlen(kid) + 1);
        set.keys[set.n].pkey = pkey;
        set.n++;
    }
    if (set.n == 0) {
        if (set.n_rejected)
            st = SA_FAIL(err, SA_ERR_INVALID,
                         "JWKS document has no usable RS256 key (%zu refused; kid %s: %s)",
                         set.n_rejected, set.rejected[0].kid, set.rejected[0].reason);
        else
            st = SA_FAIL(err, SA_ERR_INVALID, "JWKS document has no usable RS256 key");
        goto fail;
    }
    *out = set;
    memset(&set, 0, sizeof set);
    goto fail;
nomem:
    st = SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
fail:
    sa_google_keyset_clear(&set);
    free(n_buf);
    json_object_put(root);
    return st;
}

sa_status sa_google_jwks_parse(const char *doc, size_t len, sa_google_keyset *out,
                               sa_error *err)
{
    return jwks_parse(doc, len, false, out, err);
}

sa_status sa_google_jwks_parse_stored(const char *doc, size_t len, sa_google_keyset *out,
                                      sa_error *err)
{
    return jwks_parse(doc, len, true, out, err);
}

/* Add val under key to obj (arr NULL) or to the array arr; val is then owned there. Returns
 * val, or NULL (val freed) when it is NULL or out of memory. */
static json_object *jwks_add(json_object *obj, const char *key, json_object *arr,
                             json_object *val)
{
    if (val && (arr ? json_object_array_add(arr, val) : json_object_object_add(obj, key, val)) == 0)
        return val;
    json_object_put(val);
    return NULL;
}

sa_status sa_google_jwks_checked(sa_google_keyset *set, const unsigned char sha256[32],
                                 sa_error *err)
{
    json_object *src = NULL, *keys = NULL, *out_keys = NULL, *verdict = NULL, *refused = NULL;
    char hex[2 * 32 + 1];

    for (size_t i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", sha256[i]);
    memcpy(set->source_sha256, sha256, sizeof set->source_sha256);
    set->source_known = true;
    if (sa_json_parse(set->doc, set->doc_len, &src, NULL) != SA_OK ||
        !json_object_object_get_ex(src, "keys", &keys)) {
        json_object_put(src);
        return SA_FAIL(err, SA_ERR_INVALID, "JWKS document not as parsed");
    }
    json_object *out = json_object_new_object();
    bool ok = out && (out_keys = jwks_add(out, "keys", NULL, json_object_new_array())) &&
              (verdict = jwks_add(out, SA_GOOGLE_CHECKED_MEMBER, NULL, json_object_new_object())) &&
              jwks_add(verdict, SA_GOOGLE_CHECKED_SHA256, NULL, json_object_new_string(hex)) &&
              (refused = jwks_add(verdict, "refused", NULL, json_object_new_array()));
    for (size_t i = 0; ok && i < json_object_array_length(keys); i++) {
        json_object *jwk = json_object_array_get_idx(keys, i);
        const char *kid;
        if (json_object_is_type(jwk, json_type_object) && jwks_is_rs256(jwk, &kid) && kid &&
            sa_google_keyset_find(set, kid))
            ok = jwks_add(NULL, NULL, out_keys, json_object_get(jwk)) != NULL;
    }
    for (size_t i = 0; ok && i < set->n_rejected; i++) {
        const sa_google_rejected_key *r = &set->rejected[i];
        json_object *o = jwks_add(NULL, NULL, refused, json_object_new_object());
        ok = o && (!r->raw_kid || jwks_add(o, "kid", NULL, json_object_new_string(r->raw_kid))) &&
             jwks_add(o, "reason", NULL, json_object_new_string(r->reason));
    }
    const char *text = ok ? json_object_to_json_string_ext(
                                out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                          : NULL;
    size_t text_len = text ? strlen(text) : 0;
    char *copy = NULL;
    sa_status st = SA_OK;
    if (!text)
        st = SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
    else if (text_len > SA_GOOGLE_CHECKED_MAX)
        st = SA_FAIL(err, SA_ERR_INVALID, "JWKS document's checked copy over %d bytes",
                     SA_GOOGLE_CHECKED_MAX);
    else if (!(copy = strdup(text)))
        st = SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
    if (copy) {
        free(set->doc);
        set->doc = copy;
        set->doc_len = text_len;
    }
    json_object_put(out);
    json_object_put(src);
    return st;
}

int64_t sa_google_max_age(const char *cache_control, const char *age)
{
    int64_t max_age = SA_GOOGLE_DEFAULT_MAX_AGE;
    int64_t age_s = 0;

    if (cache_control && cache_control[0]) {
        const char *p = cache_control;
        bool found = false;
        while (*p) {
            while (*p == ' ' || *p == '\t' || *p == ',')
                p++;
            const char *tok = p;
            while (*p && *p != ',')
                p++;
            size_t tlen = (size_t)(p - tok);
            while (tlen && (tok[tlen - 1] == ' ' || tok[tlen - 1] == '\t'))
                tlen--;
            if ((tlen == 8 && strncasecmp(tok, "no-store", 8) == 0) ||
                (tlen == 8 && strncasecmp(tok, "no-cache", 8) == 0))
                return SA_GOOGLE_MIN_MAX_AGE;
            if (!found && tlen > 8 && strncasecmp(tok, "max-age=", 8) == 0) {
                int64_t v = 0;
                size_t i = 8;
                for (; i < tlen && tok[i] >= '0' && tok[i] <= '9'; i++)
                    if (v <= SA_GOOGLE_MAX_MAX_AGE)
                        v = v * 10 + (tok[i] - '0');
                if (i == tlen) { /* digits only, else ignored */
                    max_age = v;
                    found = true;
                }
            }
        }
    }
    if (age && age[0]) {
        size_t i = 0;
        for (; age[i] >= '0' && age[i] <= '9'; i++)
            if (age_s <= SA_GOOGLE_MAX_MAX_AGE)
                age_s = age_s * 10 + (age[i] - '0');
        if (age[i] != '\0')
            age_s = 0;
    }
    if (max_age > SA_GOOGLE_MAX_MAX_AGE)
        max_age = SA_GOOGLE_MAX_MAX_AGE;
    max_age -= age_s;
    /* Security: "do not cache" (or a copy already as old as its max-age) still keeps the keys
     * a minute: otherwise every login would be a fetch, and its parse, paid by the caller. */
    return max_age <= 0 ? SA_GOOGLE_MIN_MAX_AGE : max_age;
}

size_t sa_google_rejected_keys(sa_google *g, const sa_google_rejected_key **keys)
{
    *keys = g->keys.rejected;
    if (g->keys.rejected_reported)
        return 0;
    g->keys.rejected_reported = true;
    return g->keys.n_rejected;
}

/* Replace the process cache with a parsed set. The same document again (a refetch) does not
 * report its refused keys again. */
static void google_keys_replace(sa_google *g, sa_google_keyset *set)
{
    if (g->keys.doc && set->doc && g->keys.doc_len == set->doc_len &&
        memcmp(g->keys.doc, set->doc, set->doc_len) == 0)
        set->rejected_reported = g->keys.rejected_reported;
    sa_google_keyset_clear(&g->keys);
    g->keys = *set;
    memset(set, 0, sizeof *set);
}

/* Write the process cache's document to the store. Only SA_ERR_FATAL matters to the caller:
 * other store trouble just means other processes fetch for themselves. */
static sa_status google_keys_share(sa_google *g, int64_t forced_at, sa_error *err)
{
    if (!g->store || !g->keys.doc)
        return SA_OK;
    sa_google_keys rec = {
        .jwks_json = g->keys.doc,
        .fetched_at = g->keys.fetched_at,
        .expires_at = g->keys.expires_at,
        .forced_at = forced_at,
    };
    sa_error store_err = { 0 };
    sa_status st = sa_store_google_keys_put(g->store, &rec, &store_err);
    if (st == SA_ERR_FATAL) {
        if (err)
            *err = store_err;
        return st;
    }
    return SA_OK;
}

sa_status sa_google_keys_install(sa_google *g, const char *doc, size_t len, int64_t fetched_at,
                                 int64_t expires_at, sa_error *err)
{
    sa_google_keyset set = { 0 };
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)doc, len, digest);
    sa_status st = sa_google_jwks_parse(doc, len, &set, err);
    if (st == SA_OK)
        st = sa_google_jwks_checked(&set, digest, err);
    if (st != SA_OK) {
        sa_google_keyset_clear(&set);
        return st;
    }
    set.fetched_at = fetched_at;
    set.expires_at = expires_at;
    google_keys_replace(g, &set);
    return google_keys_share(g, g->forced_at, err);
}

/* Bring the process cache up to the store's document.
 * Contract: SA_OK (cache now at least as new as the store's), SA_ERR_NOMEM, SA_ERR_FATAL;
 * store trouble that may pass and a corrupt stored document are ignored (SA_OK). */
static sa_status google_keys_sync(sa_google *g, sa_error *err)
{
    sa_status st = SA_OK;
    sa_google_keys rec = { 0 };
    sa_error store_err = { 0 };
    sa_google_keyset set = { 0 };

    if (!g->store)
        return SA_OK;
    st = sa_store_google_keys_get(g->store, &rec, &store_err);
    if (st == SA_ERR_FATAL || st == SA_ERR_NOMEM) {
        if (err)
            *err = store_err;
        goto done;
    }
    st = SA_OK;
    if (!rec.jwks_json)
        goto done;
    if (rec.forced_at > g->forced_at)
        g->forced_at = rec.forced_at;
    if (g->keys.doc && rec.fetched_at < g->keys.fetched_at)
        goto done; /* ours is newer (our put may have failed) */
    size_t len = strlen(rec.jwks_json);
    if (g->keys.doc && g->keys.doc_len == len && memcmp(g->keys.doc, rec.jwks_json, len) == 0) {
        /* Same document, maybe refetched by another process: take its freshness, keep the
         * parsed keys. */
        g->keys.fetched_at = rec.fetched_at;
        g->keys.expires_at = rec.expires_at;
        goto done;
    }
    sa_error parse_err = { 0 };
    sa_status pst = sa_google_jwks_parse_stored(rec.jwks_json, len, &set, &parse_err);
    if (pst == SA_ERR_NOMEM) {
        st = SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (pst == SA_OK) {
        set.fetched_at = rec.fetched_at;
        set.expires_at = rec.expires_at;
        google_keys_replace(g, &set);
    }
done:
    sa_google_keyset_clear(&set);
    sa_google_keys_clear(&rec);
    return st;
}

/* Fetch the JWKS document from Google into the process cache and the store.
 * Contract: SA_OK (cache replaced), SA_ERR_UNAVAILABLE (no answer, non-200, or a document we
 * do not accept: the cache is untouched), SA_ERR_NOMEM, SA_ERR_FATAL (store; cache replaced). */
static sa_status google_keys_fetch(sa_google *g, int64_t now, sa_error *err)
{
    sa_google_response res = { 0 };
    sa_google_keyset set = { 0 };
    sa_status st = sa_google_http(g, g->cfg->google_jwks_url, NULL, NULL, &res, err);

    if (st != SA_OK)
        goto done;
    if (res.status != 200) {
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "Google's JWKS answered HTTP %ld", res.status);
        goto done;
    }
    int64_t expires_at = now + sa_google_max_age(res.cache_control, res.age);
    /* Security: a document already judged (its key checks cost CPU the source controls) is
     * not judged again: the same text as our keys' source (by SHA-256: ours, or as the
     * store's verdict recorded it) only renews their freshness, the same text as the last
     * document we refused is refused again at once. */
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)res.body, res.body_len, digest);
    if (g->keys.doc && g->keys.source_known &&
        memcmp(g->keys.source_sha256, digest, sizeof digest) == 0) {
        g->fetch_error[0] = '\0';
        g->keys.fetched_at = now;
        g->keys.expires_at = expires_at;
        st = google_keys_share(g, g->forced_at, err);
        goto done;
    }
    if (g->refused_known && memcmp(digest, g->refused_sha256, sizeof digest) == 0) {
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "%s (unchanged, not parsed again)",
                     g->refused_why);
        goto done;
    }
    st = sa_google_jwks_parse(res.body, res.body_len, &set, err);
    if (st == SA_OK)
        st = sa_google_jwks_checked(&set, digest, err);
    if (st == SA_ERR_INVALID) {
        st = SA_ERR_UNAVAILABLE; /* err->msg says what was wrong with it */
        memcpy(g->refused_sha256, digest, sizeof digest);
        g->refused_known = true;
        snprintf(g->refused_why, sizeof g->refused_why, "%.150s", err ? err->msg : "refused");
    }
    if (st != SA_OK)
        goto done;
    g->fetch_error[0] = '\0';
    set.fetched_at = now;
    set.expires_at = expires_at;
    google_keys_replace(g, &set);
    st = google_keys_share(g, g->forced_at, err);
done:
    if (st == SA_ERR_UNAVAILABLE && err) {
        size_t n = strnlen(err->msg, sizeof g->fetch_error - 1);
        memcpy(g->fetch_error, err->msg, n);
        g->fetch_error[n] = '\0';
    }
    sa_google_keyset_clear(&set);
    sa_google_response_clear(&res);
    return st;
}

/* Whether this caller may force a refetch now (at most one a minute across processes). */
static bool google_claim_refetch(sa_google *g, int64_t now)
{
    if (!g->store) {
        if (g->forced_at && now < g->forced_at + SA_GOOGLE_REFETCH_INTERVAL)
            return false;
        g->forced_at = now;
        return true;
    }
    sa_error store_err = { 0 };
    /* Security: store trouble means no forced refetch: an attacker's random kids must not
     * turn into a stream of calls to Google. */
    if (sa_store_google_keys_claim_refetch(g->store, now, SA_GOOGLE_REFETCH_INTERVAL,
                                           &store_err) != SA_OK)
        return false;
    g->forced_at = now;
    return true;
}

/* Whether the cached document's key under kid was refused (err then says why): such a kid is
 * judged at once, since no refetch makes that key acceptable. */
static bool google_kid_refused(const sa_google *g, const char *kid, sa_error *err)
{
    const sa_google_rejected_key *r = jwks_refused(&g->keys, kid);
    if (r)
        SA_FAIL(err, SA_ERR_NOT_FOUND, "kid names a key we refused (%s)", r->reason);
    return r != NULL;
}

sa_status sa_google_key_for(sa_google *g, const char *kid, int64_t now, EVP_PKEY **pkey,
                            sa_error *err)
{
    sa_status st;
    *pkey = NULL;
    /* (sa_google_keyset_find accepts a NULL kid, so gcc -fanalyzer asked what the refused-kid
     * check below does with one: nothing is looked up for it.) */
    if (!kid)
        return SA_FAIL(err, SA_ERR_NOT_FOUND, "no kid");

    /* 1. Fresh keys in this process. */
    if (g->keys.n && now < g->keys.expires_at && (*pkey = sa_google_keyset_find(&g->keys, kid)))
        return SA_OK;

    /* 2. The store's document. */
    st = google_keys_sync(g, err);
    if (st != SA_OK)
        return st;
    if (g->keys.n && now < g->keys.expires_at) {
        if ((*pkey = sa_google_keyset_find(&g->keys, kid)))
            return SA_OK;
        if (google_kid_refused(g, kid, err))
            return SA_ERR_NOT_FOUND;
        /* 3. Fresh keys, unknown kid: Google may have just rotated. */
        if (!google_claim_refetch(g, now))
            return SA_FAIL(err, SA_ERR_NOT_FOUND, "unknown kid; refetch not due yet");
        st = google_keys_fetch(g, now, err);
        if (st == SA_ERR_NOMEM || st == SA_ERR_FATAL)
            return st;
        if ((*pkey = sa_google_keyset_find(&g->keys, kid)))
            return SA_OK;
        return SA_FAIL(err, SA_ERR_NOT_FOUND, "unknown kid, also after a refetch");
    }

    /* 4. Stale or no keys: refresh, unless Google failed us moments ago. */
    if (now >= g->retry_after) {
        st = google_keys_fetch(g, now, err);
        if (st == SA_OK) {
            if ((*pkey = sa_google_keyset_find(&g->keys, kid)))
                return SA_OK;
            return SA_FAIL(err, SA_ERR_NOT_FOUND, "unknown kid in a freshly fetched JWKS");
        }
        if (st == SA_ERR_NOMEM || st == SA_ERR_FATAL)
            return st;
        g->retry_after = now + SA_GOOGLE_RETRY_AFTER;
    }
    /* Google unreachable: stale keys keep working (api.html#google-login). A kid they do not have
     * cannot be judged until Google answers again. */
    if ((*pkey = sa_google_keyset_find(&g->keys, kid)))
        return SA_OK;
    if (google_kid_refused(g, kid, err))
        return SA_ERR_NOT_FOUND;
    /* The cause of the last failed fetch is kept: an operator needs "certificate problem" or
     * "redirect refused", not only that Google could not be had. */
    if (g->keys.n)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE,
                       "Google unreachable and the cached keys lack this kid (last fetch: %s)",
                       g->fetch_error[0] ? g->fetch_error : "none yet");
    return SA_FAIL(err, SA_ERR_UNAVAILABLE, "Google unreachable and no keys cached (last fetch: %s)",
                   g->fetch_error[0] ? g->fetch_error : "none yet");
}
