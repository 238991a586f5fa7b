/* store_record.c: encoding and decoding of the store's records (layout in store_record.h). */
#include "store/store_record.h"
#include "core/text.h"

#include <stdlib.h>
#include <string.h>

/* ---- writer: sized exactly before any byte is written ---- */

typedef struct rec_writer {
    unsigned char *p;
    size_t used;
    size_t cap;
} rec_writer;

static void put_u32(unsigned char *out, uint32_t v)
{
    out[0] = (unsigned char)(v >> 24);
    out[1] = (unsigned char)(v >> 16);
    out[2] = (unsigned char)(v >> 8);
    out[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *in)
{
    return ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) | ((uint32_t)in[2] << 8) |
           (uint32_t)in[3];
}

void sa_record_i64_put(unsigned char out[SA_RECORD_I64_SIZE], int64_t value)
{
    uint64_t v = (uint64_t)value ^ (UINT64_C(1) << 63);
    for (int i = SA_RECORD_I64_SIZE - 1; i >= 0; i--) {
        out[i] = (unsigned char)v;
        v >>= 8;
    }
}

int64_t sa_record_i64_get(const unsigned char in[SA_RECORD_I64_SIZE])
{
    uint64_t v = 0;
    for (int i = 0; i < SA_RECORD_I64_SIZE; i++)
        v = (v << 8) | in[i];
    v ^= UINT64_C(1) << 63;
    /* Two's complement round trip without relying on implementation-defined conversion. */
    if (v <= (uint64_t)INT64_MAX)
        return (int64_t)v;
    return -(int64_t)(~v) - 1;
}

static sa_status writer_init(rec_writer *w, char kind, size_t body, sa_error *err)
{
    w->cap = 2 + body;
    w->used = 0;
    w->p = malloc(w->cap);
    if (!w->p)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: out of memory encoding a record");
    w->p[w->used++] = SA_RECORD_VERSION;
    w->p[w->used++] = (unsigned char)kind;
    return SA_OK;
}

static void writer_str(rec_writer *w, const char *s, size_t n)
{
    put_u32(w->p + w->used, (uint32_t)n);
    w->used += 4;
    if (n)
        memcpy(w->p + w->used, s, n);
    w->used += n;
}

static void writer_i64(rec_writer *w, int64_t v)
{
    sa_record_i64_put(w->p + w->used, v);
    w->used += SA_RECORD_I64_SIZE;
}

static void writer_u8(rec_writer *w, unsigned char v)
{
    w->p[w->used++] = v;
}

static void writer_finish(rec_writer *w, sa_record *out)
{
    out->data = w->p;
    out->len = w->used;
}

void sa_record_free(sa_record *rec)
{
    if (!rec)
        return;
    free(rec->data);
    rec->data = NULL;
    rec->len = 0;
}

/* Length of s if it fits in max bytes (NUL within max + 1 bytes of storage), else -1.
 * Security: never reads past max + 1 bytes, so a caller's unterminated array is refused
 * instead of overread. */
static long bounded_len(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    return n > max ? -1 : (long)n;
}

#define STR_STORAGE(n) (4 + (size_t)(n))

/* ---- reader ---- */

typedef struct rec_reader {
    const unsigned char *p;
    size_t left;
} rec_reader;

static bool reader_open(rec_reader *r, const void *data, size_t len, char kind)
{
    const unsigned char *d = data;
    bool version_ok = len >= 1 && (d[0] == SA_RECORD_VERSION ||
                                   (kind == SA_RECORD_USER && d[0] == SA_RECORD_VERSION_PASSWORD));
    if (len < 2 || !version_ok || d[1] != (unsigned char)kind)
        return false;
    r->p = d + 2;
    r->left = len - 2;
    return true;
}

static bool reader_str(rec_reader *r, const unsigned char **s, size_t *n, size_t max)
{
    if (r->left < 4)
        return false;
    uint32_t len = get_u32(r->p);
    if (len > max || len > r->left - 4)
        return false;
    /* Fields are C strings: a NUL inside one is corruption (it would decode to a shorter
     * value than was stored). */
    if (len && memchr(r->p + 4, '\0', len))
        return false;
    *s = r->p + 4;
    *n = len;
    r->p += 4 + (size_t)len;
    r->left -= 4 + (size_t)len;
    return true;
}

static bool reader_i64(rec_reader *r, int64_t *v, const unsigned char **raw)
{
    if (r->left < SA_RECORD_I64_SIZE)
        return false;
    if (raw)
        *raw = r->p;
    if (v)
        *v = sa_record_i64_get(r->p);
    r->p += SA_RECORD_I64_SIZE;
    r->left -= SA_RECORD_I64_SIZE;
    return true;
}

static bool reader_u8(rec_reader *r, unsigned char *v)
{
    if (r->left < 1)
        return false;
    *v = *r->p;
    r->p++;
    r->left--;
    return true;
}

/* Copy a bounded field into a fixed array of max + 1 bytes; the reader checked n <= max. */
static void copy_field(char *dst, const unsigned char *src, size_t n)
{
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A decode failure: version mismatch or a record that does not parse. */
static sa_status bad_record(const void *data, size_t len, char kind, sa_error *err)
{
    const unsigned char *d = data;
    if (len >= 1 && d[0] != SA_RECORD_VERSION &&
        !(kind == SA_RECORD_USER && d[0] == SA_RECORD_VERSION_PASSWORD))
        return SA_FAIL(err, SA_ERR_UNAVAILABLE,
                       "store: record format version %u is unknown to this program "
                       "(expected %u)", (unsigned)d[0], (unsigned)SA_RECORD_VERSION);
    return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: corrupt %c record", kind);
}

/* ---- users ---- */

#define USER_ACTIVE 1u
#define USER_STAFF 2u
#define USER_SUPERUSER 4u

sa_status sa_record_user_encode(const sa_user *user, sa_record *out, sa_error *err)
{
    long username = bounded_len(user->username, SA_USERNAME_MAX);
    long email = bounded_len(user->email, SA_EMAIL_MAX);
    long first = bounded_len(user->first_name, SA_NAME_MAX);
    long last = bounded_len(user->last_name, SA_NAME_MAX);
    long sub = bounded_len(user->google_sub, SA_SUB_MAX);
    long extra = user->google_extra ? bounded_len(user->google_extra, SA_RECORD_EXTRA_MAX) : 0;
    long password = bounded_len(user->password, SA_PASSWORD_MAX);
    rec_writer w;
    sa_status st;

    const struct { const char *name, *value; long len; size_t chars; } text[] = {
        {"username", user->username, username, SA_USERNAME_CHARS},
        {"email", user->email, email, SA_EMAIL_CHARS},
        {"first_name", user->first_name, first, SA_NAME_CHARS},
        {"last_name", user->last_name, last, SA_NAME_CHARS},
    };
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        if (text[i].len < 0)
            return SA_FAIL(err, SA_ERR_INVALID, "%s is longer than %zu characters", text[i].name,
                           text[i].chars);
        /* Security: the store holds only text that every answer can carry (issue 9.2). */
        if (sa_text_check(text[i].value, (size_t)text[i].len) != SA_TEXT_OK)
            return SA_FAIL(err, SA_ERR_INVALID, "%s is not valid UTF-8", text[i].name);
        if (sa_text_chars(text[i].value, (size_t)text[i].len) > text[i].chars)
            return SA_FAIL(err, SA_ERR_INVALID, "%s is longer than %zu characters", text[i].name,
                           text[i].chars);
    }
    if (sub < 0)
        return SA_FAIL(err, SA_ERR_INVALID, "google_sub is longer than %d bytes", SA_SUB_MAX);
    if (extra < 0)
        return SA_FAIL(err, SA_ERR_INVALID, "google_extra is longer than %d bytes",
                       SA_RECORD_EXTRA_MAX);
    if (password < 0)
        return SA_FAIL(err, SA_ERR_INVALID, "password is longer than %d bytes",
                       SA_PASSWORD_MAX);

    st = writer_init(&w, SA_RECORD_USER,
                     STR_STORAGE(username) + STR_STORAGE(email) + STR_STORAGE(first) +
                         STR_STORAGE(last) + 1 + 2 * SA_RECORD_I64_SIZE + STR_STORAGE(sub) +
                         STR_STORAGE(extra) + (password ? STR_STORAGE(password) : 0),
                     err);
    if (st != SA_OK)
        return st;
    if (password)
        w.p[0] = SA_RECORD_VERSION_PASSWORD;
    writer_str(&w, user->username, (size_t)username);
    writer_str(&w, user->email, (size_t)email);
    writer_str(&w, user->first_name, (size_t)first);
    writer_str(&w, user->last_name, (size_t)last);
    writer_u8(&w, (unsigned char)((user->is_active ? USER_ACTIVE : 0) |
                                  (user->is_staff ? USER_STAFF : 0) |
                                  (user->is_superuser ? USER_SUPERUSER : 0)));
    writer_i64(&w, user->date_joined);
    writer_i64(&w, user->last_login);
    writer_str(&w, user->google_sub, (size_t)sub);
    writer_str(&w, user->google_extra, (size_t)extra);
    if (password)
        writer_str(&w, user->password, (size_t)password);
    writer_finish(&w, out);
    return SA_OK;
}

sa_status sa_record_user_decode(const void *key, size_t key_len, const void *data, size_t len,
                                sa_user *out, sa_error *err)
{
    rec_reader r;
    const unsigned char *username, *email, *first, *last, *sub, *extra, *password = NULL;
    size_t username_n, email_n, first_n, last_n, sub_n, extra_n, password_n = 0;
    unsigned char flags;
    int64_t joined, login;

    if (key_len > SA_ID_MAX)
        return SA_FAIL(err, SA_ERR_INVALID, "store: user id longer than %d bytes", SA_ID_MAX);
    if (key_len && memchr(key, '\0', key_len))
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: corrupt user key");
    if (!reader_open(&r, data, len, SA_RECORD_USER) ||
        !reader_str(&r, &username, &username_n, SA_USERNAME_MAX) ||
        !reader_str(&r, &email, &email_n, SA_EMAIL_MAX) ||
        !reader_str(&r, &first, &first_n, SA_NAME_MAX) ||
        !reader_str(&r, &last, &last_n, SA_NAME_MAX) || !reader_u8(&r, &flags) ||
        !reader_i64(&r, &joined, NULL) || !reader_i64(&r, &login, NULL) ||
        !reader_str(&r, &sub, &sub_n, SA_SUB_MAX) ||
        !reader_str(&r, &extra, &extra_n, SA_RECORD_EXTRA_MAX) ||
        (((const unsigned char *)data)[0] == SA_RECORD_VERSION_PASSWORD &&
         (!reader_str(&r, &password, &password_n, SA_PASSWORD_MAX) || password_n == 0)) ||
        r.left != 0 || (flags & ~(USER_ACTIVE | USER_STAFF | USER_SUPERUSER)) != 0) {
        /* Name the record, so that the admin command can say which user it could not read. */
        sa_status st = bad_record(data, len, SA_RECORD_USER, err);
        if (err) {
            char why[sizeof err->msg];
            memcpy(why, err->msg, sizeof why);
            SA_FAIL(err, st, "store: user %.*s: %s", (int)key_len, (const char *)key,
                    why + strlen("store: "));
        }
        return st;
    }

    char *extra_copy = NULL;
    if (extra_n) {
        extra_copy = malloc(extra_n + 1);
        if (!extra_copy)
            return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: out of memory decoding a user");
        copy_field(extra_copy, extra, extra_n);
    }
    memset(out, 0, sizeof *out);
    copy_field(out->id, key, key_len);
    copy_field(out->username, username, username_n);
    copy_field(out->email, email, email_n);
    copy_field(out->first_name, first, first_n);
    copy_field(out->last_name, last, last_n);
    out->is_active = (flags & USER_ACTIVE) != 0;
    out->is_staff = (flags & USER_STAFF) != 0;
    out->is_superuser = (flags & USER_SUPERUSER) != 0;
    out->date_joined = joined;
    out->last_login = login;
    copy_field(out->google_sub, sub, sub_n);
    out->google_extra = extra_copy;
    if (password)
        copy_field(out->password, password, password_n);
    return SA_OK;
}

/* ---- sessions ---- */

#define SESSION_REVOKED 1u

sa_status sa_record_session_encode(const sa_session *s, sa_record *out, sa_error *err)
{
    long user_id = bounded_len(s->user_id, SA_ID_MAX);
    long current = bounded_len(s->current_jti, SA_RECORD_JTI_MAX);
    long previous = bounded_len(s->previous_jti, SA_RECORD_JTI_MAX);
    rec_writer w;
    sa_status st;

    if (user_id < 0)
        return SA_FAIL(err, SA_ERR_INVALID, "user_id is longer than %d bytes", SA_ID_MAX);
    if (current < 0)
        return SA_FAIL(err, SA_ERR_INVALID, "current_jti is longer than %d bytes",
                       SA_RECORD_JTI_MAX);
    if (previous < 0)
        return SA_FAIL(err, SA_ERR_INVALID, "previous_jti is longer than %d bytes",
                       SA_RECORD_JTI_MAX);
    st = writer_init(&w, SA_RECORD_SESSION,
                     STR_STORAGE(user_id) + STR_STORAGE(current) + STR_STORAGE(previous) +
                         5 * SA_RECORD_I64_SIZE + 1,
                     err);
    if (st != SA_OK)
        return st;
    writer_str(&w, s->user_id, (size_t)user_id);
    writer_str(&w, s->current_jti, (size_t)current);
    writer_str(&w, s->previous_jti, (size_t)previous);
    writer_i64(&w, s->created_at);
    writer_i64(&w, s->replaced_at);
    writer_i64(&w, s->current_iat);
    writer_i64(&w, s->current_exp);
    writer_i64(&w, s->expires_at);
    writer_u8(&w, s->revoked ? SESSION_REVOKED : 0);
    writer_finish(&w, out);
    return SA_OK;
}

sa_status sa_record_session_decode(const void *key, size_t key_len, const void *data,
                                   size_t len, sa_session *out, sa_error *err)
{
    rec_reader r;
    const unsigned char *user_id, *current, *previous;
    size_t user_id_n, current_n, previous_n;
    int64_t created, replaced, iat, exp, expires;
    unsigned char flags;

    if (key_len > SA_RECORD_SID_MAX)
        return SA_FAIL(err, SA_ERR_INVALID, "store: session id longer than %d bytes",
                       SA_RECORD_SID_MAX);
    if (key_len && memchr(key, '\0', key_len))
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: corrupt session key");
    if (!reader_open(&r, data, len, SA_RECORD_SESSION) ||
        !reader_str(&r, &user_id, &user_id_n, SA_ID_MAX) ||
        !reader_str(&r, &current, &current_n, SA_RECORD_JTI_MAX) ||
        !reader_str(&r, &previous, &previous_n, SA_RECORD_JTI_MAX) ||
        !reader_i64(&r, &created, NULL) || !reader_i64(&r, &replaced, NULL) ||
        !reader_i64(&r, &iat, NULL) || !reader_i64(&r, &exp, NULL) ||
        !reader_i64(&r, &expires, NULL) || !reader_u8(&r, &flags) || r.left != 0 ||
        (flags & ~SESSION_REVOKED) != 0)
        return bad_record(data, len, SA_RECORD_SESSION, err);

    memset(out, 0, sizeof *out);
    copy_field(out->sid, key, key_len);
    copy_field(out->user_id, user_id, user_id_n);
    copy_field(out->current_jti, current, current_n);
    copy_field(out->previous_jti, previous, previous_n);
    out->created_at = created;
    out->replaced_at = replaced;
    out->current_iat = iat;
    out->current_exp = exp;
    out->expires_at = expires;
    out->revoked = (flags & SESSION_REVOKED) != 0;
    return SA_OK;
}

/* ---- Google keys ---- */

sa_status sa_record_keys_encode(const sa_google_keys *keys, sa_record *out, sa_error *err)
{
    long jwks = keys->jwks_json ? bounded_len(keys->jwks_json, SA_RECORD_JWKS_MAX) : 0;
    rec_writer w;
    sa_status st;

    if (jwks < 0)
        return SA_FAIL(err, SA_ERR_INVALID, "jwks_json is longer than %d bytes",
                       SA_RECORD_JWKS_MAX);
    st = writer_init(&w, SA_RECORD_KEYS, STR_STORAGE(jwks) + 3 * SA_RECORD_I64_SIZE, err);
    if (st != SA_OK)
        return st;
    writer_str(&w, keys->jwks_json, (size_t)jwks);
    writer_i64(&w, keys->fetched_at);
    writer_i64(&w, keys->expires_at);
    writer_i64(&w, keys->forced_at);
    writer_finish(&w, out);
    return SA_OK;
}

sa_status sa_record_keys_decode(const void *data, size_t len, sa_google_keys *out,
                                sa_error *err)
{
    rec_reader r;
    const unsigned char *jwks;
    size_t jwks_n;
    int64_t fetched, expires, forced;

    if (!reader_open(&r, data, len, SA_RECORD_KEYS) ||
        !reader_str(&r, &jwks, &jwks_n, SA_RECORD_JWKS_MAX) ||
        !reader_i64(&r, &fetched, NULL) || !reader_i64(&r, &expires, NULL) ||
        !reader_i64(&r, &forced, NULL) || r.left != 0)
        return bad_record(data, len, SA_RECORD_KEYS, err);

    char *copy = NULL;
    if (jwks_n) {
        copy = malloc(jwks_n + 1);
        if (!copy)
            return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: out of memory decoding Google keys");
        copy_field(copy, jwks, jwks_n);
    }
    out->jwks_json = copy;
    out->fetched_at = fetched;
    out->expires_at = expires;
    out->forced_at = forced;
    return SA_OK;
}

/* ---- jtis of refresh tokens without sid ---- */

#define JTI_REVOKED 1u

sa_status sa_record_jti_encode(const sa_jti_record *jti, sa_record *out, sa_error *err)
{
    long sid = bounded_len(jti->sid, SA_RECORD_SID_MAX);
    rec_writer w;
    sa_status st;

    if (sid < 0)
        return SA_FAIL(err, SA_ERR_INVALID, "sid is longer than %d bytes", SA_RECORD_SID_MAX);
    st = writer_init(&w, SA_RECORD_JTI, STR_STORAGE(sid) + SA_RECORD_I64_SIZE + 1, err);
    if (st != SA_OK)
        return st;
    writer_str(&w, jti->sid, (size_t)sid);
    writer_i64(&w, jti->expires_at);
    writer_u8(&w, jti->revoked ? JTI_REVOKED : 0);
    writer_finish(&w, out);
    return SA_OK;
}

sa_status sa_record_jti_decode(const void *data, size_t len, sa_jti_record *out, sa_error *err)
{
    rec_reader r;
    const unsigned char *sid;
    size_t sid_n;
    int64_t expires;
    unsigned char flags;

    if (!reader_open(&r, data, len, SA_RECORD_JTI) ||
        !reader_str(&r, &sid, &sid_n, SA_RECORD_SID_MAX) || !reader_i64(&r, &expires, NULL) ||
        !reader_u8(&r, &flags) || r.left != 0)
        return bad_record(data, len, SA_RECORD_JTI, err);
    memset(out, 0, sizeof *out);
    copy_field(out->sid, sid, sid_n);
    out->expires_at = expires;
    out->revoked = (flags & JTI_REVOKED) != 0;
    return SA_OK;
}

/* ---- not-before times ---- */

void sa_record_not_before_encode(int64_t not_before, unsigned char out[SA_RECORD_NOT_BEFORE_SIZE])
{
    out[0] = SA_RECORD_VERSION;
    out[1] = SA_RECORD_NOT_BEFORE;
    sa_record_i64_put(out + 2, not_before);
}

sa_status sa_record_not_before_decode(const void *data, size_t len, int64_t *out,
                                      sa_error *err)
{
    rec_reader r;
    if (!reader_open(&r, data, len, SA_RECORD_NOT_BEFORE) || !reader_i64(&r, out, NULL) ||
        r.left != 0)
        return bad_record(data, len, SA_RECORD_NOT_BEFORE, err);
    return SA_OK;
}

/* ---- metadata ---- */

void sa_record_meta_encode(unsigned char out[2])
{
    out[0] = SA_RECORD_VERSION;
    out[1] = SA_RECORD_META;
}

sa_status sa_record_meta_check(const void *data, size_t len, sa_error *err)
{
    rec_reader r;
    if (!reader_open(&r, data, len, SA_RECORD_META) || r.left != 0)
        return bad_record(data, len, SA_RECORD_META, err);
    return SA_OK;
}

/* ---- index fields ---- */

bool sa_record_field_get(const void *data, size_t len, sa_record_field field,
                         const unsigned char **value, size_t *value_len)
{
    rec_reader r;
    const unsigned char *s;
    size_t n;
    unsigned char flags;

    switch (field) {
    case SA_FIELD_USERNAME:
    case SA_FIELD_EMAIL:
    case SA_FIELD_GOOGLE_SUB:
        if (!reader_open(&r, data, len, SA_RECORD_USER) ||
            !reader_str(&r, value, value_len, SA_USERNAME_MAX))
            return false;
        if (field == SA_FIELD_USERNAME)
            return true;
        if (!reader_str(&r, value, value_len, SA_EMAIL_MAX))
            return false;
        if (field == SA_FIELD_EMAIL)
            return true;
        return reader_str(&r, &s, &n, SA_NAME_MAX) && reader_str(&r, &s, &n, SA_NAME_MAX) &&
               reader_u8(&r, &flags) && reader_i64(&r, NULL, NULL) &&
               reader_i64(&r, NULL, NULL) && reader_str(&r, value, value_len, SA_SUB_MAX);
    case SA_FIELD_SESSION_USER_ID:
        return reader_open(&r, data, len, SA_RECORD_SESSION) &&
               reader_str(&r, value, value_len, SA_ID_MAX);
    case SA_FIELD_SESSION_CURRENT_IAT:
    case SA_FIELD_SESSION_EXPIRES_AT:
        if (!reader_open(&r, data, len, SA_RECORD_SESSION) ||
            !reader_str(&r, &s, &n, SA_ID_MAX) ||
            !reader_str(&r, &s, &n, SA_RECORD_JTI_MAX) ||
            !reader_str(&r, &s, &n, SA_RECORD_JTI_MAX))
            return false;
        *value_len = SA_RECORD_I64_SIZE;
        /* created_at, replaced_at, current_iat, current_exp, then expires_at */
        for (int i = 0; i < 4; i++) {
            bool wanted = i == 2 && field == SA_FIELD_SESSION_CURRENT_IAT;
            if (!reader_i64(&r, NULL, wanted ? value : NULL))
                return false;
            if (wanted)
                return true;
        }
        return reader_i64(&r, NULL, value);
    case SA_FIELD_JTI_EXPIRES_AT:
        if (!reader_open(&r, data, len, SA_RECORD_JTI) ||
            !reader_str(&r, &s, &n, SA_RECORD_SID_MAX))
            return false;
        *value_len = SA_RECORD_I64_SIZE;
        return reader_i64(&r, NULL, value);
    }
    return false;
}

/* Contract: frees google_extra and sets it to NULL; user may be NULL. */
void sa_user_clear(sa_user *user)
{
    if (!user)
        return;
    free(user->google_extra);
    user->google_extra = NULL;
}
