/* random.c: sa_random_hex (see random.h). */
#include "core/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

sa_status sa_random_hex(char *buf, size_t hex_chars)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[32];
    size_t done = 0;
    sa_status st = SA_OK;

    while (done < hex_chars) {
        size_t want = (hex_chars - done + 1) / 2;
        if (want > sizeof raw)
            want = sizeof raw;
        if (RAND_bytes(raw, (int)want) != 1) {
            st = SA_ERR_UNAVAILABLE;
            break;
        }
        for (size_t i = 0; i < want && done < hex_chars; i++) {
            buf[done++] = hex[raw[i] >> 4];
            if (done < hex_chars)
                buf[done++] = hex[raw[i] & 0xF];
        }
    }
    OPENSSL_cleanse(raw, sizeof raw);
    buf[st == SA_OK ? hex_chars : 0] = '\0';
    return st;
}
