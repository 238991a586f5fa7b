/* fuzz_multipart.c: libFuzzer target for the multipart/form-data reader (lib/http/multipart.c)
 * and the text checks it relies on (lib/core/text.c).
 *
 * Input: the Content-Type value, a '\n', then the body (no '\n': the whole input is the
 * body, with Content-Type "multipart/form-data; boundary=x").
 *
 * Build and run (Debian: apt-get install clang-14 libclang-rt-14-dev):
 *   make lib/libsocialauth.a
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *     -D_GNU_SOURCE -Ilib -o tests/fuzz/fuzz_multipart tests/fuzz/fuzz_multipart.c \
 *     lib/http/multipart.c lib/core/text.c lib/core/sa_error.c -ljson-c -lunistring
 *   mkdir -p /tmp/fuzz-mp && tests/fuzz/fuzz_multipart -max_total_time=60 -max_len=4096 \
 *     /tmp/fuzz-mp tests/fuzz/corpus/multipart
 * `make test` replays tests/fuzz/corpus/multipart through tests/fuzz/standalone.c.
 *
 * Invariants checked (abort when broken): on success every field name is non-empty valid
 * UTF-8 without NUL, there are at most SA_MULTIPART_MAX_FIELDS, and each value is a piece of
 * the body; on failure nothing is returned and the reason is valid UTF-8 text (it may echo
 * the client's Content-Type and ends up in a JSON answer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"
#include "core/text.h"

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_multipart: invariant broken: %s (line %d)\n", #cond,     \
                    __LINE__);                                                           \
            abort();                                                                     \
        }                                                                                \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    char *type = nl ? strndup(text, (size_t)(nl - text))
                    : strdup("multipart/form-data; boundary=x");
    const char *body = nl ? nl + 1 : text;
    size_t len = nl ? size - (size_t)(nl + 1 - text) : size;
    json_object *out = (json_object *)1;   /* must come back NULL on failure */
    sa_error err = {0};
    if (!type)
        return 0;
    sa_status st = sa_multipart_parse(type, body, len, &out, &err);
    if (st == SA_OK) {
        CHECK(out && json_object_is_type(out, json_type_object));
        CHECK(json_object_object_length(out) <= SA_MULTIPART_MAX_FIELDS);
        json_object_object_foreach(out, key, value) {
            size_t klen = strlen(key);
            CHECK(klen > 0 && sa_text_check(key, klen) == SA_TEXT_OK);
            CHECK(json_object_is_type(value, json_type_string));
            size_t vlen = (size_t)json_object_get_string_len(value);
            CHECK(vlen <= len);
            CHECK(vlen == 0 || memmem(body, len, json_object_get_string(value), vlen));
        }
        json_object_put(out);
    } else {
        CHECK(st == SA_ERR_INVALID || st == SA_ERR_NOMEM);
        CHECK(out == NULL);
        CHECK(err.msg[0] && sa_text_check(err.msg, strlen(err.msg)) == SA_TEXT_OK);
    }
    free(type);
    return 0;
}
