/* http.h: one request and its answer, and the FastCGI loop that runs an endpoint.
 *
 * An endpoint's main() is `return sa_serve(&endpoint, argc, argv);`. The loop owns what every
 * endpoint repeats: configuration and store opened once per process, method check (405 with
 * Allow), CORS and preflight, strict body reading, security headers, writing the answer, and
 * exiting after a fatal store error so the web server respawns a recovering process. */
#ifndef SA_HTTP_H
#define SA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "codec/json_writer.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/sa_error.h"
#include "store/store.h"

/* Methods as bits, for an endpoint's allowed set. */
enum {
    SA_GET = 1 << 0, SA_POST = 1 << 1, SA_PUT = 1 << 2, SA_PATCH = 1 << 3,
    SA_DELETE = 1 << 4, SA_OPTIONS = 1 << 5, SA_HEAD = 1 << 6
};


typedef struct sa_request {
    const char *method;         /* "GET", ... */
    int method_bit;             /* SA_GET, ...; 0 for an unknown method */
    const char *path;           /* SCRIPT_NAME + PATH_INFO, or REQUEST_URI without query */
    const char *content_type;   /* may be NULL */
    const char *authorization;  /* HTTP_AUTHORIZATION, may be NULL */
    const char *origin;         /* HTTP_ORIGIN, may be NULL */
    const char *referer;        /* HTTP_REFERER, may be NULL */
    const char *cookie;         /* HTTP_COOKIE, may be NULL */
    const char *host;           /* HTTP_HOST as the client sent it, may be NULL */
    const char *server_port;    /* SERVER_PORT, the port the client connected to, may be NULL */
    bool https;                 /* served over TLS: HTTPS is "on" or REQUEST_SCHEME "https" */
    char *body;                 /* NUL-terminated copy of the body, body_len bytes */
    size_t body_len;
    json_object *data;          /* parsed body (JSON object, or form or multipart fields as
                                   strings), every string valid UTF-8 without NUL (body.c);
                                   an empty object when there was no body */
} sa_request;

/* Request headers an answer depends on, for its Vary header (RFC 9110 section 12.5.5). */
enum { SA_VARY_ORIGIN = 1 << 0, SA_VARY_AUTHORIZATION = 1 << 1, SA_VARY_COOKIE = 1 << 2 };

typedef struct sa_response {
    int status;
    sa_buf headers;             /* "Name: value\r\n" lines beyond the fixed ones */
    sa_buf body;
    bool no_store;              /* add Cache-Control: no-store (token and personal answers) */
    unsigned vary;              /* SA_VARY_* bits: one Vary header lists them */
} sa_response;

/* What every handler gets: settings, the store, the request, and the answer to fill. The
 * store is NULL only for an endpoint without needs_store: when it cannot be opened, the request
 * loop answers 503 itself and the handler never runs. */
typedef struct sa_ctx {
    const sa_config *cfg;
    sa_store *store;
    sa_request req;
    sa_response res;
    int64_t now;                /* request time, unix seconds */
    bool fatal;                 /* set when the store needs recovery: exit after answering */
    /* Called by the request loop once the handler answered, before CORS headers and the
     * answer go out; NULL by default and again for every request. The library sets it to
     * adjust an answer after the fact (cookie.c: expire refused token cookies). */
    void (*before_send)(struct sa_ctx *ctx);
} sa_ctx;

typedef struct sa_endpoint {
    const char *name;           /* for logs and --help */
    int methods;                /* allowed methods, OPTIONS implied */
    bool needs_store;           /* open the store at start-up */
    void (*handle)(sa_ctx *ctx);
    bool tls;                   /* makes TLS calls (to Google): OpenSSL's full name tables are
                                   loaded; without, a plain CGI start skips that work */
    bool credential_body;       /* requests carry a credential (token, code) in the body:
                                   every answer gets Cache-Control: no-store
                                   (api.html#conventions), whatever its status */
} sa_endpoint;

/* Run the endpoint: FastCGI loop, or one CGI request when not started by a FastCGI server.
 * `--help` prints usage. Returns the process exit status. */
int sa_serve(const sa_endpoint *endpoint, int argc, char **argv);

/* ---- answers (each replaces any earlier body) ---- */

/* Answer status with a JSON body (a new reference consumed by the call). */
void sa_respond_json(sa_ctx *ctx, int status, json_object *body);
/* Answer status with body text that is already compact JSON. */
void sa_respond_raw(sa_ctx *ctx, int status, const char *json, size_t len);
/* {"detail":"..."} with an optional "code". */
void sa_respond_detail(sa_ctx *ctx, int status, const char *detail, const char *code);
/* {"<field>":["<message>"]} (DRF field error), status 400. */
void sa_respond_field_error(sa_ctx *ctx, const char *field, const char *message);
/* The same with a machine "code" member after the list (omitted when code is NULL). */
void sa_respond_field_error_code(sa_ctx *ctx, const char *field, const char *message,
                                 const char *code);
/* The 503 body (api.html#errors), 74 bytes; also in the signal-safe emergency answer. */
#define SA_UNAVAILABLE_BODY \
    "{\"detail\":\"Service temporarily unavailable.\",\"code\":\"service_unavailable\"}"
/* 503 with SA_UNAVAILABLE_BODY, the one function writing it into an answer. Logs nothing. */
void sa_respond_unavailable(sa_ctx *ctx);
/* sa_respond_unavailable for a store failure: marks the process for exit when status is
 * SA_ERR_FATAL, and logs err (when not NULL). */
void sa_respond_store_error(sa_ctx *ctx, sa_status status, const sa_error *err);
/* Finish the answer written with w (codec/json_writer.h) into ctx->res.body: status and
 * that body, or 503 when the writer failed (too deep, bad UTF-8, out of memory). */
void sa_respond_written(sa_ctx *ctx, int status, const sa_jw *w);
/* Mark the answer as depending on the request's credentials (Authorization header, or our
 * cookies in cookie mode): Cache-Control: no-store and Vary: Authorization (and Cookie in
 * cookie mode), so no shared or browser cache hands one user's answer to another. Called by
 * sa_auth_require and, for any request that carries credentials, by the request loop. */
void sa_respond_private(sa_ctx *ctx);
/* Add a response header line (name and value without CR/LF). */
void sa_add_header(sa_ctx *ctx, const char *name, const char *value);


/* ---- request fields ---- */

/* DRF's CharField check of field in data (a JSON object, or NULL: no body), answering
 * nothing: the message of its first problem, or NULL when acceptable. Absent → "This field is
 * required." when required, else NULL with *out NULL; null → "This field may not be null.";
 * not a string → "Not a valid string."; "" → "This field may not be blank." unless
 * allow_blank. *out (owned by data) and *len are the string when NULL is returned for a
 * present field; *out is NULL otherwise. */
const char *sa_field_string_check(json_object *data, const char *field, bool required,
                                  bool allow_blank, const char **out, size_t *len);
/* A required, non-blank string field of the body (sa_field_string_check). Returns true with
 * *out set, or false after answering 400 with the message for field. */
bool sa_require_string(sa_ctx *ctx, const char *field, const char **out);
/* An optional string field: returns SA_OK, SA_ERR_NOT_FOUND (absent or null) or
 * SA_ERR_INVALID (after answering 400 "Not a valid string."). */
sa_status sa_optional_string(sa_ctx *ctx, const char *field, const char **out);

/* ---- internal pieces, exposed for unit tests ---- */

/* Read and parse the body per content type (JSON, form, multipart/form-data), then check
 * every string in it (issue 9.2: valid UTF-8, no NUL; DRF's field errors): sets
 * req->body/body_len/data, or answers 400/413/415 and returns false. `read` pulls up to n bytes into buf and returns the count (0 at end). */
typedef size_t (*sa_read_fn)(void *src, char *buf, size_t n);
bool sa_body_read(sa_ctx *ctx, const char *content_length, sa_read_fn read, void *src);
/* Decode an application/x-www-form-urlencoded body into an object of strings. */
sa_status sa_form_parse(const char *text, size_t len, json_object **out, sa_error *err);

/* Serialise ctx->res as a CGI response (Status line, headers, blank line, body) into out. */
sa_status sa_response_serialize(const sa_ctx *ctx, sa_buf *out);

void sa_ctx_reset(sa_ctx *ctx);

#endif
