/* google_http.c: the one place that talks HTTP to Google (libcurl, loaded on the first call:
 * google_curl_internal.h).
 *
 * One easy handle per process, made on the first call and reset (not recreated) before each
 * later one, so its connection cache keeps the TLS connection to Google alive between logins.
 * Short timeouts from cfg->google_timeout, certificate and host checks on, no redirects,
 * answers bounded. */
#include "google/google_internal.h"
#include "google/google_curl_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#define GOOGLE_USER_AGENT "socialauth/1"

/* Collects one answer's body (bounded) and the headers we care about. */
typedef struct google_sink {
    sa_google_response *res;
    size_t cap;
    bool too_large;
    bool nomem;
} google_sink;

static size_t google_write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
    google_sink *sink = userdata;
    sa_google_response *res = sink->res;
    size_t n = size * nmemb;

    /* Security: the bound is checked before growing, so a hostile or broken upstream cannot
     * make us allocate more than SA_GOOGLE_RESPONSE_MAX + 1 bytes. */
    if (n > SA_GOOGLE_RESPONSE_MAX - res->body_len) {
        sink->too_large = true;
        return 0;
    }
    if (res->body_len + n + 1 > sink->cap) {
        size_t cap = sink->cap ? sink->cap : 4096;
        while (cap < res->body_len + n + 1)
            cap *= 2;
        if (cap > SA_GOOGLE_RESPONSE_MAX + 1)
            cap = SA_GOOGLE_RESPONSE_MAX + 1;
        char *p = realloc(res->body, cap);
        if (!p) {
            sink->nomem = true;
            return 0;
        }
        res->body = p;
        sink->cap = cap;
    }
    memcpy(res->body + res->body_len, data, n);
    res->body_len += n;
    res->body[res->body_len] = '\0';
    return n;
}

/* Copy the value of header line `line` (n bytes, "Name: value\r\n") into dst when its name is
 * `name`; repeated headers are joined with ", " (as HTTP allows), within dst's size. */
static void google_take_header(const char *line, size_t n, const char *name, char *dst,
                               size_t dst_size)
{
    size_t name_len = strlen(name);
    if (n <= name_len || line[name_len] != ':' || strncasecmp(line, name, name_len) != 0)
        return;
    const char *v = line + name_len + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t have = strlen(dst);
    size_t want = (size_t)(end - v) + (have ? 2 : 0);
    if (have + want + 1 > dst_size)
        return; /* too long to be one we trust: keep what we had */
    if (have) {
        memcpy(dst + have, ", ", 2);
        have += 2;
    }
    memcpy(dst + have, v, (size_t)(end - v));
    dst[have + (size_t)(end - v)] = '\0';
}

static size_t google_header_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
    google_sink *sink = userdata;
    size_t n = size * nmemb;

    /* A new status line (after a 100 Continue, say) starts a new set of headers. */
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        sink->res->cache_control[0] = '\0';
        sink->res->age[0] = '\0';
        return n;
    }
    google_take_header(data, n, "Cache-Control", sink->res->cache_control,
                       sizeof sink->res->cache_control);
    google_take_header(data, n, "Age", sink->res->age, sizeof sink->res->age);
    return n;
}

void sa_google_response_clear(sa_google_response *res)
{
    if (!res)
        return;
    /* Security: answers of tokeninfo and the token endpoint hold the user's tokens. */
    if (res->body)
        OPENSSL_cleanse(res->body, res->body_len);
    free(res->body);
    memset(res, 0, sizeof *res);
}

bool sa_google_url_allowed(const char *url)
{
    bool ok = false;
    char *scheme = NULL, *host = NULL;
    /* Security: fails closed: without libcurl's parser no URL is allowed. */
    const sa_google_curl *api = sa_google_curl_load(NULL);
    if (!api)
        return false;
    CURLU *u = api->url();

    if (!u || !url)
        goto done;
    if (api->url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto done;
    if (api->url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        api->url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0])
        goto done;
    if (strcasecmp(scheme, "https") == 0) {
        ok = true;
    } else if (strcasecmp(scheme, "http") == 0) {
        /* Security: plain http would let anyone on the path forge Google's keys and answers;
         * it is allowed only to this machine, where the tests' fake Google lives. */
        unsigned char a4[4];
        if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
            ok = true;
        else if (inet_pton(AF_INET, host, a4) == 1 && a4[0] == 127)
            ok = true;
    }
done:
    api->free(scheme);
    api->free(host);
    api->url_cleanup(u);
    return ok;
}

char *sa_google_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(s);
    if (len > SA_GOOGLE_TOKEN_MAX * 2)
        return NULL;
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    char *p = out;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    return out;
}

/* Contract: returns SA_OK when Google answered (any status, res filled), SA_ERR_UNAVAILABLE
 * when it did not (connection, timeout, TLS, oversized or unparseable answer, bad URL),
 * SA_ERR_NOMEM. res is cleared first and must be cleared by the caller in every case. */
sa_status sa_google_http(sa_google *g, const char *url, const char *bearer, const char *form,
                         sa_google_response *res, sa_error *err)
{
    sa_status st = SA_OK;
    struct curl_slist *headers = NULL, *more = NULL;
    char *auth = NULL;
    google_sink sink = { .res = res };
    char curl_error[CURL_ERROR_SIZE] = "";
    long timeout = (g->cfg->google_timeout > 0 && g->cfg->google_timeout < 120)
                       ? (long)g->cfg->google_timeout : 5L;

    memset(res, 0, sizeof *res);
    const sa_google_curl *api = sa_google_curl_load(err);
    if (!api)
        return SA_ERR_UNAVAILABLE; /* err names the library and why */
    if (!g->curl && !(g->curl = api->easy_init()))
        return SA_FAIL(err, SA_ERR_NOMEM, "curl_easy_init failed");
    CURL *curl = g->curl;
    /* Security: checked on every call, not only at start-up: a URL that is not https (or
     * http to loopback) is never contacted. */
    if (!sa_google_url_allowed(url))
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "refusing Google URL that is not https");

    api->easy_reset(curl); /* options only: the connection cache survives */

    more = api->slist_append(headers, "Accept: application/json");
    if (!more) {
        st = SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
        goto fail;
    }
    headers = more;
    if (bearer) {
        size_t blen = strlen(bearer);
        /* Security: the caller validated the token; refuse anything that could break out of
         * the header line anyway. */
        if (strpbrk(bearer, "\r\n") || blen > SA_GOOGLE_TOKEN_MAX) {
            st = SA_FAIL(err, SA_ERR_INVALID, "bad bearer token");
            goto fail;
        }
        auth = malloc(blen + sizeof "Authorization: Bearer ");
        if (!auth) {
            st = SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
            goto fail;
        }
        memcpy(auth, "Authorization: Bearer ", sizeof "Authorization: Bearer " - 1);
        memcpy(auth + sizeof "Authorization: Bearer " - 1, bearer, blen + 1);
        more = api->slist_append(headers, auth);
        if (!more) {
            st = SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
            goto fail;
        }
        headers = more;
    }

    bool https = strncasecmp(url, "https:", 6) == 0;
    if (api->easy_setopt(curl, CURLOPT_URL, url) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_PROTOCOLS_STR, https ? "https" : "http") != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_TIMEOUT, timeout) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_USERAGENT, GOOGLE_USER_AGENT) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                         (curl_off_t)SA_GOOGLE_RESPONSE_MAX) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_WRITEFUNCTION, google_write_cb) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_WRITEDATA, &sink) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_HEADERFUNCTION, google_header_cb) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_HEADERDATA, &sink) != CURLE_OK ||
        api->easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error) != CURLE_OK) {
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "curl refused an option");
        goto fail;
    }
    if (g->cfg->google_ca_file[0] &&
        api->easy_setopt(curl, CURLOPT_CAINFO, g->cfg->google_ca_file) != CURLE_OK) {
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "curl refused google_ca_file");
        goto fail;
    }
    if (form) {
        if (api->easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form))
                != CURLE_OK ||
            api->easy_setopt(curl, CURLOPT_POSTFIELDS, form) != CURLE_OK) {
            st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "curl refused the form");
            goto fail;
        }
    }

    CURLcode rc = api->easy_perform(curl);
    if (sink.nomem) {
        st = SA_FAIL(err, SA_ERR_NOMEM, "out of memory reading Google's answer");
        goto fail;
    }
    if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "Google's answer is over %d bytes",
                     SA_GOOGLE_RESPONSE_MAX);
        goto fail;
    }
    if (rc != CURLE_OK) {
        /* curl's own words say which: TLS (certificate, handshake), timeout, connection.
         * Security: no token is in a URL we fetch, so its text holds none. */
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "Google unreachable: %s%s%s%s",
                     api->easy_strerror(rc), curl_error[0] ? " (" : "", curl_error,
                     curl_error[0] ? ")" : "");
        goto fail;
    }
    if (api->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res->status) != CURLE_OK ||
        res->status < 100) {
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "Google sent no HTTP status");
        goto fail;
    }
    if (res->status >= 300 && res->status < 400) {
        /* Security: a redirect could lead anywhere, plain http included: never followed. */
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "Google's answer is a redirect (HTTP %ld): refused",
                     res->status);
        goto fail;
    }
    if (!res->body) {
        res->body = calloc(1, 1);
        if (!res->body) {
            st = SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }

fail:
    /* The handle must not keep pointers to our stack or our header list. */
    api->easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    api->easy_setopt(curl, CURLOPT_WRITEDATA, NULL);
    api->easy_setopt(curl, CURLOPT_HEADERDATA, NULL);
    api->easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
    api->easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    api->slist_free_all(headers);
    if (auth) {
        /* Security: the access token does not linger in freed memory. */
        OPENSSL_cleanse(auth, strlen(auth));
        free(auth);
    }
    if (st != SA_OK && st != SA_ERR_NOMEM)
        res->status = 0;
    return st;
}
