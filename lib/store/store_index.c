/* store_index.c: the secondary-key callbacks that sa_store_open() gives to DB->associate
 * (Berkeley DB "DB->associate"), for every index of users, sessions and sidless jtis, and
 * the key functions user lookups share with them. Kept apart from the files that read and
 * write those records so that store.c needs none of them (no cycle between files). */
#include "store/store_internal.h"
#include "store/store_record.h"
#include "core/text.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sa_store_index_field(const DBT *data, sa_record_field field, DBT *result)
{
    const unsigned char *value;
    size_t len;

    if (!sa_record_field_get(data->data, data->size, field, &value, &len))
        return EINVAL;
    if (len == 0)
        return DB_DONOTINDEX;
    result->data = (void *)value;
    result->size = (u_int32_t)len;
    return 0;
}

/* ---- users ---- */

/* Contract: see store_internal.h. The key of a username in the case-folded index: sa_text_casefold's caseless-match key;
 * a username an older version stored that is not valid UTF-8 is indexed as its bytes.
 * *out is malloc'd. */
sa_status sa_store_username_key(const char *username, size_t len, char **out, size_t *out_len)
{
    sa_status st = sa_text_casefold(username, len, out, out_len, NULL);
    if (st != SA_ERR_INVALID)
        return st;
    *out = malloc(len + 1);
    if (!*out)
        return SA_ERR_NOMEM;
    memcpy(*out, username, len);
    (*out)[len] = '\0';
    *out_len = len;
    return SA_OK;
}

void sa_store_ascii_lower(char *dst, const unsigned char *src, size_t len)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] - 'A' + 'a' : src[i]);
}

int sa_store_index_username(DB *sdb, const DBT *key, const DBT *data, DBT *result)
{
    const unsigned char *value;
    size_t len, folded_len;
    char *folded;

    (void)sdb;
    (void)key;
    if (!sa_record_field_get(data->data, data->size, SA_FIELD_USERNAME, &value, &len))
        return EINVAL;
    if (len == 0)
        return DB_DONOTINDEX;
    if (sa_store_username_key((const char *)value, len, &folded, &folded_len) != SA_OK)
        return ENOMEM;
    result->data = folded;
    result->size = (u_int32_t)folded_len;
    result->flags = DB_DBT_APPMALLOC;   /* Berkeley DB frees it */
    return 0;
}

int sa_store_index_sub(DB *sdb, const DBT *key, const DBT *data, DBT *result)
{
    (void)sdb;
    (void)key;
    return sa_store_index_field(data, SA_FIELD_GOOGLE_SUB, result);
}

int sa_store_index_email(DB *sdb, const DBT *key, const DBT *data, DBT *result)
{
    const unsigned char *value;
    size_t len;
    char *lower;

    (void)sdb;
    (void)key;
    if (!sa_record_field_get(data->data, data->size, SA_FIELD_EMAIL, &value, &len))
        return EINVAL;
    if (len == 0)
        return DB_DONOTINDEX;
    lower = malloc(len);
    if (!lower)
        return ENOMEM;
    sa_store_ascii_lower(lower, value, len);
    result->data = lower;
    result->size = (u_int32_t)len;
    result->flags = DB_DBT_APPMALLOC;   /* Berkeley DB frees it */
    return 0;
}

/* ---- sessions ---- */

int sa_store_index_session_user(DB *sdb, const DBT *key, const DBT *data, DBT *result)
{
    (void)sdb;
    (void)key;
    return sa_store_index_field(data, SA_FIELD_SESSION_USER_ID, result);
}

/* Contract: see store_internal.h. */
int sa_store_index_session_expiry(DB *sdb, const DBT *key, const DBT *data, DBT *result)
{
    const unsigned char *value, *iat_raw;
    size_t len, iat_len;
    unsigned char *out;

    (void)sdb;
    if (!sa_record_field_get(data->data, data->size, SA_FIELD_SESSION_EXPIRES_AT, &value,
                             &len) || len != SA_RECORD_I64_SIZE ||
        !sa_record_field_get(data->data, data->size, SA_FIELD_SESSION_CURRENT_IAT, &iat_raw,
                             &iat_len))
        return EINVAL;
    int64_t at = sa_record_i64_get(value), iat = sa_record_i64_get(iat_raw);
    /* The step: a 24th of the refresh token's lifetime, 1 second to an hour. The lifetime
     * in unsigned arithmetic: at - iat overflows int64_t when iat is far below 0. */
    uint64_t life = (uint64_t)at - (uint64_t)iat;   /* exact when at > iat */
    int64_t step = at > iat && life < INT64_MAX / 2 ? (int64_t)(life / STORE_EXPIRY_STEPS) : 1;
    step = step < 1 ? 1 : step > STORE_EXPIRY_STEP_MAX ? STORE_EXPIRY_STEP_MAX : step;
    int64_t rem = at % step;   /* C: rem <= 0 when at < 0 */
    if (rem > 0)
        at = at > INT64_MAX - step ? INT64_MAX : at - rem + step;
    else
        at -= rem;
    if (key->size > SA_RECORD_SID_MAX || !(out = malloc(SA_RECORD_I64_SIZE + key->size)))
        return key->size > SA_RECORD_SID_MAX ? EINVAL : ENOMEM;
    sa_record_i64_put(out, at);
    memcpy(out + SA_RECORD_I64_SIZE, key->data, key->size);
    result->data = out;
    result->size = (u_int32_t)(SA_RECORD_I64_SIZE + key->size);
    result->flags = DB_DBT_APPMALLOC;   /* Berkeley DB frees it */
    return 0;
}

/* ---- jtis of tokens without sid ---- */

int sa_store_index_jti_expiry(DB *sdb, const DBT *key, const DBT *data, DBT *result)
{
    const unsigned char *value;
    size_t len;

    (void)sdb;
    (void)key;
    if (!sa_record_field_get(data->data, data->size, SA_FIELD_JTI_EXPIRES_AT, &value, &len))
        return EINVAL;
    result->data = (void *)value;
    result->size = (u_int32_t)len;
    return 0;
}
