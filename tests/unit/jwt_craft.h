/* jwt_craft.h: build arbitrary (also malformed) HS256 tokens for tests, independently of
 * lib/codec/b64url.c and lib/token/jwt.c: base64 comes from OpenSSL's EVP_EncodeBlock and the MAC from
 * OpenSSL's one-shot HMAC(), so a bug in our code cannot hide behind the same bug here.
 *
 * Usage: jwt_craft(out, sizeof out, key, keylen, header_json, payload_json) signs the two
 * texts as given (duplicate keys, alg none, anything); jwt_b64url() encodes one part. */
#ifndef JWT_CRAFT_H
#define JWT_CRAFT_H

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define JWT_CRAFT_FAIL ((size_t)-1)

/* base64url without padding of in[0..len) into out; returns the length (0 for empty input)
 * or JWT_CRAFT_FAIL when out is too small. */
static inline size_t jwt_b64url(const void *in, size_t len, char *out, size_t out_size)
{
    size_t need = 4 * ((len + 2) / 3) + 1;
    if (need > out_size || len > 0x3fffffff)
        return JWT_CRAFT_FAIL;
    int n = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
    size_t m = 0;
    for (int i = 0; i < n; i++) {
        char c = out[i];
        if (c == '=')
            break;
        out[m++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[m] = '\0';
    return m;
}

/* HMAC-SHA256 over text[0..len) as base64url into out. */
static inline size_t jwt_sign_b64(const void *key, size_t keylen, const char *text, size_t len,
                                  char *out, size_t out_size)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)text, len, mac, &mac_len))
        return 0;
    size_t n = jwt_b64url(mac, mac_len, out, out_size);
    return n == JWT_CRAFT_FAIL ? 0 : n;
}

/* "b64(header).b64(payload).b64(HMAC)" into out; returns its length or 0 on overflow. */
static inline size_t jwt_craft(char *out, size_t out_size, const void *key, size_t keylen,
                               const char *header, const char *payload)
{
    size_t h = jwt_b64url(header, strlen(header), out, out_size);
    if (h == JWT_CRAFT_FAIL || h + 2 >= out_size)
        return 0;
    out[h] = '.';
    size_t p = jwt_b64url(payload, strlen(payload), out + h + 1, out_size - h - 1);
    if (p == JWT_CRAFT_FAIL || h + p + 2 >= out_size)
        return 0;
    size_t t = h + 1 + p;
    out[t] = '.';
    size_t s = jwt_sign_b64(key, keylen, out, t, out + t + 1, out_size - t - 1);
    return s ? t + 1 + s : 0;
}

/* Re-sign a "header.payload" prefix given as text (e.g. with a hand-altered part). */
static inline size_t jwt_craft_raw(char *out, size_t out_size, const void *key, size_t keylen,
                                   const char *signing_input)
{
    size_t t = strlen(signing_input);
    if (t + 2 >= out_size)
        return 0;
    memcpy(out, signing_input, t);
    out[t] = '.';
    size_t s = jwt_sign_b64(key, keylen, out, t, out + t + 1, out_size - t - 1);
    return s ? t + 1 + s : 0;
}

#endif
