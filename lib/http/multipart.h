/* multipart.h: multipart/form-data bodies of plain fields (RFC 7578 on RFC 2046 section
 * 5.1.1), as DRF's MultiPartParser reads them for mobile and `curl -F` clients.
 *
 * Strict and bounded (api.html#errors): the Content-Type must carry a `boundary`
 * parameter (1 to 70 of RFC 2046's bchars, token or quoted string); the body is exactly
 *   "--" boundary CRLF part (CRLF "--" boundary CRLF part)* CRLF "--" boundary "--" [CRLF]
 * with no preamble, no transport padding and no epilogue; lines end in CRLF only; each part
 * has a `Content-Disposition: form-data; name="..."` header and at most a
 * `Content-Type: text/plain[; charset=utf-8|us-ascii]` beside it (header names are
 * case-insensitive, each at most once, at most SA_MULTIPART_HEADER_MAX bytes a line); a part
 * with a `filename` or `filename*` parameter is a file and refused (we take no uploads);
 * at most SA_MULTIPART_MAX_FIELDS parts. A repeated name keeps its last value, as
 * QueryDict.get() and the form-urlencoded parser (body.c) do. Names must be non-empty,
 * valid UTF-8 without NUL; values are kept as bytes (NUL included) for body.c's text check,
 * which names the field in DRF's words. */
#ifndef SA_MULTIPART_H
#define SA_MULTIPART_H

#include <stddef.h>
#include <json-c/json.h>

#include "core/sa_error.h"

#define SA_MULTIPART_MAX_FIELDS 100
#define SA_MULTIPART_HEADER_MAX 1024
#define SA_MULTIPART_BOUNDARY_MAX 70   /* RFC 2046 section 5.1.1 */

/* Parse body[0..len) sent with content_type (the whole header value) into *out, a new
 * object of strings the caller puts. Returns SA_OK; SA_ERR_INVALID with err->msg the reason
 * for DRF's "Multipart form parse error - <reason>": Django's words where Django has them
 * ("Invalid boundary in multipart: None", "Invalid boundary in multipart: <boundary>",
 * "Invalid non-ASCII Content-Type in multipart: <type>", client text cut to 40 characters),
 * ours in the same style for what Django lets through ("Missing opening boundary",
 * "Missing final boundary", "Invalid part header", "File uploads are not supported", ...);
 * SA_ERR_NOMEM. On failure *out is NULL. */
sa_status sa_multipart_parse(const char *content_type, const char *body, size_t len,
                             json_object **out, sa_error *err);

#endif
