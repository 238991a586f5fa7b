/* random.h: random identifiers (jti, sid, key names) from OpenSSL's CSPRNG. */
#ifndef SA_RANDOM_H
#define SA_RANDOM_H

#include <stddef.h>

#include "core/sa_error.h"

/* Fill buf (hex_chars + 1 bytes, e.g. SA_JTI_LEN + 1) with hex_chars random lower-case hex
 * characters and a NUL. Returns SA_OK or SA_ERR_UNAVAILABLE if the RNG fails (buf is ""). */
sa_status sa_random_hex(char *buf, size_t hex_chars);

/* The same for identifiers (jti, sid), drawn from a per-process pool of RAND_bytes output
 * refilled 512 bytes at a time (a forked child forgets it); signing keys use sa_random_hex.
 * Same contract and statuses. */
sa_status sa_random_id_hex(char *buf, size_t hex_chars);

#endif
