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
#include "google.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "json.h"
#include "jwt.h"

#define JWKS_N_MAX 1024   /* bytes of modulus: 8192-bit keys at most */
#define JWKS_E_MAX 8
#define JWKS_MIN_BITS 2048

void sa_google_keyset_clear(sa_google_keyset *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        EVP_PKEY_free(set->keys[i].pkey);
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

/* Build an RSA public key from big-endian n and e. Returns NULL on any failure. */
static EVP_PKEY *google_rsa_from_ne(const unsigned char *n, size_t n_len, const unsigned char *e,
                                    size_t e_len)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL);
    BIGNUM *bn_e = BN_bin2bn(e, (int)e_len, NULL);

    if (!bn_n || !bn_e)
        goto done;
    bld = OSSL_PARAM_BLD_new();
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
    BN_free(bn_n);
    BN_free(bn_e);
    return pkey;
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

/* Contract: returns SA_OK (*out owns keys and a copy of doc), SA_ERR_INVALID (the document is
 * not one we accept: see google.h), SA_ERR_NOMEM. *out is untouched unless SA_OK. */
sa_status sa_google_jwks_parse(const char *doc, size_t len, sa_google_keyset *out,
                               sa_error *err)
{
    sa_status st = SA_OK;
    json_object *root = NULL, *keys = NULL;
    sa_google_keyset set = { 0 };
    unsigned char *n_buf = NULL;

    if (len > SA_GOOGLE_RESPONSE_MAX) {
        st = SA_FAIL(err, SA_ERR_INVALID, "JWKS document over %d bytes", SA_GOOGLE_RESPONSE_MAX);
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

    for (size_t i = 0; i < count; i++) {
        json_object *jwk = json_object_array_get_idx(keys, i);
        const char *kty, *use, *alg, *kid, *n, *e;
        unsigned char e_buf[JWKS_E_MAX];
        size_t n_len = 0, e_len = 0;

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
        /* Security: a key is usable only as what it declares itself to be: an RSA signature
         * key for RS256. Other keys are skipped, never reinterpreted. */
        if (!kty || strcmp(kty, "RSA") != 0 || (use && strcmp(use, "sig") != 0) ||
            (alg && strcmp(alg, "RS256") != 0) || !kid)
            continue;
        if (!kid[0] || strlen(kid) > SA_GOOGLE_KID_MAX || !n || !e ||
            sa_b64url_decode(n, strlen(n), n_buf, JWKS_N_MAX, &n_len) != SA_OK ||
            sa_b64url_decode(e, strlen(e), e_buf, sizeof e_buf, &e_len) != SA_OK ||
            n_len == 0 || e_len == 0) {
            st = SA_FAIL(err, SA_ERR_INVALID, "JWKS key %zu is malformed", i);
            goto fail;
        }
        if (sa_google_keyset_find(&set, kid)) {
            /* Security: two keys under one kid would make the choice of key ambiguous. */
            st = SA_FAIL(err, SA_ERR_INVALID, "JWKS document repeats a kid");
            goto fail;
        }
        EVP_PKEY *pkey = google_rsa_from_ne(n_buf, n_len, e_buf, e_len);
        if (!pkey) {
            st = SA_FAIL(err, SA_ERR_INVALID, "JWKS key %zu is not a valid RSA key", i);
            goto fail;
        }
        if (EVP_PKEY_get_bits(pkey) < JWKS_MIN_BITS) {
            /* Security: too weak to trust; a token naming it will find no key. */
            EVP_PKEY_free(pkey);
            continue;
        }
        memcpy(set.keys[set.n].kid, kid, strlen(kid) + 1);
        set.keys[set.n].pkey = pkey;
        set.n++;
    }
    if (set.n == 0) {
        st = SA_FAIL(err, SA_ERR_INVALID, "JWKS document has no usable RS256 key");
        goto fail;
    }
    *out = set;
    memset(&set, 0, sizeof set);

fail:
    sa_google_keyset_clear(&set);
    free(n_buf);
    json_object_put(root);
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
                return 0;
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
    return max_age < 0 ? 0 : max_age;
}

/* Replace the process cache with a parsed set. */
static void google_keys_replace(sa_google *g, sa_google_keyset *set)
{
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
    sa_status st = sa_google_jwks_parse(doc, len, &set, err);
    if (st != SA_OK)
        return st;
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
    sa_status pst = sa_google_jwks_parse(rec.jwks_json, len, &set, &parse_err);
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
    st = sa_google_jwks_parse(res.body, res.body_len, &set, err);
    if (st == SA_ERR_INVALID)
        st = SA_ERR_UNAVAILABLE; /* err->msg says what was wrong with it */
    if (st != SA_OK)
        goto done;
    set.fetched_at = now;
    set.expires_at = now + sa_google_max_age(res.cache_control, res.age);
    google_keys_replace(g, &set);
    st = google_keys_share(g, g->forced_at, err);
done:
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

sa_status sa_google_key_for(sa_google *g, const char *kid, int64_t now, EVP_PKEY **pkey,
                            sa_error *err)
{
    sa_status st;
    *pkey = NULL;

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
    /* Google unreachable: stale keys keep working (API.md section 3). A kid they do not have
     * cannot be judged until Google answers again. */
    if ((*pkey = sa_google_keyset_find(&g->keys, kid)))
        return SA_OK;
    if (g->keys.n)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE,
                       "Google unreachable and the cached keys lack this kid");
    return SA_FAIL(err, SA_ERR_UNAVAILABLE, "Google unreachable and no keys cached");
}
