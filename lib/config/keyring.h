/* keyring.h: our own HS256 signing keys with a `kid`, kept in a key directory (api.html#tokens;
 * RFC 7515 section 4.1.4 for kid).
 *
 * Layout of the directory (`signing_key_dir`): one file per key, `<kid>.key`, holding the raw
 * key bytes (at least SA_SIGNING_KEY_MIN, trailing newlines ignored), mode 0600; and a file
 * `signing` holding the kid that signs new tokens. Every `<kid>.key` present verifies tokens
 * whose header names that kid; removing the file (`socialauth key retire`) ends them.
 * Security: the directory must not be reachable by group or others (mode 0700) and each key
 * file not readable by them; key material never enters the store, so a copy of the store
 * mints nothing. Tokens without a kid (simplejwt's) are checked against the configured
 * Django key (`signing_key` / `signing_key_file`), never against the directory's keys.
 *
 * Running programs see changes within one second: sa_keyring_refresh() (called once per
 * request) stats the directory at most once a second and reloads it when its modification
 * time changed. Writers change the directory only by creating, renaming or removing files,
 * each of which updates that time. */
#ifndef SA_KEYRING_H
#define SA_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "core/sa_error.h"

#define SA_KID_MAX 64          /* characters: letters, digits, '-' and '_' */
#define SA_KEYRING_MAX 16      /* keys in one directory */

typedef struct sa_key {
    char kid[SA_KID_MAX + 1];
    unsigned char key[SA_SIGNING_KEY_MAX];
    size_t len;
    char header_b64[160];      /* base64url of {"alg":"HS256","typ":"JWT","kid":"<kid>"} */
    int64_t created;           /* the key file's modification time, unix seconds */
} sa_key;

struct sa_keyring {
    char dir[1024];
    sa_key keys[SA_KEYRING_MAX];
    size_t n;
    int signing;               /* index into keys of the signing key, -1 when none */
    struct timespec dir_mtime; /* of the directory when it was read */
    int64_t checked_ms;        /* monotonic ms of the last stat */
};

/* True when kid is 1..SA_KID_MAX characters of [A-Za-z0-9_-]. */
bool sa_kid_valid(const char *kid);

/* Read every key of dir into *ring (replacing its contents; keys cleansed first). Returns
 * SA_OK; SA_ERR_CONFIG when the directory or a key file cannot be read, is reachable by group
 * or others, a key is shorter than SA_SIGNING_KEY_MIN or longer than SA_SIGNING_KEY_MAX,
 * there are more than SA_KEYRING_MAX keys, or `signing` names a kid without a key file;
 * err->msg names the file. An empty directory is a keyring without keys. */
sa_status sa_keyring_load(sa_keyring *ring, const char *dir, sa_error *err);

/* At most once a second (now_ms: a monotonic clock in milliseconds) stat the directory and,
 * when it changed, reload it. On a failed reload the previous keys stay in use and the
 * error is returned (SA_ERR_CONFIG), to be logged; SA_OK otherwise. */
sa_status sa_keyring_refresh(sa_keyring *ring, int64_t now_ms, sa_error *err);

/* The key whose canonical kid header is exactly the header_b64 text (len bytes), or NULL. */
const sa_key *sa_keyring_by_header(const sa_keyring *ring, const char *header_b64, size_t len);

/* The key with kid (a NUL-terminated string), or NULL (ring may be NULL). */
const sa_key *sa_keyring_by_kid(const sa_keyring *ring, const char *kid);

/* The signing key, or NULL when none is set. */
const sa_key *sa_keyring_signing(const sa_keyring *ring);

/* Cleanse every key. */
void sa_keyring_clear(sa_keyring *ring);

/* ---- changes (`socialauth key ...`); each leaves the directory consistent at every step ---- */

/* Write a new random key (64 bytes from the OpenSSL RNG, as 128 hex characters) under a new
 * kid ("k<UTC yyyymmddHHMMSS>-<4 hex>") and make it the signing key. kid_out (SA_KID_MAX + 1
 * bytes) receives it. Creates dir (0700) when absent. SA_OK, SA_ERR_UNAVAILABLE (I/O or RNG;
 * err->msg says which file). */
sa_status sa_keyring_rotate(const char *dir, char *kid_out, sa_error *err);

/* Add key (len bytes, SA_SIGNING_KEY_MIN..SA_SIGNING_KEY_MAX) as a verification key under
 * kid; when make_signing, it also becomes the signing key. SA_OK, SA_ERR_INVALID (bad kid or
 * length), SA_ERR_EXISTS (kid taken), SA_ERR_UNAVAILABLE (I/O). */
sa_status sa_keyring_add(const char *dir, const char *kid, const unsigned char *key, size_t len,
                         bool make_signing, sa_error *err);

/* Remove kid's key: tokens signed with it stop verifying. SA_OK, SA_ERR_NOT_FOUND (no such
 * kid), SA_ERR_INVALID (it is the signing key: rotate first), SA_ERR_UNAVAILABLE (I/O). */
sa_status sa_keyring_retire(const char *dir, const char *kid, sa_error *err);

#endif
