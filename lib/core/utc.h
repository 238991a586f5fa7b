/* utc.h: times as the API writes them (UTC, second precision). */
#ifndef SA_UTC_H
#define SA_UTC_H

#include <stddef.h>
#include <stdint.h>

/* ISO-8601 UTC "2026-11-26T22:18:03Z" for t into buf (at least 21 bytes; shorter is
 * truncated). t is clamped to 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z. */
void sa_format_utc(int64_t t, char *buf, size_t size);

#endif
