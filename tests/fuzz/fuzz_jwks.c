/* fuzz_jwks.c: libFuzzer target for Google's JWKS document (sa_google_jwks_parse).
 *
 * The input is the document itself (tests/fuzz/corpus/jwks/ holds keys that must be refused:
 * e = 1, 2, 3, an even modulus, 1024 bits, duplicate kids, too many keys, ...). Invariants: a
 * refused document leaves nothing allocated and says why; an accepted one holds 1 to
 * SA_GOOGLE_MAX_KEYS RSA keys of at least 2048 bits, each found again by its kid, and a copy
 * of the text; its checked copy (issue 13) parses back from the store to the same keys and
 * refusals. */
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "google/google_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sa_google_keyset set;
    sa_error err = {0};
    memset(&set, 0, sizeof set);
    if (sa_google_jwks_parse((const char *)data, size, &set, &err) != SA_OK) {
        CHECK(err.msg[0] != '\0' && set.n == 0 && set.keys == NULL);
        return 0;
    }
    CHECK(set.n >= 1 && set.n <= SA_GOOGLE_MAX_KEYS);
    CHECK(set.doc_len == size && memcmp(set.doc, data, size) == 0);
    for (size_t i = 0; i < set.n; i++) {
        CHECK(set.keys[i].pkey != NULL);
        CHECK(EVP_PKEY_get_bits(set.keys[i].pkey) >= 2048);
        CHECK(sa_google_keyset_find(&set, set.keys[i].kid) == set.keys[i].pkey);
    }
    /* Our checked copy reads back from the store as the same keys and refusals. */
    unsigned char digest[32] = {0};
    sa_google_keyset stored;
    memset(&stored, 0, sizeof stored);
    CHECK(sa_google_jwks_checked(&set, digest, &err) == SA_OK);
    CHECK(sa_google_jwks_parse_stored(set.doc, set.doc_len, &stored, &err) == SA_OK);
    CHECK(stored.n == set.n && stored.n_rejected == set.n_rejected);
    for (size_t i = 0; i < set.n; i++)
        CHECK(sa_google_keyset_find(&stored, set.keys[i].kid) != NULL);
    for (size_t i = 0; i < set.n_rejected; i++)
        CHECK(strcmp(stored.rejected[i].reason, set.rejected[i].reason) == 0);
    sa_google_keyset_clear(&stored);
    sa_google_keyset_clear(&set);
    return 0;
}
