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

#include "sa_error.h"

/* Parse exactly len bytes as one JSON value. On failure returns SA_ERR_INVALID with a short
 * human reason in err->msg (used in DRF's "JSON parse error - <reason>"). *out is a new
 * reference the caller must json_object_put. Depth is bounded (64). */
sa_status sa_json_parse(const char *text, size_t len, json_object **out, sa_error *err);

/* Typed getters. Each returns SA_OK, SA_ERR_NOT_FOUND (key absent) or SA_ERR_INVALID (present
 * with another type; JSON null counts as present-and-null: see sa_json_is_null). */
sa_status sa_json_get_string(json_object *obj, const char *key, const char **out, size_t *len);
sa_status sa_json_get_int64(json_object *obj, const char *key, int64_t *out); /* integers only */
sa_status sa_json_get_bool(json_object *obj, const char *key, bool *out);     /* true/false only */
bool sa_json_is_null(json_object *obj, const char *key); /* key present with value null */

/* Compact serialisation with '/' unescaped, as Python's json.dumps(separators=(",", ":"),
 * ensure_ascii=False). The returned string belongs to obj. */
const char *sa_json_compact(json_object *obj, size_t *len);

#endif
