/* google_curl_internal.h: libcurl, loaded when Google is first called (not at start): the process
 * pays libcurl's ~28 shared libraries, their relocations and constructors, and OpenSSL's TLS
 * initialisation only when it really needs HTTP (a cold key cache, tokeninfo, the code
 * flow). Not installed (like google_internal.h): google_http.c and google.c use it. */
#ifndef SA_GOOGLE_CURL_INTERNAL_H
#define SA_GOOGLE_CURL_INTERNAL_H

#include <curl/curl.h>

#include "core/sa_error.h"

/* The soname loaded: Debian's libcurl4 (OpenSSL flavour), whose headers the build uses. */
#define SA_GOOGLE_CURL_SONAME "libcurl.so.4"

/* The libcurl functions we call, with the header's own types (one table per process). */
typedef struct sa_google_curl {
    __typeof__(curl_global_init) *global_init; /* called by sa_google_curl_load only */
    __typeof__(curl_easy_init) *easy_init;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_easy_reset) *easy_reset;
    __typeof__(curl_easy_setopt) *easy_setopt;
    __typeof__(curl_easy_perform) *easy_perform;
    __typeof__(curl_easy_getinfo) *easy_getinfo;
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
    __typeof__(curl_url) *url;
    __typeof__(curl_url_set) *url_set;
    __typeof__(curl_url_get) *url_get;
    __typeof__(curl_url_cleanup) *url_cleanup;
    __typeof__(curl_free) *free;
} sa_google_curl;

/* libcurl's functions, loading SA_GOOGLE_CURL_SONAME (dlopen, RTLD_NOW | RTLD_LOCAL) and
 * running curl_global_init(CURL_GLOBAL_DEFAULT) on the first successful call; later calls
 * return the same table at once. Not thread-safe (each process serves one request at a time).
 * Returns the table (static, valid until exit), or NULL with err SA_ERR_UNAVAILABLE when the
 * library cannot be loaded (err->msg has dlerror()'s text, which names the file), lacks one
 * of the functions (named), or curl_global_init fails. A failure is not remembered: the next
 * call tries again (the package may have been installed meanwhile). */
const sa_google_curl *sa_google_curl_load(sa_error *err);

/* The table when libcurl is already loaded, else NULL (never loads it). */
const sa_google_curl *sa_google_curl_loaded(void);

#endif
