/* json.h: strict JSON input and compact JSON output on top of json-c.
 *
 * Security: json-c silently keeps the last of duplicate keys, reads "false" as true through
 * json_object_get_boolean, and reads strings as numbers. Everything we accept from the
 * outside goes through sa_json_parse (which rejects duplicate keys at any depth and trailing
 * garbage), and values are read only through the typed getters below, which check the type. */
#ifndef SA_JSON_H
#define SA_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "core/sa_error.h"

/* Parse exactly len bytes as one JSON value. On failure returns SA_ERR_INVALID with a short
 * human reason in err->msg (used in DRF's "JSON parse error - <reason>"). *out is a new
 * reference the caller must json_object_put. Depth is bounded (64).
 *
 * Reasons copy Python's json module ("Expecting value: line 1 column 1 (char 0)", "Extra
 * data: ...", "Expecting ',' delimiter: ...", "Unterminated string starting at: ..."), plus
 * our own refusals in the same shape: "Duplicate key \"x\": ...", "Nesting too deep: ...",
 * "Integer out of range: ...", "Invalid UTF-8 at: ...", "Invalid \uXXXX escape: ..." (lone
 * surrogates), "Invalid \u0000 in property name: ...", and NaN/Infinity as DRF words it.
 * Only RFC 8259 JSON is accepted; any integer must fit int64 (a double may be anything).
 * Other returns: SA_ERR_NOMEM, SA_ERR_TOO_LARGE (len >= INT_MAX). On any failure *out is
 * NULL. On success *out is NULL when the text is `null` (json-c's representation). */
sa_status sa_json_parse(const char *text, size_t len, json_object **out, sa_error *err);

/* Typed getters. Each returns SA_OK, SA_ERR_NOT_FOUND (key absent) or SA_ERR_INVALID (present
 * with another type; JSON null counts as present-and-null: see sa_json_is_null). obj that is
 * not an object (or NULL) gives SA_ERR_INVALID. out and len may be NULL.
 * Security: sa_json_get_string also gives SA_ERR_INVALID for a string containing "\u0000",
 * so the returned C string is always the whole value (*len == strlen(*out)). */
sa_status sa_json_get_string(json_object *obj, const char *key, const char **out, size_t *len);
sa_status sa_json_get_int64(json_object *obj, const char *key, int64_t *out); /* integers only */
sa_status sa_json_get_bool(json_object *obj, const char *key, bool *out);     /* true/false only */
bool sa_json_is_null(json_object *obj, const char *key); /* key present with value null */

/* Compact serialisation with '/' unescaped, as Python's json.dumps(separators=(",", ":"),
 * ensure_ascii=False). The returned string belongs to obj. */
const char *sa_json_compact(json_object *obj, size_t *len);

/* True when s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or > U+10FFFF). */
bool sa_json_utf8_valid(const char *s, size_t len);

/* Append s (len bytes) as a quoted JSON string at buf[*pos], NUL-terminate, and advance *pos
 * past the closing quote. Escapes as Python's json.dumps: with ensure_ascii false exactly as
 * sa_json_compact does; with ensure_ascii true also DEL and every non-ASCII character as
 * lower-case \uXXXX (surrogate pairs above U+FFFF), which is what PyJWT writes in tokens.
 * Returns SA_OK, SA_ERR_INVALID (s is not valid UTF-8) or SA_ERR_TOO_LARGE (buf too small;
 * *pos unchanged, buf contents past *pos unspecified). */
sa_status sa_json_append_string(char *buf, size_t size, size_t *pos, const char *s, size_t len,
                                bool ensure_ascii);

#endif
