/* config.c: reading socialauth.conf (see config.h for the syntax). */
#include "config/config.h"
#include "config/keyring.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define SA_CONFIG_FILE_MAX (256 * 1024)

static void strlist_free(sa_strlist *list)
{
    for (size_t i = 0; i < list->n; i++) {
        free(list->v[i]);
        list->v[i] = NULL;
    }
    list->n = 0;
}

void sa_config_free(sa_config *cfg)
{
    /* Security: keys and secrets do not outlive their use in freed or reused memory. */
    OPENSSL_cleanse(cfg->signing_key, sizeof cfg->signing_key);
    OPENSSL_cleanse(cfg->google_client_secret, sizeof cfg->google_client_secret);
    cfg->signing_key_len = 0;
    if (cfg->keys) {
        sa_keyring_clear(cfg->keys);
        free(cfg->keys);
        cfg->keys = NULL;
    }
    strlist_free(&cfg->google_client_ids);
    strlist_free(&cfg->google_issuers);
    strlist_free(&cfg->cors_allowed_origins);
    strlist_free(&cfg->rep_sites);
}

bool sa_strlist_contains(const sa_strlist *list, const char *s)
{
    for (size_t i = 0; i < list->n; i++)
        if (strcmp(list->v[i], s) == 0)
            return true;
    return false;
}

/* Split value on commas and whitespace into list (replacing it). SA_ERR_INVALID when there
 * are more than SA_MAX_LIST items. Each item is owned by list (strlist_free).
 * gcc 12's -fanalyzer loses the list the settings table reaches by offset and reports every
 * stored item as leaked; scan-build and valgrind (tests/unit/test_config*) see no leak. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
static sa_status strlist_parse(sa_strlist *list, const char *value)
{
    strlist_free(list);
    const char *p = value;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ',' && !isspace((unsigned char)*p))
            p++;
        if (list->n == SA_MAX_LIST)
            return SA_ERR_INVALID;
        char *item = strndup(start, (size_t)(p - start));
        if (!item)
            return SA_ERR_NOMEM;
        list->v[list->n++] = item;
    }
    return SA_OK;
}
#pragma GCC diagnostic pop

sa_status sa_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!*s)
        return SA_ERR_INVALID;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) && !(p == s && *p == '-'))
            return SA_ERR_INVALID;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return SA_ERR_INVALID;
    *out = v;
    return SA_OK;
}

/* A non-negative number followed by one optional unit letter from `units`, whose
 * multipliers are in `mult`. */
static sa_status parse_scaled(const char *s, const char *units, const int64_t *mult, int64_t max,
                              int64_t *out)
{
    char digits[32];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof digits)
        return SA_ERR_INVALID;
    int64_t factor = 1;
    const char *u = strchr(units, tolower((unsigned char)s[n - 1]));
    if (!isdigit((unsigned char)s[n - 1])) {
        if (!u)
            return SA_ERR_INVALID;
        factor = mult[u - units];
        n--;
    }
    memcpy(digits, s, n);
    digits[n] = '\0';
    int64_t v;
    if (sa_parse_int(digits, 0, max, &v) != SA_OK || v > max / factor)
        return SA_ERR_INVALID;
    *out = v * factor;
    return SA_OK;
}

sa_status sa_parse_duration(const char *s, int64_t *out)
{
    static const int64_t mult[] = {1, 60, 3600, 86400};
    return parse_scaled(s, "smhd", mult, (int64_t)10 * 365 * 86400, out);
}

sa_status sa_parse_size(const char *s, size_t *out)
{
    static const int64_t mult[] = {1, 1024, 1024 * 1024};
    int64_t v;
    sa_status st = parse_scaled(s, "bkm", mult, (int64_t)1 << 30, &v);
    if (st == SA_OK)
        *out = (size_t)v;
    return st;
}

sa_status sa_parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) { *out = true; return SA_OK; }
        if (strcasecmp(s, no[i]) == 0) { *out = false; return SA_OK; }
    }
    return SA_ERR_INVALID;
}

static sa_status copy_string(char *dst, size_t size, const char *value)
{
    size_t n = strlen(value);
    if (n >= size)
        return SA_ERR_INVALID;
    memcpy(dst, value, n + 1);
    return SA_OK;
}

/* "user" for uid, or its number when it has no name (for messages). */
static void user_name(uid_t uid, char *out, size_t size)
{
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res && res->pw_name[0])
        snprintf(out, size, "%s", res->pw_name);
    else
        snprintf(out, size, "%lu", (unsigned long)uid);
}

/* "readable and writable" for the r/w/x bits in rwx (0..7), "" for none. */
static void rwx_words(unsigned rwx, char *out, size_t size)
{
    static const char *words[] = {"executable", "writable", "readable"};
    size_t n = 0;
    out[0] = '\0';
    for (int b = 2; b >= 0; b--) {
        if (!(rwx & (1u << b)))
            continue;
        int w = snprintf(out + n, size - n, "%s%s", n ? " and " : "", words[b]);
        if (w < 0 || (size_t)w >= size - n)
            return;
        n += (size_t)w;
    }
}

/* The group and other permission bits of mode (some set) in words, e.g. "readable by group
 * and others" or "readable by group, writable by others". */
static void extra_bits(unsigned mode, char *out, size_t size)
{
    char g[64], o[64];
    rwx_words((mode >> 3) & 7, g, sizeof g);
    rwx_words(mode & 7, o, sizeof o);
    if (strcmp(g, o) == 0)
        snprintf(out, size, "%s by group and others", g);
    else if (!g[0])
        snprintf(out, size, "%s by others", o);
    else if (!o[0])
        snprintf(out, size, "%s by group", g);
    else
        snprintf(out, size, "%s by group, %s by others", g, o);
}

/* Refuse a file holding a secret (what names it) that someone other than us or root could
 * read or change: owned by another user (st_uid neither the effective uid nor 0), any group
 * or other bit in its mode, or a parent directory others may write without the sticky bit
 * (they could swap the file). The message names the fix (chown and/or chmod).
 * Security: a signing key others can read or write is a key others can mint tokens with;
 * the rule is OpenSSH's StrictModes. */
static sa_status secret_file_check(sa_error *err, const char *path, const char *what,
                                   const struct stat *st)
{
    char me[64], owner[64], dir[1024];
    uid_t euid = geteuid();
    user_name(euid, me, sizeof me);
    if (st->st_uid != euid && st->st_uid != 0) {
        user_name(st->st_uid, owner, sizeof owner);
        return SA_FAIL(err, SA_ERR_CONFIG,
                       "%s holds %s but is owned by %s, not by %s (the user this runs as) or "
                       "root: run `chown %s %s`", path, what, owner, me, me, path);
    }
    if (st->st_mode & 077) {
        char bits[160];
        extra_bits((unsigned)st->st_mode, bits, sizeof bits);
        if (st->st_uid != euid)
            return SA_FAIL(err, SA_ERR_CONFIG,
                           "%s holds %s but is %s (mode %04o): run `chown %s %s` and "
                           "`chmod 600 %s`", path, what, bits,
                           (unsigned)st->st_mode & 07777, me, path, path);
        return SA_FAIL(err, SA_ERR_CONFIG, "%s holds %s but is %s (mode %04o): run `chmod 600 %s`",
                       path, what, bits, (unsigned)st->st_mode & 07777, path);
    }
    const char *slash = strrchr(path, '/');
    int n = slash ? snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path)
                  : snprintf(dir, sizeof dir, ".");
    if (n == 0)
        snprintf(dir, sizeof dir, "/");
    struct stat dst;
    if (n >= 0 && (size_t)n < sizeof dir && stat(dir, &dst) == 0 &&
        (dst.st_mode & S_IWOTH) && !(dst.st_mode & S_ISVTX))
        return SA_FAIL(err, SA_ERR_CONFIG,
                       "%s holds %s but its directory %s is writable by others (mode %04o), so "
                       "anyone may replace it: move it, or run `chmod o-w %s`", path, what, dir,
                       (unsigned)dst.st_mode & 07777, dir);
    return SA_OK;
}

/* Read a whole small file (at most SA_CONFIG_FILE_MAX bytes; NUL-terminated copy in *out,
 * free with OPENSSL_clear_free); *st gets its status. Anything but a regular file (a FIFO, a
 * device, a directory) is refused without blocking ("not a regular file"). When secret names
 * what the file holds, it must also pass secret_file_check. */
static sa_status read_file(const char *path, const char *secret, char **out, size_t *len,
                           struct stat *st, sa_error *err)
{
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return SA_FAIL(err, SA_ERR_CONFIG, "cannot open %s: %s", path, strerror(errno));
    sa_status rc = SA_OK;
    char *buf = NULL;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        rc = SA_FAIL(err, SA_ERR_CONFIG, "%s is not a regular file", path);
        goto fail;
    }
    if (secret && (rc = secret_file_check(err, path, secret, st)) != SA_OK)
        goto fail;
    if (st->st_size > SA_CONFIG_FILE_MAX) {
        rc = SA_FAIL(err, SA_ERR_CONFIG, "%s is too large", path);
        goto fail;
    }
    /* One byte more than fstat said, to see a file that grew meanwhile. */
    size_t cap = (size_t)st->st_size + 1;
    buf = malloc(cap + 1);
    if (!buf) {
        rc = SA_FAIL(err, SA_ERR_NOMEM, "out of memory reading %s", path);
        goto fail;
    }
    /* Read to the end, never more than fstat's size: the bound holds whatever the file
     * does meanwhile. */
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = SA_FAIL(err, SA_ERR_CONFIG, "cannot read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got == cap) {
            rc = SA_FAIL(err, SA_ERR_CONFIG, "%s changed while being read", path);
            goto fail;
        }
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    close(fd);
    return SA_OK;
fail:
    if (buf)
        OPENSSL_clear_free(buf, (size_t)st->st_size + 2);
    close(fd);
    return rc;
}

static sa_status set_key(sa_config *cfg, const unsigned char *key, size_t len)
{
    if (len > sizeof cfg->signing_key)
        return SA_ERR_INVALID;
    memcpy(cfg->signing_key, key, len);
    cfg->signing_key_len = len;
    return SA_OK;
}

/* value as a path: as it is when absolute (or without a directory), else relative to dir,
 * the settings file's directory. SA_ERR_INVALID when it does not fit. */
static sa_status resolve_path(char *dst, size_t size, const char *value, const char *dir)
{
    int n = value[0] == '/' || !dir ? snprintf(dst, size, "%s", value)
                                    : snprintf(dst, size, "%s/%s", dir, value);
    return n > 0 && (size_t)n < size ? SA_OK : SA_ERR_INVALID;
}

/* What a good value looks like, per type of setting, for the bad-value message. */
#define EXPECT_DURATION "a duration like 300, 5m, 2h or 7d (seconds unless s, m, h or d follows)"
#define EXPECT_BOOL "true or false (also yes/no, on/off, 1/0)"
#define EXPECT_SIZE "a size like 65536, 64k or 1m"

#define FIELD(f) .offset = offsetof(sa_config, f), .size = sizeof ((sa_config *)0)->f

/* Every setting, in the order of etc/socialauth.conf.example. The defaults are text, parsed
 * like a value of the file by sa_config_defaults (lists: by check(), when the file set none);
 * tests/unit/test_config_example.c holds the example file to this table. */
const sa_setting sa_settings[] = {
    {.name = "db_home", .type = SA_SETTING_PATH, FIELD(db_home),
     .help = "Berkeley DB environment directory (required): local filesystem, owned by the "
             "user the programs run as"},
    {.name = "service_user", .type = SA_SETTING_STRING, FIELD(service_user),
     .help = "the web server's user: `socialauth init` as root gives it db_home and the key"},
    {.name = "signing_key", .type = SA_SETTING_KEY, FIELD(signing_key), .secret = true,
     .inline_flag = offsetof(sa_config, signing_key_inline),
     .help = "HS256 key inline, at least 32 bytes (this file then chmod 600); or signing_key_file"},
    {.name = "signing_key_file", .type = SA_SETTING_PATH, FIELD(signing_key_file),
     .help = "file holding the HS256 key (at least 32 bytes, mode 0600; required unless "
             "signing_key is set)"},
    {.name = "signing_key_dir", .type = SA_SETTING_PATH, FIELD(signing_key_dir),
     .help = "directory of our own keys with a kid (`socialauth key`)"},
    {.name = "access_token_lifetime", .type = SA_SETTING_DURATION,
     FIELD(access_token_lifetime), .def = "5m", .help = "lifetime of access tokens"},
    {.name = "refresh_token_lifetime", .type = SA_SETTING_DURATION,
     FIELD(refresh_token_lifetime), .def = "7d", .help = "lifetime of refresh tokens"},
    {.name = "rotate_refresh_tokens", .type = SA_SETTING_BOOL, FIELD(rotate_refresh_tokens),
     .def = "true", .help = "each refresh returns the session's next refresh token"},
    {.name = "reuse_grace", .type = SA_SETTING_DURATION, FIELD(reuse_grace), .def = "30s",
     .help = "how long the just-replaced refresh token still gets the same successor"},
    {.name = "leeway", .type = SA_SETTING_DURATION, FIELD(leeway), .def = "0s",
     .help = "clock skew allowed on exp, iat and nbf of our own tokens"},
    {.name = "google_leeway", .type = SA_SETTING_DURATION, FIELD(google_leeway), .def = "60s",
     .help = "clock skew allowed on Google's exp and iat"},
    {.name = "sync_rotation", .type = SA_SETTING_BOOL, FIELD(sync_rotation), .def = "true",
     .help = "flush each rotation to disk before answering"},
    {.name = "jwt_audience", .type = SA_SETTING_STRING, FIELD(jwt_audience),
     .help = "when set, the `aud` of our tokens, then required on verify"},
    {.name = "jwt_issuer", .type = SA_SETTING_STRING, FIELD(jwt_issuer),
     .help = "when set, the `iss` of our tokens, then required on verify"},
    {.name = "google_client_ids", .type = SA_SETTING_LIST, FIELD(google_client_ids),
     .help = "accepted audiences: your OAuth client ids"},
    {.name = "google_client_secret", .type = SA_SETTING_SECRET, FIELD(google_client_secret),
     .secret = true, .inline_flag = offsetof(sa_config, google_client_secret_inline),
     .help = "client secret for the code flow, inline (this file then chmod 600)"},
    {.name = "google_client_secret_file", .type = SA_SETTING_PATH,
     FIELD(google_client_secret_file),
     .help = "file holding the client secret for the code flow (mode 0600)"},
    {.name = "google_redirect_uri", .type = SA_SETTING_STRING, FIELD(google_redirect_uri),
     .help = "redirect URI the code flow's codes were issued for"},
    {.name = "link_verified_email", .type = SA_SETTING_BOOL, FIELD(link_verified_email),
     .def = "false",
     .help = "sign a Google account into the user with its e-mail when Google verified it"},
    {.name = "google_issuers", .type = SA_SETTING_LIST, FIELD(google_issuers),
     .def = "https://accounts.google.com accounts.google.com",
     .help = "accepted `iss` of Google's ID tokens"},
    {.name = "google_jwks_url", .type = SA_SETTING_STRING, FIELD(google_jwks_url),
     .def = "https://www.googleapis.com/oauth2/v3/certs",
     .help = "Google's signing keys (http:// only for loopback hosts)"},
    {.name = "google_tokeninfo_url", .type = SA_SETTING_STRING, FIELD(google_tokeninfo_url),
     .def = "https://oauth2.googleapis.com/tokeninfo",
     .help = "Google's tokeninfo endpoint (access tokens)"},
    {.name = "google_userinfo_url", .type = SA_SETTING_STRING, FIELD(google_userinfo_url),
     .def = "https://openidconnect.googleapis.com/v1/userinfo",
     .help = "Google's userinfo endpoint (access tokens)"},
    {.name = "google_token_url", .type = SA_SETTING_STRING, FIELD(google_token_url),
     .def = "https://oauth2.googleapis.com/token",
     .help = "Google's token endpoint (code flow)"},
    {.name = "google_timeout", .type = SA_SETTING_DURATION, FIELD(google_timeout), .def = "5s",
     .help = "limit on each call to Google"},
    {.name = "google_ca_file", .type = SA_SETTING_PATH, FIELD(google_ca_file),
     .help = "PEM file of the CAs trusted for Google's HTTPS instead of the system's"},
    {.name = "cors_allowed_origins", .type = SA_SETTING_LIST, FIELD(cors_allowed_origins),
     .help = "browser origins allowed to call the API, or * (not with cookie_mode)"},
    {.name = "cookie_mode", .type = SA_SETTING_BOOL, FIELD(cookie_mode), .def = "false",
     .help = "tokens in HttpOnly cookies (dj-rest-auth's JWT_AUTH_COOKIE)"},
    {.name = "cookie_secure", .type = SA_SETTING_BOOL, FIELD(cookie_secure), .def = "true",
     .help = "the cookies' Secure attribute"},
    {.name = "cookie_samesite", .type = SA_SETTING_CHOICE, FIELD(cookie_samesite), .def = "Lax",
     .choices = "Lax Strict None", .fold_case = true,
     .help = "the cookies' SameSite attribute (None needs cookie_secure)"},
    {.name = "cookie_domain", .type = SA_SETTING_STRING, FIELD(cookie_domain),
     .help = "the cookies' Domain attribute; unset: host-only cookies"},
    {.name = "cookie_access_name", .type = SA_SETTING_STRING, FIELD(cookie_access_name),
     .def = "sa-access", .help = "name of the access token cookie"},
    {.name = "cookie_refresh_name", .type = SA_SETTING_STRING, FIELD(cookie_refresh_name),
     .def = "sa-refresh", .help = "name of the refresh token cookie (Path=/api/auth/)"},
    {.name = "max_body", .type = SA_SETTING_SIZE, FIELD(max_body), .def = "64k",
     .help = "larger request bodies get 413"},
    {.name = "max_procs", .type = SA_SETTING_INT, FIELD(max_procs), .def = "2", .min = 1,
     .max = 256, .help = "FastCGI processes per endpoint started by the web server"},
    {.name = "store_backend", .type = SA_SETTING_SWITCH, FIELD(store_node), .def = "embedded",
     .choices = "embedded node",
     .help = "embedded: every program opens db_home; node: the store of `socialauth node`"},
    {.name = "node_socket", .type = SA_SETTING_PATH, FIELD(node_socket),
     .help = "UNIX socket of `socialauth node`; unset: db_home/node.sock"},
    {.name = "rep_local", .type = SA_SETTING_STRING, FIELD(rep_local),
     .help = "this node's replication address, host:port"},
    {.name = "rep_sites", .type = SA_SETTING_LIST, FIELD(rep_sites),
     .help = "the other nodes' replication addresses, host:port"},
    {.name = "rep_priority", .type = SA_SETTING_INT, FIELD(rep_priority), .def = "100",
     .min = 0, .max = 1000000, .help = "election priority; 0: never master"},
    {.name = "rep_read_wait", .type = SA_SETTING_INT, FIELD(rep_read_wait), .def = "5",
     .min = 0, .max = 10,
     .help = "seconds a read that missed on a replica waits for the master's commit position"},
};
const size_t sa_settings_count = sizeof sa_settings / sizeof sa_settings[0];
#undef FIELD

const sa_setting *sa_setting_find(const char *name)
{
    for (size_t i = 0; i < sa_settings_count; i++)
        if (strcmp(sa_settings[i].name, name) == 0)
            return &sa_settings[i];
    return NULL;
}

/* The index of value among choices (space-separated words), or -1. */
static int choice_index(const sa_setting *s, const char *value)
{
    size_t vl = strlen(value);
    int i = 0;
    for (const char *c = s->choices; *c; i++) {
        size_t cl = strcspn(c, " ");
        if (cl == vl && (s->fold_case ? strncasecmp(c, value, cl) : strncmp(c, value, cl)) == 0)
            return i;
        c += cl;
        c += *c == ' ';
    }
    return -1;
}

void sa_setting_expected(const sa_setting *s, char *out, size_t size)
{
    switch (s->type) {
    case SA_SETTING_PATH:
        snprintf(out, size, "a path shorter than %zu bytes", s->size);
        return;
    case SA_SETTING_KEY:
        snprintf(out, size, "a key of at most %zu bytes", s->size);
        return;
    case SA_SETTING_STRING:
    case SA_SETTING_SECRET:
        snprintf(out, size, "a value of at most %zu bytes", s->size - 1);
        return;
    case SA_SETTING_DURATION: snprintf(out, size, "%s", EXPECT_DURATION); return;
    case SA_SETTING_BOOL: snprintf(out, size, "%s", EXPECT_BOOL); return;
    case SA_SETTING_SIZE: snprintf(out, size, "%s", EXPECT_SIZE); return;
    case SA_SETTING_LIST:
        snprintf(out, size, "at most %d items separated by commas or spaces", SA_MAX_LIST);
        return;
    case SA_SETTING_INT:
        snprintf(out, size, "a whole number from %" PRId64 " to %" PRId64, s->min, s->max);
        return;
    case SA_SETTING_CHOICE:
    case SA_SETTING_SWITCH: {
        /* "a, b or c" from "a b c" */
        size_t used = 0, words = 1;
        for (const char *c = s->choices; *c; c++)
            words += *c == ' ';
        out[0] = '\0';
        const char *c = s->choices;
        for (size_t w = 0; w < words && used < size; w++) {
            size_t cl = strcspn(c, " ");
            int n = snprintf(out + used, size - used, "%s%.*s",
                             w == 0 ? "" : w + 1 == words ? " or " : ", ", (int)cl, c);
            used += n > 0 ? (size_t)n : 0;
            c += cl + (c[cl] == ' ');
        }
        return;
    }
    }
}

/* Set setting s of cfg from its text value (dir: the settings file's directory, for paths).
 * Returns SA_OK, SA_ERR_INVALID for a bad value, SA_ERR_NOMEM. */
static sa_status setting_apply(sa_config *cfg, const sa_setting *s, const char *value,
                               const char *dir)
{
    void *field = (char *)cfg + s->offset;
    bool b;
    int64_t i;
    sa_status st;
    switch (s->type) {
    case SA_SETTING_PATH:
        return resolve_path(field, s->size, value, dir);
    case SA_SETTING_KEY:
        *(bool *)((char *)cfg + s->inline_flag) = true;
        return set_key(cfg, (const unsigned char *)value, strlen(value));
    case SA_SETTING_SECRET:
        /* A blank line (the example's, uncommented) sets nothing. */
        *(bool *)((char *)cfg + s->inline_flag) = value[0] != '\0';
        return copy_string(field, s->size, value);
    case SA_SETTING_STRING:
        return copy_string(field, s->size, value);
    case SA_SETTING_DURATION:
        return sa_parse_duration(value, field);
    case SA_SETTING_SIZE:
        return sa_parse_size(value, field);
    case SA_SETTING_LIST:
        return strlist_parse(field, value);
    case SA_SETTING_BOOL:
        st = sa_parse_bool(value, &b);
        if (st == SA_OK)
            *(bool *)field = b;
        return st;
    case SA_SETTING_INT:
        st = sa_parse_int(value, s->min, s->max, &i);
        if (st == SA_OK)
            *(int *)field = (int)i;
        return st;
    case SA_SETTING_CHOICE:
    case SA_SETTING_SWITCH: {
        int k = choice_index(s, value);
        if (k < 0)
            return SA_ERR_INVALID;
        if (s->type == SA_SETTING_SWITCH) {
            *(bool *)field = k > 0;
            return SA_OK;
        }
        /* stored in the table's spelling */
        const char *c = s->choices;
        for (int w = 0; w < k; w++)
            c += strcspn(c, " ") + 1;
        snprintf(field, s->size, "%.*s", (int)strcspn(c, " "), c);
        return SA_OK;
    }
    }
    return SA_ERR_INVALID;
}

/* What a bad value was expected to look like (the message names the key and, when it is not
 * a secret, the value). */
typedef struct expectation {
    char text[128];
    bool show_value;
} expectation;

/* Apply one key = value. Returns SA_OK, SA_ERR_NOT_FOUND for an unknown key, or
 * SA_ERR_INVALID for a bad value, with *want filled. */
static sa_status apply(sa_config *cfg, const char *key, const char *value, const char *dir,
                       expectation *want)
{
    const sa_setting *s = sa_setting_find(key);
    if (!s)
        return SA_ERR_NOT_FOUND;
    sa_setting_expected(s, want->text, sizeof want->text);
    /* Strings may be secrets in all but name: their value is never echoed. */
    want->show_value = s->type != SA_SETTING_STRING && !s->secret;
    return setting_apply(cfg, s, value, dir);
}


void sa_config_defaults(sa_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    /* Lists allocate: they get their defaults in check(), so that a defaulted config holds
     * nothing to free. Every other default parses (test_config_example checks it). */
    for (size_t i = 0; i < sa_settings_count; i++)
        if (sa_settings[i].def && sa_settings[i].type != SA_SETTING_LIST)
            (void)setting_apply(cfg, &sa_settings[i], sa_settings[i].def, NULL);
}

/* The directory part of a path, for resolving relative paths in the file ("" → "."). */
static void dir_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, size, ".");
    else
        snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

sa_status sa_config_parse(sa_config *cfg, const char *text, size_t len, const char *origin,
                          sa_error *err)
{
    char dir[1024];
    dir_of(origin, dir, sizeof dir);
    size_t lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        lineno++;
        char line[4096];
        size_t n = (size_t)(eol - p);
        if (n >= sizeof line)
            return SA_FAIL(err, SA_ERR_CONFIG, "%s:%zu: line too long", origin, lineno);
        memcpy(line, p, n);
        line[n] = '\0';
        p = eol + 1;

        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        size_t sl = strlen(s);
        while (sl > 0 && isspace((unsigned char)s[sl - 1]))
            s[--sl] = '\0';
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return SA_FAIL(err, SA_ERR_CONFIG, "%s:%zu: expected `key = value`", origin, lineno);
        char *key = s, *value = eq + 1;
        char *ke = eq;
        while (ke > key && isspace((unsigned char)ke[-1]))
            ke--;
        *ke = '\0';
        while (isspace((unsigned char)*value))
            value++;
        expectation want = {{0}, true};
        sa_status st = apply(cfg, key, value, dir, &want);
        if (st == SA_ERR_NOT_FOUND)
            st = SA_FAIL(err, SA_ERR_CONFIG, "%s:%zu: unknown key `%s`", origin, lineno, key);
        else if (st != SA_OK && want.show_value)
            st = SA_FAIL(err, SA_ERR_CONFIG, "%s:%zu: bad value for `%s = %.40s`: expected %s",
                         origin, lineno, key, value, want.text);
        else if (st != SA_OK)
            st = SA_FAIL(err, SA_ERR_CONFIG, "%s:%zu: bad value for `%s`: expected %s", origin,
                         lineno, key, want.text);
        OPENSSL_cleanse(line, sizeof line); /* it may have held a secret */
        if (st != SA_OK)
            return st;
    }
    return SA_OK;
}

/* True for http:// URLs whose host is loopback, and for every https:// URL. */
static bool url_allowed(const char *url)
{
    if (strncmp(url, "https://", 8) == 0)
        return true;
    if (strncmp(url, "http://", 7) != 0)
        return false;
    const char *host = url + 7;
    size_t hl = strcspn(host, ":/");
    if (hl == 9 && strncmp(host, "localhost", 9) == 0)
        return true;
    if (hl == 5 && strncmp(host, "[::1]", 5) == 0)
        return true;
    char ip[64];
    if (hl == 0 || hl >= sizeof ip)
        return false;
    memcpy(ip, host, hl);
    ip[hl] = '\0';
    struct in_addr a;
    return inet_pton(AF_INET, ip, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* Read the secret file named by setting `name` into dst (size bytes; trailing newlines
 * dropped, *len set). SA_ERR_CONFIG when unreadable, readable by others, too long for dst, or,
 * for a secret used as C text (text true), holding a NUL; the signing key is raw bytes. */
static sa_status load_secret_file(const sa_config *cfg, const char *name, const char *path,
                                  bool text_secret, unsigned char *dst, size_t size,
                                  size_t *len, sa_error *err)
{
    char *text;
    size_t n;
    sa_error why = {0};
    struct stat fst;
    sa_status st = read_file(path, "a secret", &text, &n, &fst, &why);
    if (st != SA_OK)
        return SA_FAIL(err, st == SA_ERR_NOMEM ? st : SA_ERR_CONFIG, "%s: `%s`: %s", cfg->path,
                       name, why.msg);
    size_t alloc = n + 1;
    const char *from = text;
    if (text_secret) {
        /* The same whitespace the inline form loses (sa_config_parse trims both ends). */
        while (n > 0 && isspace((unsigned char)*from)) {
            from++;
            n--;
        }
        while (n > 0 && isspace((unsigned char)from[n - 1]))
            n--;
    } else {
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
            n--;
    }
    st = SA_OK;
    if (n > size || (text_secret && memchr(from, '\0', n)))
        st = SA_FAIL(err, SA_ERR_CONFIG, "%s: `%s` (%s) holds more than %zu bytes%s", cfg->path,
                     name, path, size, text_secret ? " or a NUL" : "");
    else {
        memcpy(dst, from, n);
        *len = n;
    }
    OPENSSL_clear_free(text, alloc);
    return st;
}

/* Each secret in one place: its file form loaded, both forms refused. */
static sa_status load_secrets(sa_config *cfg, sa_error *err)
{
    sa_status st;
    size_t len = 0;
    if (cfg->signing_key_inline && cfg->signing_key_file[0])
        return SA_FAIL(err, SA_ERR_CONFIG,
                       "%s: both `signing_key` and `signing_key_file` are set: keep one", cfg->path);
    if (cfg->google_client_secret_inline && cfg->google_client_secret_file[0])
        return SA_FAIL(err, SA_ERR_CONFIG,
                       "%s: both `google_client_secret` and `google_client_secret_file` are set: "
                       "keep one", cfg->path);
    if (cfg->signing_key_file[0]) {
        st = load_secret_file(cfg, "signing_key_file", cfg->signing_key_file, false,
                              cfg->signing_key, sizeof cfg->signing_key, &cfg->signing_key_len,
                              err);
        if (st != SA_OK)
            return st;
    }
    if (cfg->google_client_secret_file[0]) {
        st = load_secret_file(cfg, "google_client_secret_file", cfg->google_client_secret_file,
                              true, (unsigned char *)cfg->google_client_secret,
                              sizeof cfg->google_client_secret - 1, &len, err);
        if (st != SA_OK)
            return st;
        cfg->google_client_secret[len] = '\0';
    }
    return SA_OK;
}

static sa_status check(sa_config *cfg, sa_error *err)
{
    const char *f = cfg->path;
    sa_status secrets = load_secrets(cfg, err);
    if (secrets != SA_OK)
        return secrets;
    if (!cfg->db_home[0])
        return SA_FAIL(err, SA_ERR_CONFIG, "%s: `db_home` is required", f);
    if (!cfg->node_socket[0]) {
        int n = snprintf(cfg->node_socket, sizeof cfg->node_socket, "%s/node.sock",
                         cfg->db_home);
        if (n < 0 || (size_t)n >= sizeof cfg->node_socket)
            return SA_FAIL(err, SA_ERR_CONFIG,
                           "%s: `db_home` is too long for the default `node_socket`: set it", f);
    }
    if (cfg->signing_key_dir[0]) {
        sa_error why = {0};
        cfg->keys = calloc(1, sizeof *cfg->keys);
        if (!cfg->keys)
            return SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
        if (sa_keyring_load(cfg->keys, cfg->signing_key_dir, &why) != SA_OK)
            return SA_FAIL(err, SA_ERR_CONFIG, "%s: `signing_key_dir`: %s", f, why.msg);
    }
    if (cfg->signing_key_len == 0)
        return SA_FAIL(err, SA_ERR_CONFIG,
                       "%s: no signing key: set `signing_key_file = PATH` (a file of at least %d "
                       "random bytes, mode 0600; `socialauth init` creates it) or `signing_key`",
                       f, SA_SIGNING_KEY_MIN);
    if (cfg->signing_key_len < SA_SIGNING_KEY_MIN)
        return SA_FAIL(err, SA_ERR_CONFIG,
                       "%s: the signing key (`%s`) is %zu bytes: it must be at least %d bytes "
                       "(e.g. `openssl rand -hex 32`)",
                       f, cfg->signing_key_file[0] ? "signing_key_file" : "signing_key",
                       cfg->signing_key_len, SA_SIGNING_KEY_MIN);
    if (cfg->access_token_lifetime <= 0)
        return SA_FAIL(err, SA_ERR_CONFIG,
                       "%s: `access_token_lifetime = 0`: expected a duration above 0, like 5m", f);
    if (cfg->refresh_token_lifetime <= 0)
        return SA_FAIL(err, SA_ERR_CONFIG,
                       "%s: `refresh_token_lifetime = 0`: expected a duration above 0, like 7d", f);
    for (size_t i = 0; i < sa_settings_count; i++) {
        const sa_setting *s = &sa_settings[i];
        sa_strlist *list = (sa_strlist *)((char *)cfg + s->offset);
        if (s->type == SA_SETTING_LIST && s->def && list->n == 0 &&
            strlist_parse(list, s->def) != SA_OK)
            return SA_FAIL(err, SA_ERR_NOMEM, "out of memory");
    }
    const struct { const char *key; const char *url; } urls[] = {
        {"google_jwks_url", cfg->google_jwks_url},
        {"google_tokeninfo_url", cfg->google_tokeninfo_url},
        {"google_userinfo_url", cfg->google_userinfo_url},
        {"google_token_url", cfg->google_token_url},
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
        if (!url_allowed(urls[i].url))
            return SA_FAIL(err, SA_ERR_CONFIG,
                           "%s: `%s` must be https:// (http:// only for loopback hosts)", f,
                           urls[i].key);
    if (cfg->google_ca_file[0] && access(cfg->google_ca_file, R_OK) != 0)
        return SA_FAIL(err, SA_ERR_CONFIG, "%s: `google_ca_file` %s cannot be read", f,
                       cfg->google_ca_file);
    cfg->cors_any_origin = sa_strlist_contains(&cfg->cors_allowed_origins, "*");
    if (cfg->cors_any_origin && cfg->cors_allowed_origins.n != 1)
        return SA_FAIL(err, SA_ERR_CONFIG, "%s: `cors_allowed_origins` is either * or a list", f);
    if (cfg->cors_any_origin && cfg->cookie_mode)
        return SA_FAIL(err, SA_ERR_CONFIG,
                       "%s: `cors_allowed_origins = *` is not allowed with `cookie_mode`", f);
    if (strcmp(cfg->cookie_samesite, "None") == 0 && !cfg->cookie_secure)
        return SA_FAIL(err, SA_ERR_CONFIG,
                       "%s: `cookie_samesite = None` needs `cookie_secure = true`", f);
    return SA_OK;
}

sa_status sa_config_load(sa_config *cfg, const char *path, sa_error *err)
{
    sa_config_defaults(cfg);
    if (copy_string(cfg->path, sizeof cfg->path, path) != SA_OK)
        return SA_FAIL(err, SA_ERR_CONFIG, "configuration path too long");
    char *text;
    size_t len;
    struct stat fst;
    sa_status st = read_file(path, NULL, &text, &len, &fst, err);
    if (st != SA_OK)
        return st;
    st = sa_config_parse(cfg, text, len, path, err);
    OPENSSL_clear_free(text, len + 1); /* it may hold secrets */
    /* Security: the file that holds a secret inline is a secret file. */
    if (st == SA_OK && (cfg->signing_key_inline || cfg->google_client_secret_inline))
        st = secret_file_check(err, path,
                               cfg->signing_key_inline ? "`signing_key`" : "`google_client_secret`",
                               &fst);
    if (st == SA_OK)
        st = check(cfg, err);
    if (st != SA_OK)
        sa_config_free(cfg);
    return st;
}

const char *sa_config_default_path(void)
{
    const char *env = getenv("SOCIALAUTH_CONF");
    return env && *env ? env : SA_DEFAULT_CONF;
}
