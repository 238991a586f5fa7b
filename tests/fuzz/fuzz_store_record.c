/* fuzz_store_record.c: libFuzzer target for the store's record decoder (store_record.h).
 *
 * A record read back from disk may be anything (a torn page, a bit flip, a newer program's
 * format): decoding must give SA_OK or an error, never a crash, and what decodes must encode
 * back to the very same bytes (one spelling per record). The first input byte picks the
 * record kind ('U' user, 'S' session, 'K' keys, 'M' meta, 'F' the index field reader); for the
 * user and session kinds the second byte is the key's length, taken from the bytes after it.
 * Build: `make fuzz` (see the Makefile); replay: `make test`. */
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "store/store_record.h"
#include "core/text.h"

/* Whether the encoder's text rules (valid UTF-8 within SA_*_CHARS) hold for u's text. */
static int user_text_writable(const sa_user *u)
{
    const struct { const char *value; size_t chars; } text[] = {
        {u->username, SA_USERNAME_CHARS}, {u->email, SA_EMAIL_CHARS},
        {u->first_name, SA_NAME_CHARS}, {u->last_name, SA_NAME_CHARS},
    };
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        size_t len = strlen(text[i].value);
        if (sa_text_check(text[i].value, len) != SA_TEXT_OK ||
            sa_text_chars(text[i].value, len) > text[i].chars)
            return 0;
    }
    return 1;
}

static void fuzz_user(const uint8_t *key, size_t key_len, const uint8_t *data, size_t size)
{
    sa_user u;
    sa_error err = {0};
    memset(&u, 0, sizeof u);
    sa_status st = sa_record_user_decode(key, key_len, data, size, &u, &err);
    if (st != SA_OK) {
        CHECK(err.msg[0] != '\0');
        CHECK(st == SA_ERR_UNAVAILABLE || st == SA_ERR_INVALID);
        return;
    }
    CHECK(strlen(u.id) == key_len && memcmp(u.id, key, key_len) == 0);
    sa_record rec = {0};
    st = sa_record_user_encode(&u, &rec, &err);
    if (st != SA_OK) {
        /* Text an older version stored unchecked decodes (store_verify reports it, `socialauth
         * user update` repairs it), but the encoder refuses to write it again (issue 9.2):
         * the only refusal allowed here. */
        CHECK(st == SA_ERR_INVALID && !user_text_writable(&u));
        sa_user_clear(&u);
        return;
    }
    CHECK(rec.len == size && memcmp(rec.data, data, size) == 0);
    sa_record_free(&rec);
    sa_user_clear(&u);
}

static void fuzz_session(const uint8_t *key, size_t key_len, const uint8_t *data, size_t size)
{
    sa_session s;
    sa_error err = {0};
    memset(&s, 0, sizeof s);
    sa_status st = sa_record_session_decode(key, key_len, data, size, &s, &err);
    if (st != SA_OK) {
        CHECK(err.msg[0] != '\0');
        return;
    }
    CHECK(strlen(s.sid) == key_len && memcmp(s.sid, key, key_len) == 0);
    sa_record rec = {0};
    CHECK(sa_record_session_encode(&s, &rec, &err) == SA_OK);
    CHECK(rec.len == size && memcmp(rec.data, data, size) == 0);
    sa_record_free(&rec);
}

static void fuzz_keys(const uint8_t *data, size_t size)
{
    sa_google_keys k;
    sa_error err = {0};
    memset(&k, 0, sizeof k);
    if (sa_record_keys_decode(data, size, &k, &err) != SA_OK) {
        CHECK(err.msg[0] != '\0');
        return;
    }
    sa_record rec = {0};
    CHECK(sa_record_keys_encode(&k, &rec, &err) == SA_OK);
    CHECK(rec.len == size && memcmp(rec.data, data, size) == 0);
    sa_record_free(&rec);
    sa_google_keys_clear(&k);
}

static void fuzz_fields(const uint8_t *data, size_t size)
{
    static const sa_record_field fields[] = {SA_FIELD_USERNAME, SA_FIELD_EMAIL,
                                             SA_FIELD_GOOGLE_SUB, SA_FIELD_SESSION_USER_ID,
                                             SA_FIELD_SESSION_EXPIRES_AT};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const unsigned char *v = NULL;
        size_t n = 0;
        if (sa_record_field_get(data, size, fields[i], &v, &n)) {
            /* The value lies inside the record. */
            CHECK(v >= data && n <= size && (size_t)(v - data) <= size - n);
            volatile unsigned char sink = n ? v[n - 1] : 0;
            (void)sink;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t kind = data[0];
    data++;
    size--;
    if (kind == 'U' || kind == 'S') {
        if (size < 1)
            return 0;
        size_t key_len = data[0];
        if (key_len > size - 1)
            key_len = size - 1;
        const uint8_t *key = data + 1;
        if (kind == 'U')
            fuzz_user(key, key_len, key + key_len, size - 1 - key_len);
        else
            fuzz_session(key, key_len, key + key_len, size - 1 - key_len);
    } else if (kind == 'K') {
        fuzz_keys(data, size);
    } else if (kind == 'M') {
        sa_error err = {0};
        if (sa_record_meta_check(data, size, &err) == SA_OK) {
            unsigned char meta[2];
            sa_record_meta_encode(meta);
            CHECK(size == 2 && memcmp(meta, data, 2) == 0);
        }
    } else {
        fuzz_fields(data, size);
    }
    return 0;
}
