/* b64url.c: base64url without padding (RFC 4648 section 5), canonical form only.
 *
 * Security: decoding accepts exactly one text per byte string (no '=', no whitespace, no
 * characters outside the alphabet, no length of 4n+1, unused trailing bits zero), so a
 * signed token has a single spelling and cannot be altered without breaking the signature
 * check done over its text. */
#include "codec/b64url.h"

#include <stdint.h>

#include <string.h>

static const char b64url_alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of c in the alphabet, or -1. */
static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Contract: returns the length written (not counting the NUL), or 0 when out_size cannot
 * hold the text and its NUL (out is then "" if out_size > 0). An empty input also gives 0
 * with out "". */
size_t sa_b64url_encode(const unsigned char *in, size_t len, char *out, size_t out_size)
{
    size_t full = len / 3, rem = len % 3;
    if (full > (SIZE_MAX - 4) / 4)
        goto too_small;
    size_t need = full * 4 + (rem ? rem + 1 : 0);
    if (out_size < need + 1)
        goto too_small;

    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned long v =
            ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];
        out[o++] = b64url_alphabet[(v >> 18) & 63];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (rem == 1) {
        unsigned long v = (unsigned long)in[i] << 16;
        out[o++] = b64url_alphabet[(v >> 18) & 63];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
    } else if (rem == 2) {
        unsigned long v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8);
        out[o++] = b64url_alphabet[(v >> 18) & 63];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;

too_small:
    if (out && out_size > 0)
        out[0] = '\0';
    return 0;
}

/* Contract: returns SA_OK with *out_len bytes in out; SA_ERR_INVALID for anything but
 * canonical unpadded base64url; SA_ERR_TOO_LARGE when out_size cannot hold the result
 * (nothing meaningful is in out then). */
sa_status sa_b64url_decode(const char *in, size_t len, unsigned char *out, size_t out_size,
                           size_t *out_len)
{
    size_t full = len / 4, rem = len % 4;
    if (out_len)
        *out_len = 0;
    if (!in && len > 0)
        return SA_ERR_INVALID;
    if (rem == 1)
        return SA_ERR_INVALID;
    size_t need = full * 3 + (rem ? rem - 1 : 0);
    if (need > out_size)
        return SA_ERR_TOO_LARGE;

    size_t o = 0, i = 0;
    for (; i < full * 4; i += 4) {
        int a = b64url_value((unsigned char)in[i]);
        int b = b64url_value((unsigned char)in[i + 1]);
        int c = b64url_value((unsigned char)in[i + 2]);
        int d = b64url_value((unsigned char)in[i + 3]);
        if ((a | b | c | d) < 0)
            return SA_ERR_INVALID;
        unsigned long v = ((unsigned long)a << 18) | ((unsigned long)b << 12) |
                          ((unsigned long)c << 6) | (unsigned long)d;
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    if (rem >= 2) {
        int a = b64url_value((unsigned char)in[i]);
        int b = b64url_value((unsigned char)in[i + 1]);
        int c = rem == 3 ? b64url_value((unsigned char)in[i + 2]) : 0;
        if ((a | b | c) < 0)
            return SA_ERR_INVALID;
        /* Security: the bits past the last whole byte must be zero (canonical form). */
        if (rem == 2 && (b & 0x0F) != 0)
            return SA_ERR_INVALID;
        if (rem == 3 && (c & 0x03) != 0)
            return SA_ERR_INVALID;
        unsigned long v = ((unsigned long)a << 18) | ((unsigned long)b << 12) |
                          ((unsigned long)c << 6);
        out[o++] = (unsigned char)(v >> 16);
        if (rem == 3)
            out[o++] = (unsigned char)(v >> 8);
    }
    if (out_len)
        *out_len = o;
    return SA_OK;
}
