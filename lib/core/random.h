/* random.h: random identifiers (jti, sid, key names) from OpenSSL's CSPRNG. */
#ifndef SA_RANDOM_H
#define SA_RANDOM_H

#include <stddef.h>

#include "core/sa_error.h"

/* Fill buf (hex_chars + 1 bytes, e.g. SA_JTI_LEN + 1) with hex_chars random lower-case hex
 * characters and a NUL. Returns SA_OK or SA_ERR_UNAVAILABLE if the RNG fails (buf is ""). */
sa_status sa_random_hex(char *buf, size_t hex_chars);

/* The same for identifiers (jti, sid): the same contract and statuses, the bytes drawn from a
 * per-thread pool of RAND_bytes output refilled 512 bytes at a time (hex_chars up to 256; more
 * is drawn directly). Each byte is handed out once; a fork wipes the child's pool
 * (pthread_atfork), so a parent and its forked child never hand out the same identifier.
 * Signing keys use sa_random_hex. */
sa_status sa_random_id_hex(char *buf, size_t hex_chars);

#endif
