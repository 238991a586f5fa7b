/* random.h: random identifiers (jti, sid, key names) from OpenSSL's CSPRNG. */
#ifndef SA_RANDOM_H
#define SA_RANDOM_H

#include <stddef.h>

#include "core/sa_error.h"

/* Fill buf (hex_chars + 1 bytes, e.g. SA_JTI_LEN + 1) with hex_chars random lower-case hex
 * characters and a NUL. Returns SA_OK or SA_ERR_UNAVAILABLE if the RNG fails (buf is ""). */
sa_status sa_random_hex(char *buf, size_t hex_chars);

#endif
