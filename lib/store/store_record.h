/* store_record.h: the byte layout of the values the store keeps (internal to store*.c).
 *
 * Format version 1, every record:
 *
 *   byte 0      format version (SA_RECORD_VERSION)
 *   byte 1      kind: 'U' user, 'S' session, 'K' Google keys, 'M' store metadata
 *   then the kind's fields in a fixed order, each one of
 *     str   u32 big-endian length, then that many bytes (no NUL)
 *     i64   8 bytes big-endian of (uint64_t)value XOR 2^63, so that byte order equals
 *           numeric order and a field can be used directly as a Btree key
 *     u8    one byte of flags
 *   and nothing after the last field.
 *
 *   user     (key: id)   str username, str email, str first_name, str last_name,
 *                        u8 flags (1 active, 2 staff, 4 superuser), i64 date_joined,
 *                        i64 last_login, str google_sub, str google_extra (empty = NULL)
 *                        and, only in format version 2 (SA_RECORD_VERSION_PASSWORD), which
 *                        is written only for users that have one: str password (Django's
 *                        hash, imported). Users without a password stay version 1, so a
 *                        program from before version 2 reads every store it could read.
 *   session  (key: sid)  str user_id, str current_jti, str previous_jti, i64 created_at,
 *                        i64 replaced_at, i64 current_iat, i64 current_exp, i64 expires_at,
 *                        u8 flags (1 revoked)
 *   keys     (key: "google_keys")  str jwks_json (empty = NULL), i64 fetched_at,
 *                        i64 expires_at, i64 forced_at
 *   meta     (key: "format")       no fields: the store's own format version
 *   jti      (key: jti)  str sid (empty when revoked unused), i64 expires_at, u8 flags
 *                        (1 revoked): a refresh token without sid (api.html#tokens)
 *   not_before (key: user id)  i64 not_before: the user's last global logout
 *
 * The jti and not_before kinds came after the first release in databases of their own
 * (jtis.db, not_before.db), which sa_store_open() creates in place in an older store: no
 * existing record changed, so version 1 still describes every record.
 *
 * A reader refuses any other version with SA_ERR_UNAVAILABLE (an older program must not
 * rewrite a newer record), and refuses a record that does not parse exactly the same way
 * (including a NUL inside a string field and flag bits it does not know): what decodes
 * encodes back to the same bytes (tests/fuzz/fuzz_store_record.c checks it).
 * Encoders are the one place where field lengths are checked against store.h's bounds: a user's
 * text fields must also be valid UTF-8 within their limits in characters (SA_*_CHARS). */
#ifndef SA_STORE_RECORD_H
#define SA_STORE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sa_error.h"
#include "store/store.h"

#define SA_RECORD_VERSION 1
#define SA_RECORD_VERSION_PASSWORD 2   /* user records with a password (see above) */
#define SA_RECORD_USER 'U'
#define SA_RECORD_SESSION 'S'
#define SA_RECORD_KEYS 'K'
#define SA_RECORD_META 'M'
#define SA_RECORD_JTI 'J'
#define SA_RECORD_NOT_BEFORE 'B'

#define SA_RECORD_EXTRA_MAX (64 * 1024)    /* google_extra JSON text */
#define SA_RECORD_JWKS_MAX (256 * 1024)    /* Google's JWKS document */
#define SA_RECORD_JTI_MAX 32
#define SA_RECORD_SID_MAX 32
#define SA_RECORD_I64_SIZE 8

/* An encoded record: data is malloc'd and owned. */
typedef struct sa_record {
    unsigned char *data;
    size_t len;
} sa_record;

void sa_record_free(sa_record *rec);

/* Order-preserving 8-byte encoding of a signed time (the i64 above). */
void sa_record_i64_put(unsigned char out[SA_RECORD_I64_SIZE], int64_t value);
int64_t sa_record_i64_get(const unsigned char in[SA_RECORD_I64_SIZE]);

/* Encode: SA_OK, SA_ERR_INVALID (a field too long or not NUL-terminated; err->msg names it),
 * SA_ERR_UNAVAILABLE (out of memory). Decode: SA_OK, SA_ERR_UNAVAILABLE (unknown version,
 * corrupt record, out of memory), SA_ERR_INVALID (the key is too long for its field). Out of
 * memory is "unavailable" because store.h promises callers no other status; so is a key
 * holding a NUL (corrupt). A decoded user's
 * google_extra / keys' jwks_json is malloc'd; out's previous contents are overwritten, not
 * freed. */
sa_status sa_record_user_encode(const sa_user *user, sa_record *out, sa_error *err);
sa_status sa_record_user_decode(const void *key, size_t key_len, const void *data, size_t len,
                                sa_user *out, sa_error *err);
sa_status sa_record_session_encode(const sa_session *session, sa_record *out, sa_error *err);
sa_status sa_record_session_decode(const void *key, size_t key_len, const void *data,
                                   size_t len, sa_session *out, sa_error *err);
sa_status sa_record_keys_encode(const sa_google_keys *keys, sa_record *out, sa_error *err);
sa_status sa_record_keys_decode(const void *data, size_t len, sa_google_keys *out,
                                sa_error *err);
sa_status sa_record_jti_encode(const sa_jti_record *jti, sa_record *out, sa_error *err);
sa_status sa_record_jti_decode(const void *data, size_t len, sa_jti_record *out,
                               sa_error *err);
/* The fixed-size not-before record (SA_RECORD_NOT_BEFORE_SIZE bytes); decode says SA_OK or
 * SA_ERR_UNAVAILABLE. */
#define SA_RECORD_NOT_BEFORE_SIZE (2 + SA_RECORD_I64_SIZE)
void sa_record_not_before_encode(int64_t not_before, unsigned char out[SA_RECORD_NOT_BEFORE_SIZE]);
sa_status sa_record_not_before_decode(const void *data, size_t len, int64_t *out,
                                      sa_error *err);
/* The two-byte metadata record; check says SA_OK or SA_ERR_UNAVAILABLE. */
void sa_record_meta_encode(unsigned char out[2]);
sa_status sa_record_meta_check(const void *data, size_t len, sa_error *err);

/* Fields that secondary indexes are built from, found without decoding or allocating:
 * *value points into data. False when the record is not a version-1 record of the kind. */
typedef enum sa_record_field {
    SA_FIELD_USERNAME,
    SA_FIELD_EMAIL,
    SA_FIELD_GOOGLE_SUB,
    SA_FIELD_SESSION_USER_ID,
    SA_FIELD_SESSION_CURRENT_IAT, /* the 8 encoded bytes (sa_record_i64_get) */
    SA_FIELD_SESSION_EXPIRES_AT,  /* the 8 encoded bytes, usable as a Btree key */
    SA_FIELD_JTI_EXPIRES_AT       /* likewise */
} sa_record_field;
bool sa_record_field_get(const void *data, size_t len, sa_record_field field,
                         const unsigned char **value, size_t *value_len);

#endif
