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
    int64_t google_leeway;           /* seconds, default 60: Google's exp/iat (API.md 3) */
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
    int64_t rep_read_wait;           /* seconds a read that missed on a replica waits for the
                                        master's commit position (read-your-writes); default
                                        5, at most 10; 0 = answer the miss at once */
    char service_user[64];           /* user the web server runs the programs as; `init` as
                                        root gives it db_home and the key ("" = no change) */
} sa_config;

/* Fill cfg with the defaults above (no db_home, no key). Never fails. */
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
