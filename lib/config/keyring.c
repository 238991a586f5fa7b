/* keyring.c: the key directory (see keyring.h for its layout and rules). */
#include "config/keyring.h"
#include "codec/b64url.h"
#include "core/random.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define SIGNING_FILE "signing"

bool sa_kid_valid(const char *kid)
{
    size_t n = 0;
    for (; kid[n]; n++) {
        char c = kid[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok || n >= SA_KID_MAX)
            return false;
    }
    return n > 0;
}

void sa_keyring_clear(sa_keyring *ring)
{
    OPENSSL_cleanse(ring->keys, sizeof ring->keys);
    ring->n = 0;
    ring->signing = -1;
}

/* Read the small file dir/name into buf (size bytes, NUL-terminated, trailing newlines
 * removed); *len its length. Security: refuses a file group or others may read. */
static sa_status read_small(const char *dir, const char *name, char *buf, size_t size,
                            size_t *len, int64_t *mtime, sa_error *err)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return SA_FAIL(err, errno == ENOENT ? SA_ERR_NOT_FOUND : SA_ERR_CONFIG,
                       "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    sa_status rc = SA_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = SA_FAIL(err, SA_ERR_CONFIG, "%s is not a regular file", path);
    else if (st.st_mode & 077)
        rc = SA_FAIL(err, SA_ERR_CONFIG,
                     "%s must not be readable by group or others (chmod 600 it)", path);
    ssize_t n = rc == SA_OK ? read(fd, buf, size) : 0;
    close(fd);
    if (rc != SA_OK)
        return rc;
    if (n < 0 || (size_t)n >= size)
        return SA_FAIL(err, SA_ERR_CONFIG, "%s: unreadable or longer than %zu bytes", path,
                       size - 1);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    *len = (size_t)n;
    if (mtime)
        *mtime = (int64_t)st.st_mtime;
    return SA_OK;
}

static void key_header(sa_key *k)
{
    char json[128];
    int n = snprintf(json, sizeof json, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                     k->kid);
    sa_b64url_encode((const unsigned char *)json, (size_t)n, k->header_b64,
                     sizeof k->header_b64);
}

/* One `<kid>.key` file into the next slot of ring. */
static sa_status load_key(sa_keyring *ring, const char *dir, const char *name, size_t kid_len,
                          sa_error *err)
{
    if (ring->n == SA_KEYRING_MAX)
        return SA_FAIL(err, SA_ERR_CONFIG, "%s holds more than %d keys: retire some", dir,
                       SA_KEYRING_MAX);
    sa_key *k = &ring->keys[ring->n];
    memcpy(k->kid, name, kid_len);
    k->kid[kid_len] = '\0';
    char buf[SA_SIGNING_KEY_MAX + 2];
    size_t len;
    sa_status st = read_small(dir, name, buf, sizeof buf, &len, &k->created, err);
    if (st == SA_OK && (len < SA_SIGNING_KEY_MIN || len > SA_SIGNING_KEY_MAX))
        st = SA_FAIL(err, SA_ERR_CONFIG, "%s/%s: a key must be %d to %d bytes, not %zu", dir,
                     name, SA_SIGNING_KEY_MIN, SA_SIGNING_KEY_MAX, len);
    if (st == SA_OK) {
        memcpy(k->key, buf, len);
        k->len = len;
        key_header(k);
        ring->n++;
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return st == SA_ERR_NOT_FOUND ? SA_OK : st;   /* retired meanwhile */
}

sa_status sa_keyring_load(sa_keyring *ring, const char *dir, sa_error *err)
{
    struct stat st;
    sa_keyring_clear(ring);
    if (snprintf(ring->dir, sizeof ring->dir, "%s", dir) >= (int)sizeof ring->dir)
        return SA_FAIL(err, SA_ERR_CONFIG, "signing_key_dir is too long");
    if (stat(dir, &st) != 0)
        return SA_FAIL(err, SA_ERR_CONFIG, "cannot use signing_key_dir %s: %s", dir,
                       strerror(errno));
    if (!S_ISDIR(st.st_mode) || (st.st_mode & 077))
        return SA_FAIL(err, SA_ERR_CONFIG,
                       "signing_key_dir %s must be a directory only its owner can open "
                       "(chmod 700 it)", dir);
    ring->dir_mtime = st.st_mtim;
    DIR *d = opendir(dir);
    if (!d)
        return SA_FAIL(err, SA_ERR_CONFIG, "cannot read %s: %s", dir, strerror(errno));
    sa_status rc = SA_OK;
    struct dirent *e;
    while (rc == SA_OK && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n <= 4 || strcmp(e->d_name + n - 4, ".key") != 0)
            continue;
        char kid[SA_KID_MAX + 1];
        if (n - 4 > SA_KID_MAX)
            continue;
        memcpy(kid, e->d_name, n - 4);
        kid[n - 4] = '\0';
        if (sa_kid_valid(kid))
            rc = load_key(ring, dir, e->d_name, n - 4, err);
    }
    closedir(d);
    char kid[SA_KID_MAX + 2];
    size_t len;
    sa_status sst = rc == SA_OK ? read_small(dir, SIGNING_FILE, kid, sizeof kid, &len, NULL, err)
                                : rc;
    if (sst == SA_OK) {
        for (size_t i = 0; i < ring->n; i++)
            if (strcmp(ring->keys[i].kid, kid) == 0)
                ring->signing = (int)i;
        if (ring->signing < 0)
            rc = SA_FAIL(err, SA_ERR_CONFIG, "%s/%s names kid \"%.64s\", which has no key file",
                         dir, SIGNING_FILE, kid);
    } else if (sst != SA_ERR_NOT_FOUND) {
        rc = sst;
    }
    if (rc != SA_OK)
        sa_keyring_clear(ring);
    return rc;
}

sa_status sa_keyring_refresh(sa_keyring *ring, int64_t now_ms, sa_error *err)
{
    if (now_ms - ring->checked_ms < 1000 && ring->checked_ms != 0)
        return SA_OK;
    ring->checked_ms = now_ms;
    struct stat st;
    if (stat(ring->dir, &st) == 0 && st.st_mtim.tv_sec == ring->dir_mtime.tv_sec &&
        st.st_mtim.tv_nsec == ring->dir_mtime.tv_nsec)
        return SA_OK;
    sa_keyring *fresh = malloc(sizeof *fresh);
    if (!fresh)
        return SA_FAIL(err, SA_ERR_NOMEM, "out of memory reloading keys");
    char dir[sizeof ring->dir];
    memcpy(dir, ring->dir, sizeof dir);
    sa_status rc = sa_keyring_load(fresh, dir, err);
    if (rc == SA_OK) {
        fresh->checked_ms = now_ms;
        sa_keyring_clear(ring);
        memcpy(ring, fresh, sizeof *ring);
    }
    sa_keyring_clear(fresh);
    free(fresh);
    return rc;
}

const sa_key *sa_keyring_by_header(const sa_keyring *ring, const char *header_b64, size_t len)
{
    for (size_t i = 0; ring && i < ring->n; i++) {
        const char *h = ring->keys[i].header_b64;
        if (strlen(h) == len && memcmp(h, header_b64, len) == 0)
            return &ring->keys[i];
    }
    return NULL;
}

const sa_key *sa_keyring_by_kid(const sa_keyring *ring, const char *kid)
{
    for (size_t i = 0; ring && i < ring->n; i++)
        if (strcmp(ring->keys[i].kid, kid) == 0)
            return &ring->keys[i];
    return NULL;
}

const sa_key *sa_keyring_signing(const sa_keyring *ring)
{
    return ring && ring->signing >= 0 ? &ring->keys[ring->signing] : NULL;
}

/* ---- changes ---- */

/* Write data to dir/name through a temporary file renamed into place (mode 0600, flushed),
 * so readers see the old file or the new one, never a part. With exclusive, an existing
 * name is SA_ERR_EXISTS. */
static sa_status write_file(const char *dir, const char *name, const void *data, size_t len,
                            bool exclusive, sa_error *err)
{
    char path[2048], tmp[2100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    if (exclusive && access(path, F_OK) == 0)
        return SA_FAIL(err, SA_ERR_EXISTS, "%s already exists", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "cannot write %s: %s", tmp, strerror(errno));
    bool ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || (exclusive ? link(tmp, path) : rename(tmp, path)) != 0) {
        int e = errno;
        unlink(tmp);
        return SA_FAIL(err, e == EEXIST ? SA_ERR_EXISTS : SA_ERR_UNAVAILABLE,
                       "cannot write %s: %s", path, strerror(e));
    }
    if (exclusive)
        unlink(tmp);
    return SA_OK;
}

static sa_status ensure_dir(const char *dir, sa_error *err)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "cannot create %s: %s", dir, strerror(errno));
    return SA_OK;
}

sa_status sa_keyring_add(const char *dir, const char *kid, const unsigned char *key, size_t len,
                         bool make_signing, sa_error *err)
{
    if (!sa_kid_valid(kid))
        return SA_FAIL(err, SA_ERR_INVALID,
                       "kid \"%.64s\": expected 1 to %d letters, digits, '-' or '_'", kid,
                       SA_KID_MAX);
    if (len < SA_SIGNING_KEY_MIN || len > SA_SIGNING_KEY_MAX)
        return SA_FAIL(err, SA_ERR_INVALID, "a key must be %d to %d bytes, not %zu",
                       SA_SIGNING_KEY_MIN, SA_SIGNING_KEY_MAX, len);
    char name[SA_KID_MAX + 8];
    snprintf(name, sizeof name, "%s.key", kid);
    sa_status st = ensure_dir(dir, err);
    if (st == SA_OK)
        st = write_file(dir, name, key, len, true, err);
    if (st == SA_OK && make_signing)
        st = write_file(dir, SIGNING_FILE, kid, strlen(kid), false, err);
    return st;
}

sa_status sa_keyring_rotate(const char *dir, char *kid_out, sa_error *err)
{
    char hex[129], suffix[5], when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y%m%d%H%M%S", &tm);
    if (sa_random_hex(hex, 128) != SA_OK || sa_random_hex(suffix, 4) != SA_OK)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "no random bytes for a new key");
    snprintf(kid_out, SA_KID_MAX + 1, "k%s-%s", when, suffix);
    sa_status st = sa_keyring_add(dir, kid_out, (const unsigned char *)hex, 128, true, err);
    OPENSSL_cleanse(hex, sizeof hex);
    return st;
}

sa_status sa_keyring_retire(const char *dir, const char *kid, sa_error *err)
{
    if (!sa_kid_valid(kid))
        return SA_FAIL(err, SA_ERR_NOT_FOUND, "no key \"%.64s\"", kid);
    char signing[SA_KID_MAX + 2];
    size_t len;
    sa_error ignored = {0};
    if (read_small(dir, SIGNING_FILE, signing, sizeof signing, &len, NULL, &ignored) == SA_OK &&
        strcmp(signing, kid) == 0)
        return SA_FAIL(err, SA_ERR_INVALID,
                       "\"%s\" is the signing key: `socialauth key rotate` first", kid);
    char path[2048];
    snprintf(path, sizeof path, "%s/%s.key", dir, kid);
    if (unlink(path) != 0)
        return SA_FAIL(err, errno == ENOENT ? SA_ERR_NOT_FOUND : SA_ERR_UNAVAILABLE,
                       errno == ENOENT ? "no key \"%s\" in %s" : "cannot remove key \"%s\" from %s",
                       kid, dir);
    return SA_OK;
}
