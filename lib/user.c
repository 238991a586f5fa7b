/* user.c: user representation and username rules (see user.h). */
#include "user.h"

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

/* Length of the valid UTF-8 multi-byte sequence at s, or 0. */
static size_t utf8_seq(const unsigned char *s)
{
    size_t n;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef) n = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) n = 4;
    else return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

static bool ascii_allowed(unsigned char c)
{
    return isalnum(c) || c == '@' || c == '.' || c == '+' || c == '-' || c == '_';
}

bool sa_username_valid(const char *username)
{
    const unsigned char *s = (const unsigned char *)username;
    size_t chars = 0;
    while (*s) {
        if (*s < 0x80) {
            if (!ascii_allowed(*s))
                return false;
            s++;
        } else {
            size_t n = utf8_seq(s);
            if (n == 0)
                return false;
            s += n;
        }
        chars++;
    }
    return chars >= 1 && chars <= 150;
}

/* ASCII base letter of a Latin-1 Supplement or Latin Extended-A letter (U+00C0..U+017F),
 * or 0 when there is none. */
static char fold_latin(unsigned cp)
{
    static const char latin1[] = /* U+00C0 .. U+00FF */
        "AAAAAAACEEEEIIII" "DNOOOOO\0OUUUUYTs" "aaaaaaaceeeeiiii" "dnooooo\0ouuuuyty";
    if (cp >= 0xc0 && cp <= 0xff)
        return latin1[cp - 0xc0];
    if (cp >= 0x100 && cp <= 0x17f) {
        static const char ext[] = /* U+0100 .. U+017F, pairs upper/lower */
            "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiJjJjKkkLlLlLlLlLlNnNnNnnNnOoOoOoOo"
            "RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";
        size_t i = cp - 0x100;
        return i < sizeof ext - 1 ? ext[i] : 0;
    }
    return 0;
}

/* Fold src into out as lower-case [a-z0-9@.+-_]; returns the length written. */
static size_t fold(const char *src, char *out, size_t size)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;
    while (*s && o + 1 < size) {
        unsigned char c = *s;
        if (c < 0x80) {
            if (ascii_allowed(c))
                out[o++] = (char)tolower(c);
            s++;
            continue;
        }
        size_t n = utf8_seq(s);
        if (n == 0) {
            s++;
            continue;
        }
        if (n == 2) {
            unsigned cp = ((unsigned)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
            char base = fold_latin(cp);
            if (cp == 0xdf && o + 2 < size) { /* German sharp s */
                out[o++] = 's';
                out[o++] = 's';
            } else if (base) {
                out[o++] = (char)tolower((unsigned char)base);
            }
        }
        s += n;
    }
    out[o] = '\0';
    return o;
}

void sa_username_from_profile(const char *given, const char *family, const char *email, char *out,
                              size_t size)
{
    /* allauth keeps generated usernames short; 30 leaves room for the unique suffix. */
    size_t cap = size < 31 ? size : 31;
    char local[SA_EMAIL_MAX + 1] = "";
    if (email) {
        size_t n = strcspn(email, "@");
        if (n >= sizeof local)
            n = sizeof local - 1;
        memcpy(local, email, n);
        local[n] = '\0';
    }
    const char *candidates[] = {given, family, local};
    for (size_t i = 0; i < 3; i++)
        if (candidates[i] && fold(candidates[i], out, cap) > 0)
            return;
    fold("user", out, cap);
}
