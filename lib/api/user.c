/* user.c: user representation and username rules (see user.h). */
#include "api/user.h"
#include "core/text.h"

#include <ctype.h>
#include <string.h>

void sa_user_fields(sa_jw *w, const sa_user *u)
{
    sa_jw_member(w, "pk", u->id);
    sa_jw_member(w, "userId", u->id);
    sa_jw_member(w, "username", u->username);
    sa_jw_member(w, "email", u->email);
    sa_jw_member(w, "first_name", u->first_name);
    sa_jw_member(w, "last_name", u->last_name);
}

void sa_user_write(sa_jw *w, const sa_user *u)
{
    sa_jw_object(w);
    sa_user_fields(w, u);
    sa_jw_end(w);
}

bool sa_username_valid(const char *username)
{
    size_t len = strlen(username);
    if (sa_text_check(username, len) != SA_TEXT_OK)
        return false;
    size_t chars = sa_text_chars(username, len);
    return chars >= 1 && chars <= SA_USERNAME_CHARS && sa_text_all_word(username, len, "@.+-");
}

size_t sa_username_check(const char *in, size_t len, char out[SA_USERNAME_MAX + 1],
                         const char *msgs[2])
{
    size_t n = 0, out_len = 0;
    sa_status st = sa_text_nfkc(in, len, out, SA_USERNAME_MAX + 1, &out_len, NULL);
    /* More than 4 * 150 bytes after NFKC is more than 150 characters. */
    bool too_long = st == SA_ERR_TOO_LARGE ||
                    (st == SA_OK && sa_text_chars(out, out_len) > SA_USERNAME_CHARS);
    const char *checked = st == SA_OK ? out : in;
    size_t checked_len = st == SA_OK ? out_len : len;
    if (st == SA_ERR_INVALID || st == SA_ERR_NOMEM || checked_len == 0 ||
        !sa_text_all_word(checked, checked_len, "@.+-"))
        msgs[n++] = SA_USERNAME_INVALID_MESSAGE;
    if (too_long)
        msgs[n++] = SA_MAX_150_MESSAGE;
    if (n)
        out[0] = '\0';
    return n;
}

const char *sa_user_bad_text(const sa_user *u)
{
    const struct { const char *name, *value; } fields[] = {
        {"username", u->username}, {"email", u->email},
        {"first_name", u->first_name}, {"last_name", u->last_name},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (sa_text_check(fields[i].value, strlen(fields[i].value)) != SA_TEXT_OK)
            return fields[i].name;
    return NULL;
}

/* Python's str.isspace() within ASCII. */
static bool ascii_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* allauth's folding of one source (see user.h) into out (size bytes); returns the length. */
static size_t fold(const char *src, char *out, size_t size)
{
    char ascii[4 * SA_USERNAME_MAX + 1], kept[sizeof ascii];
    size_t n = sa_text_ascii_fold(src, ascii, sizeof ascii), k = 0, o = 0;
    /* re.sub(r"[^\w\s@+.-]", "", ...).lower(), then .split("@")[0] */
    for (size_t i = 0; i < n && ascii[i] != '@'; i++) {
        unsigned char c = (unsigned char)ascii[i];
        if (isalnum(c) || c == '_' || c == '+' || c == '.' || c == '-' || ascii_space((char)c))
            kept[k++] = (char)tolower(c);
    }
    /* .strip(), then re.sub(r"\s+", "_", ...) */
    size_t start = 0, end = k;
    while (start < end && ascii_space(kept[start]))
        start++;
    while (end > start && ascii_space(kept[end - 1]))
        end--;
    for (size_t i = start; i < end && o + 1 < size; i++) {
        if (!ascii_space(kept[i]))
            out[o++] = kept[i];
        else if (!ascii_space(kept[i - 1]))
            out[o++] = '_';
    }
    out[o] = '\0';
    return o;
}

void sa_username_from_profile(const char *given, const char *family, const char *email, char *out,
                              size_t size)
{
    /* allauth keeps generated usernames short; 30 leaves room for the unique suffix. */
    size_t cap = size < 31 ? size : 31;
    const char *candidates[] = {given, family, email};
    for (size_t i = 0; i < 3; i++)
        if (candidates[i] && fold(candidates[i], out, cap) > 0 && sa_username_valid(out))
            return;
    fold("user", out, cap);
}
