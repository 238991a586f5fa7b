/* fuzz_config.c: libFuzzer target for the configuration reader (config.h).
 *
 * First byte 'L': the rest is written to a memory file and loaded with sa_config_load, so the
 * required-key and cross checks run too; otherwise the rest goes to sa_config_parse over the
 * defaults, and then, split at the first '\n', to the duration/size/bool/int helpers.
 * Invariants: every status is SA_OK or SA_ERR_CONFIG with a message; an accepted file leaves
 * every string NUL-terminated inside its field, lists within SA_MAX_LIST, the key within its
 * bounds; helpers only return what the syntax allows. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/config.h"
#include "fuzz_check.h"

static void check_config(const sa_config *cfg)
{
    CHECK(strnlen(cfg->db_home, sizeof cfg->db_home) < sizeof cfg->db_home);
    CHECK(strnlen(cfg->jwt_audience, sizeof cfg->jwt_audience) < sizeof cfg->jwt_audience);
    CHECK(strnlen(cfg->google_jwks_url, sizeof cfg->google_jwks_url) <
          sizeof cfg->google_jwks_url);
    CHECK(strnlen(cfg->cookie_samesite, sizeof cfg->cookie_samesite) <
          sizeof cfg->cookie_samesite);
    CHECK(cfg->signing_key_len <= SA_SIGNING_KEY_MAX);
    CHECK(cfg->google_client_ids.n <= SA_MAX_LIST && cfg->google_issuers.n <= SA_MAX_LIST &&
          cfg->cors_allowed_origins.n <= SA_MAX_LIST);
    for (size_t i = 0; i < cfg->cors_allowed_origins.n; i++)
        CHECK(cfg->cors_allowed_origins.v[i][0] != '\0');
    CHECK(cfg->max_procs >= 1 && cfg->max_procs <= 256);
    CHECK(cfg->access_token_lifetime >= 0 && cfg->leeway >= 0);
}

static void fuzz_helpers(const char *s)
{
    int64_t d = -1, i = 0;
    size_t z = 0;
    bool b;
    if (sa_parse_duration(s, &d) == SA_OK)
        CHECK(d >= 0 && d <= (int64_t)10 * 365 * 86400);
    if (sa_parse_size(s, &z) == SA_OK)
        CHECK(z <= (size_t)1 << 30);
    if (sa_parse_bool(s, &b) == SA_OK)
        CHECK(strlen(s) <= 5);
    if (sa_parse_int(s, -1000, 1000, &i) == SA_OK)
        CHECK(i >= -1000 && i <= 1000);
}

static void fuzz_load(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(write(fd, data, size) == (ssize_t)size);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    sa_config cfg;
    sa_error err = {0};
    sa_status st = sa_config_load(&cfg, path, &err);
    if (st == SA_OK) {
        check_config(&cfg);
        CHECK(cfg.db_home[0] != '\0');
        CHECK(cfg.signing_key_len >= SA_SIGNING_KEY_MIN);
    } else {
        CHECK(st == SA_ERR_CONFIG && err.msg[0] != '\0');
    }
    sa_config_free(&cfg);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] == 'L') {
        fuzz_load(data + 1, size - 1);
        return 0;
    }
    data++;
    size--;
    sa_config cfg;
    sa_error err = {0};
    sa_config_defaults(&cfg);
    sa_status st = sa_config_parse(&cfg, (const char *)data, size, "/etc/socialauth/fuzz.conf",
                                   &err);
    if (st == SA_OK)
        check_config(&cfg);
    else
        CHECK(st == SA_ERR_CONFIG && err.msg[0] != '\0');
    sa_config_free(&cfg);

    const uint8_t *nl = memchr(data, '\n', size);
    size_t n = nl ? (size_t)(nl - data) : size;
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    memcpy(s, data, n);
    s[n] = '\0';
    fuzz_helpers(s);
    free(s);
    return 0;
}
