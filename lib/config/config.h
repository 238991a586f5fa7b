/* config.h: socialauth's settings, read once per process from one `key = value` file.
 *
 * File syntax: one `key = value` per line, `#` starts a comment line, blank lines ignored,
 * surrounding spaces trimmed. Durations take a suffix s, m, h or d (none means seconds);
 * sizes take k or m; booleans are true/false/yes/no/on/off/1/0. An unknown key, a bad value
 * or a missing required key is an SA_ERR_CONFIG naming the key and the file. */
#ifndef SA_CONFIG_H
#define SA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sa_error.h"

/* The settings file when neither --config nor SOCIALAUTH_CONF names one: relative to the
 * working directory in a checkout; `make install` builds with PREFIX's (/etc/socialauth/...). */
#ifndef SA_DEFAULT_CONF
#define SA_DEFAULT_CONF "etc/socialauth.conf"
#endif

#define SA_MAX_LIST 16
#define SA_SIGNING_KEY_MIN 32
#define SA_SIGNING_KEY_MAX 512

typedef struct sa_keyring sa_keyring;   /* keyring.h */

/* A bounded list of strings split from a comma/space separated value. */
typedef struct sa_strlist {
    size_t n;
    char *v[SA_MAX_LIST];
} sa_strlist;

typedef struct sa_config {
    char path[1024];                 /* the file this came from */
    char db_home[1024];              /* Berkeley DB environment directory (required) */

    unsigned char signing_key[SA_SIGNING_KEY_MAX]; /* HS256 key, raw bytes (required) */
    size_t signing_key_len;
    char signing_key_file[1024];     /* where the key came from, "" when inline */
    bool signing_key_inline;         /* `signing_key` was set in the file itself */
    char signing_key_dir[1024];      /* our kid-named keys (keyring.h), "" when none */
    sa_keyring *keys;                /* loaded from signing_key_dir by sa_config_load; owned,
                                        NULL when none; refreshed by the request loop */
    char jwt_audience[256];          /* optional `aud`, then required on verify */
    char jwt_issuer[256];            /* optional `iss`, then required on verify */

    int64_t access_token_lifetime;   /* seconds, default 300 */
    int64_t refresh_token_lifetime;  /* seconds, default 7 days */
    bool rotate_refresh_tokens;      /* default true */
    int64_t reuse_grace;             /* seconds, default 30 */
    int64_t leeway;                  /* seconds, default 0: our tokens' exp/iat/nbf */
    int64_t google_leeway;           /* seconds, default 60: Google's exp/iat */
    bool sync_rotation;              /* rotation commits synced to disk; default true */

    sa_strlist google_client_ids;
    char google_client_secret[256];
    char google_client_secret_file[1024]; /* where the secret came from, "" when inline */
    bool google_client_secret_inline;     /* `google_client_secret` was set in the file */
    char google_redirect_uri[1024];
    sa_strlist google_issuers;       /* default https://accounts.google.com accounts.google.com */
    char google_jwks_url[1024];
    char google_tokeninfo_url[1024];
    char google_userinfo_url[1024];
    char google_token_url[1024];
    int64_t google_timeout;          /* seconds for each call to Google, default 5 */
    char google_ca_file[1024];       /* PEM bundle of the CAs trusted for Google's HTTPS
                                        instead of the system's; "" (default): the system's.
                                        For tests' own TLS fakes and pinned deployments. */
    bool link_verified_email;        /* default false */

    sa_strlist cors_allowed_origins; /* may hold the single value "*" */
    bool cors_any_origin;            /* true when cors_allowed_origins is "*" */

    bool cookie_mode;                /* default false */
    bool cookie_secure;              /* default true */
    char cookie_samesite[16];        /* Lax (default), Strict or None */
    char cookie_domain[256];         /* empty: host-only cookie */
    char cookie_access_name[64];     /* default sa-access */
    char cookie_refresh_name[64];    /* default sa-refresh */

    size_t max_body;                 /* bytes, default 64 KiB */
    int max_procs;                   /* processes per endpoint for the web server, default 2 */

    /* Several nodes (README "Several nodes"): */
    bool store_node;                 /* store_backend = node: the store is `socialauth node`'s,
                                        reached over node_socket; default embedded (false) */
    char node_socket[108];           /* UNIX socket path (sun_path bound), default
                                        db_home/node.sock */
    char rep_local[256];             /* this node's replication address, host:port */
    sa_strlist rep_sites;            /* the other nodes' replication addresses, host:port */
    int rep_priority;                /* election priority, 0 = never master; default 100 */
    int rep_read_wait;               /* seconds a read that missed on a replica waits for the
                                        master's commit position (read-your-writes); default
                                        5, at most 10; 0 = answer the miss at once */
    char service_user[64];           /* user the web server runs the programs as; `init` as
                                        root gives it db_home and the key ("" = no change) */
} sa_config;

/* The kind of value a setting takes, which fixes its field's C type in sa_config. */
typedef enum sa_setting_type {
    SA_SETTING_PATH,      /* char[size]: relative to the settings file's directory */
    SA_SETTING_STRING,    /* char[size], NUL-terminated; never echoed in errors */
    SA_SETTING_SECRET,    /* char[size], like STRING; shown only as set or not */
    SA_SETTING_KEY,       /* the signing key: raw bytes and signing_key_len */
    SA_SETTING_DURATION,  /* int64_t seconds: sa_parse_duration */
    SA_SETTING_BOOL,      /* bool: sa_parse_bool */
    SA_SETTING_LIST,      /* sa_strlist: at most SA_MAX_LIST comma/space separated items */
    SA_SETTING_SIZE,      /* size_t bytes: sa_parse_size */
    SA_SETTING_INT,       /* int within [min, max] */
    SA_SETTING_CHOICE,    /* char[size]: one of `choices`, stored in the table's spelling */
    SA_SETTING_SWITCH,    /* bool: the first of two `choices` is false, the second true */
} sa_setting_type;

/* One setting of the file (lighttpd's config_values_t, with what a reader needs too). */
typedef struct sa_setting {
    const char *name;         /* the key in the file */
    sa_setting_type type;
    size_t offset, size;      /* its field in sa_config (offsetof, sizeof) */
    const char *def;          /* the default, written as in the file; NULL: none (unset, or
                                 required: the help says which) */
    int64_t min, max;         /* SA_SETTING_INT's bounds, inclusive */
    const char *choices;      /* SA_SETTING_CHOICE/SWITCH: the allowed values, space separated */
    bool fold_case;           /* choices match ignoring case */
    bool secret;              /* never echoed in an error nor shown by `socialauth config` */
    size_t inline_flag;       /* KEY/SECRET: offset of the bool saying it was set inline */
    const char *help;         /* one line for `socialauth config defaults` */
} sa_setting;

/* Every setting, in the order of etc/socialauth.conf.example; sa_config_parse knows these and
 * nothing else. */
extern const sa_setting sa_settings[];
extern const size_t sa_settings_count;

/* The setting called name, or NULL. */
const sa_setting *sa_setting_find(const char *name);

/* What a value of s must look like, as the bad-value error says it (e.g. "a size like 65536,
 * 64k or 1m"), into out (size bytes, always terminated). */
void sa_setting_expected(const sa_setting *s, char *out, size_t size);

/* Fill cfg with the table's defaults (no db_home, no key; lists stay empty until
 * sa_config_load). Never fails; holds nothing to free. */
void sa_config_defaults(sa_config *cfg);

/* Parse `text` (len bytes) over cfg's current values; `origin` names the source in
 * errors. Does not check required keys. Returns SA_OK or SA_ERR_CONFIG. */
sa_status sa_config_parse(sa_config *cfg, const char *text, size_t len, const char *origin,
                          sa_error *err);

/* Defaults, then the file at `path`, then required keys and cross-checks
 * (key length, `*` origins with cookie mode, http:// Google URLs only for loopback).
 * Secrets (issue 9): signing_key_file and google_client_secret_file are read here (trailing
 * newlines dropped); any file that holds a secret (those, or the configuration file itself
 * when it sets signing_key or google_client_secret inline) must not be readable by group or
 * others: SA_ERR_CONFIG naming the file, its mode and the fix. Setting both forms of one
 * secret is SA_ERR_CONFIG too. signing_key_dir, when set, is loaded
 * into cfg->keys (sa_keyring_load's errors). Returns SA_OK, SA_ERR_CONFIG, SA_ERR_NOMEM; on failure cfg
 * holds nothing to free. */
sa_status sa_config_load(sa_config *cfg, const char *path, sa_error *err);

/* The path named by SOCIALAUTH_CONF, else the built-in default. */
const char *sa_config_default_path(void);

/* Free the strings held by lists and the keyring, and wipe the secrets (OPENSSL_cleanse).
 * Safe on a zeroed or defaulted config. */
void sa_config_free(sa_config *cfg);

/* True when s is in list (exact, constant in nothing: lists are not secret). */
bool sa_strlist_contains(const sa_strlist *list, const char *s);

/* Parse helpers, exposed for tests and the admin command. Each returns SA_OK or SA_ERR_INVALID. */
sa_status sa_parse_duration(const char *s, int64_t *out);
sa_status sa_parse_size(const char *s, size_t *out);
sa_status sa_parse_bool(const char *s, bool *out);
sa_status sa_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
