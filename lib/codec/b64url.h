/* b64url.h: base64url without padding (RFC 4648 section 5), canonical form only. */
#ifndef SA_B64URL_H
#define SA_B64URL_H

#include <stddef.h>

#include "core/sa_error.h"

/* base64url without padding. encode writes a NUL-terminated string and returns its length,
 * or 0 if out_size is too small (an empty input also gives 0, with out ""). decode accepts
 * only canonical input (no padding, no whitespace, unused trailing bits zero) and returns
 * SA_OK or SA_ERR_INVALID, or SA_ERR_TOO_LARGE when out_size cannot hold the result;
 * out is not NUL-terminated. */
size_t sa_b64url_encode(const unsigned char *in, size_t len, char *out, size_t out_size);
sa_status sa_b64url_decode(const char *in, size_t len, unsigned char *out, size_t out_size,
                           size_t *out_len);

#endif
