/* fuzz_body.c: libFuzzer target for request bodies: the Content-Length and Content-Type
 * checks and the JSON and form decoders behind sa_body_read, and sa_form_parse alone.
 *
 * Input: "<content-type>\n<content-length>\n<body>" (the body is read in chunks of a size
 * taken from the first byte, to exercise short reads); a first byte 'F' instead sends the rest
 * to sa_form_parse directly. Invariants: an accepted body is a JSON object (form fields are
 * strings), a refused one is answered 400/413/415 with a JSON {"detail": ...} body, and the
 * serialised answer is a well-formed CGI response. */
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "http/http.h"
#include "codec/json.h"

typedef struct source {
    const uint8_t *data;
    size_t len, pos, chunk;
} source;

static size_t read_source(void *p, char *buf, size_t n)
{
    source *s = p;
    size_t left = s->len - s->pos;
    if (n > left)
        n = left;
    if (n > s->chunk)
        n = s->chunk;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return n;
}

static void check_form_object(json_object *o)
{
    CHECK(json_object_is_type(o, json_type_object));
    json_object_object_foreach(o, k, v) {
        CHECK(k != NULL);
        CHECK(json_object_is_type(v, json_type_string));
    }
}

static void fuzz_form(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    json_object *o = NULL;
    sa_error err = {0};
    if (sa_form_parse(text, size, &o, &err) == SA_OK) {
        check_form_object(o);
        json_object_put(o);
    } else {
        CHECK(o == NULL && err.msg[0] != '\0');
    }
    free(text);
}

/* Split off one line (without its '\n') into out, NUL-terminated; false when none. */
static bool take_line(const uint8_t **data, size_t *size, char *out, size_t out_size)
{
    const uint8_t *nl = memchr(*data, '\n', *size);
    if (!nl || (size_t)(nl - *data) >= out_size)
        return false;
    size_t n = (size_t)(nl - *data);
    memcpy(out, *data, n);
    out[n] = '\0';
    *size -= n + 1;
    *data = nl + 1;
    return strlen(out) == n; /* no NUL inside: CGI variables cannot hold one */
}

static void fuzz_read(const uint8_t *data, size_t size)
{
    static sa_config cfg;
    static bool ready;
    if (!ready) {
        sa_config_defaults(&cfg);
        cfg.max_body = 4096;
        ready = true;
    }
    size_t chunk = (size_t)(data[0] % 7) + 1;
    data++;
    size--;
    char ctype[256], clen[64];
    if (!take_line(&data, &size, ctype, sizeof ctype) ||
        !take_line(&data, &size, clen, sizeof clen))
        return;

    sa_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = &cfg;
    ctx.res.status = 200;
    ctx.req.method = "POST";
    ctx.req.method_bit = SA_POST;
    ctx.req.content_type = ctype;
    source src = {data, size, 0, chunk};
    if (sa_body_read(&ctx, clen, read_source, &src)) {
        CHECK(ctx.res.status == 200);
        CHECK(json_object_is_type(ctx.req.data, json_type_object));
        if (strstr(ctype, "x-www-form-urlencoded") && ctx.req.body_len)
            check_form_object(ctx.req.data);
    } else {
        int s = ctx.res.status;
        CHECK(s == 400 || s == 413 || s == 415);
        json_object *answer = NULL;
        CHECK(sa_json_parse(ctx.res.body.data, ctx.res.body.len, &answer, NULL) == SA_OK);
        CHECK(json_object_is_type(answer, json_type_object));
        json_object_put(answer);
    }
    sa_buf out = {0};
    CHECK(sa_response_serialize(&ctx, &out) == SA_OK);
    CHECK(out.len > 8 && memcmp(out.data, "Status: ", 8) == 0);
    CHECK(strstr(out.data, "\r\n\r\n") != NULL);
    sa_buf_free(&out);
    sa_ctx_reset(&ctx);
    sa_buf_free(&ctx.res.headers);
    sa_buf_free(&ctx.res.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] == 'F')
        fuzz_form(data + 1, size - 1);
    else
        fuzz_read(data, size);
    return 0;
}
