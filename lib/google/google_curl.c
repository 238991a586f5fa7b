/* google_curl.c: loads libcurl on first need (google_curl_internal.h says why and the contract). */
#include "google/google_curl_internal.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static sa_google_curl curl_api;
static bool curl_ready;

const sa_google_curl *sa_google_curl_loaded(void)
{
    return curl_ready ? &curl_api : NULL;
}

const sa_google_curl *sa_google_curl_load(sa_error *err)
{
    static const struct { const char *name; size_t offset; } funcs[] = {
        { "curl_global_init", offsetof(sa_google_curl, global_init) },
        { "curl_easy_init", offsetof(sa_google_curl, easy_init) },
        { "curl_easy_cleanup", offsetof(sa_google_curl, easy_cleanup) },
        { "curl_easy_reset", offsetof(sa_google_curl, easy_reset) },
        { "curl_easy_setopt", offsetof(sa_google_curl, easy_setopt) },
        { "curl_easy_perform", offsetof(sa_google_curl, easy_perform) },
        { "curl_easy_getinfo", offsetof(sa_google_curl, easy_getinfo) },
        { "curl_easy_strerror", offsetof(sa_google_curl, easy_strerror) },
        { "curl_slist_append", offsetof(sa_google_curl, slist_append) },
        { "curl_slist_free_all", offsetof(sa_google_curl, slist_free_all) },
        { "curl_url", offsetof(sa_google_curl, url) },
        { "curl_url_set", offsetof(sa_google_curl, url_set) },
        { "curl_url_get", offsetof(sa_google_curl, url_get) },
        { "curl_url_cleanup", offsetof(sa_google_curl, url_cleanup) },
        { "curl_free", offsetof(sa_google_curl, free) },
    };
    sa_google_curl api;

    if (curl_ready)
        return &curl_api;
    /* RTLD_LOCAL: libcurl's symbols (and its libraries') stay out of the global namespace.
     * RTLD_NOW: a broken library fails here, not in the middle of a request. */
    void *lib = dlopen(SA_GOOGLE_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        SA_FAIL(err, SA_ERR_UNAVAILABLE, "cannot load %s: %s", SA_GOOGLE_CURL_SONAME,
                why ? why : "unknown error");
        return NULL;
    }
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        void *sym = dlsym(lib, funcs[i].name);
        if (!sym) {
            SA_FAIL(err, SA_ERR_UNAVAILABLE, "%s has no %s", SA_GOOGLE_CURL_SONAME,
                    funcs[i].name);
            dlclose(lib);
            return NULL;
        }
        /* POSIX guarantees a function pointer survives the trip through void *. */
        memcpy((char *)&api + funcs[i].offset, &sym, sizeof sym);
    }
    /* Once per process, before any handle; processes are single-threaded. From here on the
     * library is never unloaded (libcurl and OpenSSL may hold global state even after a
     * failed init); a later call gets the same handle back from dlopen. */
    if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "curl_global_init failed"), NULL;
    curl_api = api;
    curl_ready = true;
    return &curl_api;
}
