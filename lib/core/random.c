/* random.c: sa_random_hex and sa_random_id_hex (see random.h). */
#include "core/random.h"

#include <pthread.h>
#include <stdbool.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* hex_chars lower-case hex characters of raw ((hex_chars + 1) / 2 bytes) into buf. */
static void hex_encode(char *buf, const unsigned char *raw, size_t hex_chars)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0, done = 0; done < hex_chars; i++) {
        buf[done++] = hex[raw[i] >> 4];
        if (done < hex_chars)
            buf[done++] = hex[raw[i] & 0xF];
    }
}

sa_status sa_random_hex(char *buf, size_t hex_chars)
{
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
        size_t chars = hex_chars - done < 2 * want ? hex_chars - done : 2 * want;
        hex_encode(buf + done, raw, chars);
        done += chars;
    }
    OPENSSL_cleanse(raw, sizeof raw);
    buf[st == SA_OK ? hex_chars : 0] = '\0';
    return st;
}

/* Identifiers come from RAND_bytes output drawn ID_POOL bytes at a time: each RAND_bytes
 * call costs ~6,500 instructions whatever its size, and a rotation draws two or three
 * identifiers (callgrind, token-refresh). Security: the pool is CSPRNG output like any
 * other draw; each byte is handed out once and wiped as it is. The pool is per thread, and
 * a fork wipes it in the child (pthread_atfork, registered before the first fill, so no
 * pool exists that a fork could copy unwiped): parent and child never hand out the same
 * bytes. A process that execs (lighttpd's spawn, socialauth-spawn, multiwatch, mod_fcgid,
 * CGI) starts with an empty pool anyway. */
#define ID_POOL 512
static __thread unsigned char id_pool[ID_POOL];
static __thread size_t id_pool_left;

static void id_pool_forget(void)
{
    OPENSSL_cleanse(id_pool, sizeof id_pool);
    id_pool_left = 0;
}

static pthread_once_t id_pool_once = PTHREAD_ONCE_INIT;
static bool id_pool_forgets_on_fork;

static void id_pool_register(void)
{
    id_pool_forgets_on_fork = pthread_atfork(NULL, NULL, id_pool_forget) == 0;
}

sa_status sa_random_id_hex(char *buf, size_t hex_chars)
{
    size_t need = (hex_chars + 1) / 2;
    /* Without the fork handler (pthread_once or pthread_atfork failed) no pool is ever filled. */
    if (need > ID_POOL / 4 || pthread_once(&id_pool_once, id_pool_register) != 0 ||
        !id_pool_forgets_on_fork)
        return sa_random_hex(buf, hex_chars);
    if (id_pool_left < need) {
        if (RAND_bytes(id_pool, ID_POOL) != 1) {
            id_pool_forget();
            buf[0] = '\0';
            return SA_ERR_UNAVAILABLE;
        }
        id_pool_left = ID_POOL;
    }
    unsigned char *raw = id_pool + ID_POOL - id_pool_left;
    hex_encode(buf, raw, hex_chars);
    buf[hex_chars] = '\0';
    OPENSSL_cleanse(raw, need);
    id_pool_left -= need;
    return SA_OK;
}
