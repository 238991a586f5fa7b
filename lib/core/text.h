/* text.h: the Unicode this project needs, on GNU libunistring (uninorm, unictype, unicase,
 * unistr): validity, character counting and cutting, NFKC/NFKD, Python's `\w`, case folding.
 *
 * Every string from outside is UTF-8 checked by sa_text_check() once, where it enters (body.c,
 * multipart.c, http.c); the functions below that take "valid UTF-8" rely on that. Lengths are
 * in bytes unless a name says chars; a character is a Unicode code point (what Python's len()
 * and Django's max_length count). */
#ifndef SA_TEXT_H
#define SA_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sa_error.h"

/* At most this many characters of a client's text are echoed in a message (e.g. the media
 * type of a 415, an invalid choice), cut with sa_text_copy_cut. */
#define SA_ECHO_CHARS 200

/* DRF's message for a string holding U+0000 (ProhibitNullCharactersValidator). */
#define SA_TEXT_NUL_MESSAGE "Null characters are not allowed."

typedef enum sa_text_fault {
    SA_TEXT_OK = 0,
    SA_TEXT_NOT_UTF8,   /* ill-formed UTF-8: stray or truncated bytes, overlong forms,
                           surrogates (U+D800..U+DFFF), anything above U+10FFFF */
    SA_TEXT_NUL         /* well-formed, but holds U+0000 */
} sa_text_fault;

/* Whether s[0..len) is text we accept from outside (RFC 3629 UTF-8 via u8_check, no NUL).
 * Ill-formed UTF-8 is reported before a NUL. */
sa_text_fault sa_text_check(const char *s, size_t len);

/* Characters (code points) in valid UTF-8 s[0..len). */
size_t sa_text_chars(const char *s, size_t len);

/* Bytes of the longest prefix of s[0..len) that holds at most max_chars characters and is
 * valid UTF-8 (it ends before the first ill-formed sequence). Use it wherever client text is
 * echoed in a message, so that a cut never splits a character. */
size_t sa_text_cut(const char *s, size_t len, size_t max_chars);

/* Copy at most max_chars characters of s (NUL-terminated, cut as sa_text_cut) into out
 * (size >= 1 bytes; also bounded by size - 1 bytes, again at a character boundary) and
 * NUL-terminate. Returns the bytes written. */
size_t sa_text_copy_cut(char *out, size_t size, const char *s, size_t max_chars);

/* Unicode normalisation of valid UTF-8 s[0..len) into out (size bytes, NUL-terminated), as
 * Python's unicodedata.normalize("NFKC" / "NFKD"). *out_len gets the bytes written (NUL not
 * counted). Returns SA_OK; SA_ERR_INVALID (s is not valid UTF-8); SA_ERR_TOO_LARGE (the
 * result needs more than size - 1 bytes; out unspecified); SA_ERR_NOMEM. */
sa_status sa_text_nfkc(const char *s, size_t len, char *out, size_t size, size_t *out_len,
                       sa_error *err);
sa_status sa_text_nfkd(const char *s, size_t len, char *out, size_t size, size_t *out_len,
                       sa_error *err);

/* Python 3's `\w` for str patterns: c.isalnum() or c == '_', where isalnum() is isalpha()
 * (general categories Lu Ll Lt Lm Lo) or isdecimal/isdigit/isnumeric (a numeric value in
 * the Unicode Character Database: Nd, Nl, No and the ideographs with one). Django's
 * UnicodeUsernameValidator is `^[\w.@+-]+\Z`. */
bool sa_text_is_word(uint32_t cp);

/* Whether every character of valid UTF-8 s[0..len) is `\w` or one of the ASCII bytes in
 * extra (a NUL-terminated list, e.g. "@.+-"). True for the empty string. */
bool sa_text_all_word(const char *s, size_t len, const char *extra);

/* Caseless-match key of valid UTF-8 s[0..len): full Unicode case folding then NFKC
 * (u8_casefold with UNINORM_NFKC; Unicode's compatibility caseless match, D146): "ALICE",
 * "Alice" and "alice" give "alice", "STRASSE" and "straße" give "strasse". *out is
 * malloc'd, NUL-terminated, *out_len bytes (NUL not counted); the caller frees it.
 * Returns SA_OK; SA_ERR_INVALID (not valid UTF-8); SA_ERR_NOMEM. */
sa_status sa_text_casefold(const char *s, size_t len, char **out, size_t *out_len,
                           sa_error *err);

/* allauth's ASCII folding (utils._generate_unique_username_base): NFKD of valid UTF-8 s,
 * then every non-ASCII character dropped: "Nguyễn" -> "Nguyen", "Ștefan" -> "Stefan",
 * full-width "Ｊｏｈｎ" -> "John", "Иван" -> "". Writes at most size - 1 bytes and a NUL into
 * out (size >= 1); returns the bytes written (0 also when s is not valid UTF-8). */
size_t sa_text_ascii_fold(const char *s, char *out, size_t size);

#endif
