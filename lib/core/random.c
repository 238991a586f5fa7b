/* random.c: sa_random_hex and sa_random_id_hex (see random.h). */
#include "core/random.h"

#include <pthread.h>
#include <stdbool.h>

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

/* Identifiers come from RAND_bytes output drawn ID_POOL bytes at a time: each RAND_bytes
 * call costs ~6,500 instructions whatever its size, and a rotation draws two or three
 * identifiers (callgrind, token-refresh). Security: the pool is CSPRNG output like any
 * other draw; each byte is handed out once and wiped as it is; a forked child (the store's
 * checkpoint) forgets the pool, so parent and child never share identifiers. */
#define ID_POOL 512
static unsigned char id_pool[ID_POOL];
static size_t id_pool_left;

static void id_pool_forget(void)
{
    OPENSSL_cleanse(id_pool, sizeof id_pool);
    id_pool_left = 0;
}

sa_status sa_random_id_hex(char *buf, size_t hex_chars)
{
    static const char hex[] = "0123456789abcdef";
    static bool forget_on_fork;
    size_t need = (hex_chars + 1) / 2;
    if (need > ID_POOL / 4)
        return sa_random_hex(buf, hex_chars);
    if (!forget_on_fork) {
        if (pthread_atfork(NULL, NULL, id_pool_forget) != 0)
            return sa_random_hex(buf, hex_chars);
        forget_on_fork = true;
    }
    if (id_pool_left < need) {
        if (RAND_bytes(id_pool, ID_POOL) != 1) {
            id_pool_forget();
            buf[0] = '\0';
            return SA_ERR_UNAVAILABLE;
        }
        id_pool_left = ID_POOL;
    }
    unsigned char *raw = id_pool + ID_POOL - id_pool_left;
    for (size_t i = 0, done = 0; done < hex_chars; i++) {
        buf[done++] = hex[raw[i] >> 4];
        if (done < hex_chars)
            buf[done++] = hex[raw[i] & 0xF];
    }
    buf[hex_chars] = '\0';
    OPENSSL_cleanse(raw, need);
    id_pool_left -= need;
    return SA_OK;
}
