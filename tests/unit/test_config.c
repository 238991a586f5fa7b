/* Unit tests for lib/config/config.c: syntax, every value kind, required keys and cross-checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"

static const char KEY[] = "0123456789abcdef0123456789abcdef";

static sa_status parse(sa_config *cfg, const char *text, sa_error *err)
{
    sa_config_defaults(cfg);
    return sa_config_parse(cfg, text, strlen(text), "/etc/test.conf", err);
}

/* Write text to a fresh file with mode `mode`; returns its path (static buffer). */
static const char *write_file(const char *name, const char *text, mode_t mode)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/sa-config-test-%d-%s", (int)getpid(), name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
    return path;
}

static void test_defaults(void **state)
{
    sa_config cfg;
    sa_config_defaults(&cfg);
    assert_int_equal(cfg.access_token_lifetime, 300);
    assert_int_equal(cfg.refresh_token_lifetime, 7 * 86400);
    assert_true(cfg.rotate_refresh_tokens);
    assert_int_equal(cfg.reuse_grace, 30);
    assert_int_equal(cfg.max_body, 64 * 1024);
    assert_false(cfg.cookie_mode);
    assert_string_equal(cfg.cookie_samesite, "Lax");
    sa_config_free(&cfg);
}

static void test_syntax_comments_spaces(void **state)
{
    sa_config cfg;
    sa_error err = {0};
    assert_int_equal(parse(&cfg, "# comment\n\n   access_token_lifetime   =   10m  \n"
                                 "rotate_refresh_tokens=no\r\nleeway = 5\n", &err), SA_OK);
    assert_int_equal(cfg.access_token_lifetime, 600);
    assert_false(cfg.rotate_refresh_tokens);
    assert_int_equal(cfg.leeway, 5);
    assert_int_equal(cfg.google_leeway, 60);   /* issue 8.10: its own default */
    sa_config_free(&cfg);
    assert_int_equal(parse(&cfg, "google_leeway = 2m\n", &err), SA_OK);
    assert_int_equal(cfg.google_leeway, 120);
    assert_int_equal(cfg.leeway, 0);
    sa_config_free(&cfg);
}

static void test_durations_sizes_bools(void **state)
{
    int64_t d;
    size_t s;
    bool b;
    assert_int_equal(sa_parse_duration("7d", &d), SA_OK);
    assert_int_equal(d, 7 * 86400);
    assert_int_equal(sa_parse_duration("2h", &d), SA_OK);
    assert_int_equal(d, 7200);
    assert_int_equal(sa_parse_duration("30", &d), SA_OK);
    assert_int_equal(d, 30);
    assert_int_equal(sa_parse_duration("-1s", &d), SA_ERR_INVALID);
    assert_int_equal(sa_parse_duration("1w", &d), SA_ERR_INVALID);
    assert_int_equal(sa_parse_duration("", &d), SA_ERR_INVALID);
    assert_int_equal(sa_parse_duration("s", &d), SA_ERR_INVALID);
    assert_int_equal(sa_parse_duration("99999999999999999999d", &d), SA_ERR_INVALID);
    assert_int_equal(sa_parse_duration("1 m", &d), SA_ERR_INVALID);
    assert_int_equal(sa_parse_size("64k", &s), SA_OK);
    assert_int_equal(s, 65536);
    assert_int_equal(sa_parse_size("2m", &s), SA_OK);
    assert_int_equal(s, 2 * 1024 * 1024);
    assert_int_equal(sa_parse_size("0x10", &s), SA_ERR_INVALID);
    assert_int_equal(sa_parse_bool("TRUE", &b), SA_OK);
    assert_true(b);
    assert_int_equal(sa_parse_bool("off", &b), SA_OK);
    assert_false(b);
    assert_int_equal(sa_parse_bool("maybe", &b), SA_ERR_INVALID);
}

static void test_lists(void **state)
{
    sa_config cfg;
    sa_error err = {0};
    assert_int_equal(parse(&cfg, "google_client_ids = a.apps, b.apps  c.apps\n", &err), SA_OK);
    assert_int_equal(cfg.google_client_ids.n, 3);
    assert_true(sa_strlist_contains(&cfg.google_client_ids, "b.apps"));
    assert_false(sa_strlist_contains(&cfg.google_client_ids, "b"));
    /* a repeated key replaces the list */
    const char *again = "google_client_ids = z\n";
    assert_int_equal(sa_config_parse(&cfg, again, strlen(again), "x", &err), SA_OK);
    assert_int_equal(cfg.google_client_ids.n, 1);
    sa_config_free(&cfg);
}

static void test_errors_name_key_and_line(void **state)
{
    sa_config cfg;
    sa_error err = {0};
    assert_int_equal(parse(&cfg, "leeway = 1\nfoo = bar\n", &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "/etc/test.conf:2"));
    assert_non_null(strstr(err.msg, "unknown key `foo`"));
    sa_config_free(&cfg);
    assert_int_equal(parse(&cfg, "max_body = lots\n", &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "bad value for `max_body = lots`: expected a size like"));
    sa_config_free(&cfg);
    assert_int_equal(parse(&cfg, "access_token_lifetime = 5x\n", &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "`access_token_lifetime = 5x`: expected a duration like "
                                    "300, 5m, 2h or 7d"));
    sa_config_free(&cfg);
    assert_int_equal(parse(&cfg, "cookie_mode = perhaps\n", &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "`cookie_mode = perhaps`: expected true or false"));
    sa_config_free(&cfg);
    /* a string's value may be a secret: named, never echoed */
    char big[400];
    memset(big, 's', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char line[512];
    snprintf(line, sizeof line, "google_client_secret = %s\n", big);
    assert_int_equal(parse(&cfg, line, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "bad value for `google_client_secret`: expected a value of "
                                    "at most 255 bytes"));
    assert_null(strstr(err.msg, "sss"));
    sa_config_free(&cfg);
    assert_int_equal(parse(&cfg, "just words\n", &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "expected `key = value`"));
    sa_config_free(&cfg);
    assert_int_equal(parse(&cfg, "cookie_samesite = sometimes\n", &err), SA_ERR_CONFIG);
    sa_config_free(&cfg);
    assert_int_equal(parse(&cfg, "cookie_samesite = strict\n", &err), SA_OK);
    assert_string_equal(cfg.cookie_samesite, "Strict");
    sa_config_free(&cfg);
}

static void test_load_required_and_checks(void **state)
{
    sa_config cfg;
    sa_error err = {0};
    char text[512];
    const char *path = write_file("nohome.conf", "signing_key = 0123456789abcdef0123456789abcdef\n", 0600);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "`db_home` is required"));

    path = write_file("shortkey.conf", "db_home = /tmp/x\nsigning_key = short\n", 0600);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "at least 32 bytes"));
    assert_non_null(strstr(err.msg, "is 5 bytes"));

    path = write_file("nokey.conf", "db_home = /tmp/x\n", 0644);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "no signing key: set `signing_key_file = PATH`"));

    const char *keyfile = write_file("both.key", KEY, 0600);
    snprintf(text, sizeof text, "db_home = db\nsigning_key = %s\nsigning_key_file = %s\n", KEY,
             keyfile);
    path = write_file("both.conf", text, 0600);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "both `signing_key` and `signing_key_file` are set"));

    snprintf(text, sizeof text, "db_home = db\nsigning_key = %s\ngoogle_jwks_url = http://evil.example/certs\n", KEY);
    path = write_file("http.conf", text, 0600);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "google_jwks_url"));

    snprintf(text, sizeof text, "db_home = db\nsigning_key = %s\ngoogle_jwks_url = http://127.0.0.1:9/certs\n"
                                "cors_allowed_origins = *\n", KEY);
    path = write_file("ok.conf", text, 0600);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_OK);
    assert_true(cfg.cors_any_origin);
    assert_int_equal(cfg.google_issuers.n, 2);
    /* relative db_home is relative to the file */
    assert_string_equal(cfg.db_home, "/tmp/db");
    sa_config_free(&cfg);

    snprintf(text, sizeof text, "db_home = db\nsigning_key = %s\ncookie_mode = true\n"
                                "cors_allowed_origins = *\n", KEY);
    path = write_file("cookiestar.conf", text, 0600);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "cookie_mode"));

    assert_int_equal(sa_config_load(&cfg, "/nonexistent/socialauth.conf", &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "/nonexistent/socialauth.conf"));
}

static void test_key_file_permissions(void **state)
{
    sa_config cfg;
    sa_error err = {0};
    char text[512];
    char key[256];
    snprintf(key, sizeof key, "%s", write_file("key", "0123456789abcdef0123456789abcdef0123\n", 0644));
    snprintf(text, sizeof text, "db_home = /tmp/db\nsigning_key_file = %s\n", key);
    const char *path = write_file("keyfile.conf", text, 0644);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "readable by group and others"));
    chmod(key, 0600);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_OK);
    assert_int_equal(cfg.signing_key_len, 36); /* newline dropped */
    assert_memory_equal(cfg.signing_key, "0123456789abcdef0123456789abcdef0123", 36);
    sa_config_free(&cfg);

    /* The key is raw bytes: a NUL inside is part of it. */
    FILE *f = fopen(key, "w");
    assert_non_null(f);
    fwrite("0123456789abcdef\0" "0123456789abcdef", 1, 33, f);
    fclose(f);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_OK);
    assert_int_equal(cfg.signing_key_len, 33);
    assert_memory_equal(cfg.signing_key, "0123456789abcdef\0" "0123456789abcdef", 33);
    sa_config_free(&cfg);
}

/* Issue 9 point 5: every file that holds a secret is private, every secret has a file form,
 * and both forms at once are refused. The mode is checked from fstat, so this holds when the
 * tests run as root too. */
static void test_secret_files(void **state)
{
    sa_config cfg;
    sa_error err = {0};
    char text[1024], keyfile[256], secretfile[256], want[512];

    snprintf(text, sizeof text, "db_home = /tmp/db\nsigning_key = %s\n", KEY);
    const char *path = write_file("inline-key.conf", text, 0644);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    snprintf(want, sizeof want, "%s holds `signing_key` but is readable by group and others "
             "(mode 0644): run `chmod 600 %s`", path, path);
    assert_string_equal(err.msg, want);
    chmod(path, 0600);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_OK);
    sa_config_free(&cfg);
    chmod(path, 0604); /* others alone are enough to refuse */
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);

    snprintf(text, sizeof text, "db_home = /tmp/db\nsigning_key_file = %s\n"
             "google_client_secret = GOCSPX-inline\n",
             write_file("k1", "0123456789abcdef0123456789abcdef\n", 0600));
    path = write_file("inline-secret.conf", text, 0640);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "holds `google_client_secret`"));
    assert_non_null(strstr(err.msg, "(mode 0640)"));
    chmod(path, 0600);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_OK);
    assert_string_equal(cfg.google_client_secret, "GOCSPX-inline");
    sa_config_free(&cfg);

    /* Secrets in files: the configuration file may then be readable by all. */
    snprintf(keyfile, sizeof keyfile, "%s",
             write_file("k2", "0123456789abcdef0123456789abcdef\r\n", 0600));
    snprintf(secretfile, sizeof secretfile, "%s", write_file("s2", "GOCSPX-from-file\n", 0644));
    snprintf(text, sizeof text, "db_home = /tmp/db\nsigning_key_file = %s\n"
             "google_client_secret_file = %s\n", keyfile, secretfile);
    path = write_file("files.conf", text, 0644);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "`google_client_secret_file`"));
    assert_non_null(strstr(err.msg, secretfile));
    assert_non_null(strstr(err.msg, "(mode 0644): run `chmod 600"));
    chmod(secretfile, 0400);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_OK);
    assert_string_equal(cfg.google_client_secret, "GOCSPX-from-file");
    assert_int_equal(cfg.signing_key_len, 32);

    /* Freed: the secrets are wiped, not just left behind. */
    sa_config_free(&cfg);
    static const unsigned char zero[SA_SIGNING_KEY_MAX];
    assert_memory_equal(cfg.signing_key, zero, sizeof cfg.signing_key);
    assert_memory_equal(cfg.google_client_secret, zero, sizeof cfg.google_client_secret);
    assert_int_equal(cfg.signing_key_len, 0);

    /* A secret file too long for its setting. */
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char conf[256];
    snprintf(conf, sizeof conf, "%s", path);
    write_file("s2", big, 0600);
    assert_int_equal(sa_config_load(&cfg, conf, &err), SA_ERR_CONFIG);
    if (!strstr(err.msg, "holds more than 255 bytes"))
        fail_msg("%s", err.msg);

    /* Both forms of one secret: refused, not "the file wins". */
    snprintf(text, sizeof text, "db_home = /tmp/db\nsigning_key = %s\nsigning_key_file = %s\n",
             KEY, keyfile);
    path = write_file("both-key.conf", text, 0600);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "both `signing_key` and `signing_key_file` are set"));
    snprintf(text, sizeof text, "db_home = /tmp/db\nsigning_key_file = %s\n"
             "google_client_secret_file = %s\ngoogle_client_secret = x\n", keyfile, secretfile);
    path = write_file("both-secret.conf", text, 0600);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "both `google_client_secret` and "
                                    "`google_client_secret_file` are set"));
}

/* Review of issue 9, F1: a FIFO as the configuration or a secret file is refused at once
 * ("not a regular file"), never waited on; alarm() fails the test instead of hanging. */
static void test_fifo_is_refused_without_blocking(void **state)
{
    sa_config cfg;
    sa_error err = {0};
    char fifo[256], text[512], want[512];
    snprintf(fifo, sizeof fifo, "/tmp/sa-config-test-%d-fifo", (int)getpid());
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(10);
    assert_int_equal(sa_config_load(&cfg, fifo, &err), SA_ERR_CONFIG);
    snprintf(want, sizeof want, "%s is not a regular file", fifo);
    assert_string_equal(err.msg, want);

    const char *key = write_file("fifo-k", "0123456789abcdef0123456789abcdef\n", 0600);
    snprintf(text, sizeof text, "db_home = /tmp/db\nsigning_key_file = %s\n", fifo);
    const char *path = write_file("fifo-key.conf", text, 0600);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "`signing_key_file`"));
    assert_non_null(strstr(err.msg, want));
    snprintf(text, sizeof text, "db_home = /tmp/db\nsigning_key_file = %s\n"
             "google_client_secret_file = %s\n", key, fifo);
    path = write_file("fifo-secret.conf", text, 0600);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "`google_client_secret_file`"));
    assert_non_null(strstr(err.msg, want));
    alarm(0);
    unlink(fifo);
}

/* Review of issue 9, F5 and F8.4: a secret file must belong to us or root, its directory must
 * not let others swap it, and the message names the bits that are wrong and the whole fix. */
static void test_secret_file_owner_dir_and_message(void **state)
{
    sa_config cfg;
    sa_error err = {0};
    char text[512], key[256], want[1024], dir[256];
    if (geteuid() != 0)
        skip(); /* chown and seteuid need root; CI runs these as root */
    snprintf(key, sizeof key, "%s", write_file("own-k", "0123456789abcdef0123456789abcdef\n", 0600));
    snprintf(text, sizeof text, "db_home = /tmp/db\nsigning_key_file = %s\n", key);
    char conf[256];
    snprintf(conf, sizeof conf, "%s", write_file("own.conf", text, 0600));

    /* Owned by another user: refused even though its mode is right. */
    assert_int_equal(chown(key, 65534, 65534), 0);
    assert_int_equal(sa_config_load(&cfg, conf, &err), SA_ERR_CONFIG);
    snprintf(want, sizeof want, "%s holds a secret but is owned by nobody, not by root (the user "
             "this runs as) or root: run `chown root %s`", key, key);
    if (!strstr(err.msg, want))
        fail_msg("%s", err.msg);
    assert_int_equal(chown(key, 0, 0), 0);
    assert_int_equal(sa_config_load(&cfg, conf, &err), SA_OK);
    sa_config_free(&cfg);

    /* The same for a configuration file holding a secret inline. */
    snprintf(text, sizeof text, "db_home = /tmp/db\nsigning_key = %s\n", KEY);
    const char *inl = write_file("own-inline.conf", text, 0600);
    assert_int_equal(chown(inl, 65534, 65534), 0);
    assert_int_equal(sa_config_load(&cfg, inl, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "holds `signing_key` but is owned by nobody"));

    /* Write or execute bits are named as such. */
    const struct { mode_t mode; const char *words; } modes[] = {
        {0602, "writable by others"}, {0620, "writable by group"},
        {0610, "executable by group"}, {0601, "executable by others"},
        {0640, "readable by group"}, {0666, "readable and writable by group and others"},
        {0642, "readable by group, writable by others"},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        chmod(key, modes[i].mode);
        assert_int_equal(sa_config_load(&cfg, conf, &err), SA_ERR_CONFIG);
        snprintf(want, sizeof want, "%s holds a secret but is %s (mode %04o): run `chmod 600 %s`",
                 key, modes[i].words, (unsigned)modes[i].mode, key);
        if (!strstr(err.msg, want))
            fail_msg("%s\nwant: %s", err.msg, want);
    }

    /* Root's file, group-readable, read by the service user: chmod alone would lock it out. */
    chmod(key, 0604);
    chmod(conf, 0644); /* no secret inline: the service user may read it */
    assert_int_equal(setegid(65534), 0);
    assert_int_equal(seteuid(65534), 0);
    sa_status st = sa_config_load(&cfg, conf, &err);
    assert_int_equal(seteuid(0), 0);
    assert_int_equal(setegid(0), 0);
    assert_int_equal(st, SA_ERR_CONFIG);
    snprintf(want, sizeof want, "%s holds a secret but is readable by others (mode 0604): run "
             "`chown nobody %s` and `chmod 600 %s`", key, key, key);
    if (!strstr(err.msg, want))
        fail_msg("%s\nwant: %s", err.msg, want);
    chmod(key, 0600);

    /* A directory others may write without the sticky bit: anyone could swap the key. */
    snprintf(dir, sizeof dir, "/tmp/sa-config-test-%d-opendir", (int)getpid());
    mkdir(dir, 0700);
    chmod(dir, 0777);
    char dkey[300];
    snprintf(dkey, sizeof dkey, "%s/key", dir);
    int fd = open(dkey, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, KEY, strlen(KEY)), (ssize_t)strlen(KEY));
    close(fd);
    snprintf(text, sizeof text, "db_home = /tmp/db\nsigning_key_file = %s\n", dkey);
    const char *dconf = write_file("opendir.conf", text, 0600);
    assert_int_equal(sa_config_load(&cfg, dconf, &err), SA_ERR_CONFIG);
    snprintf(want, sizeof want, "its directory %s is writable by others (mode 0777)", dir);
    if (!strstr(err.msg, want))
        fail_msg("%s", err.msg);
    chmod(dir, 01777); /* sticky, like /tmp: others cannot replace our file */
    assert_int_equal(sa_config_load(&cfg, dconf, &err), SA_OK);
    sa_config_free(&cfg);
    unlink(dkey);
    rmdir(dir);
}

/* Review of issue 9, F8.5 and F8.6: a blank inline client secret sets nothing, and the file
 * form loses the same surrounding whitespace as the inline form. */
static void test_client_secret_blank_and_whitespace(void **state)
{
    sa_config cfg;
    sa_error err = {0};
    char text[512], key[256];
    snprintf(key, sizeof key, "%s", write_file("ws-k", "0123456789abcdef0123456789abcdef\n", 0600));
    snprintf(text, sizeof text, "db_home = /tmp/db\nsigning_key_file = %s\n"
             "google_client_secret =   \n", key);
    const char *path = write_file("blank.conf", text, 0644);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_OK); /* no secret: 0644 is fine */
    assert_false(cfg.google_client_secret_inline);
    assert_string_equal(cfg.google_client_secret, "");
    sa_config_free(&cfg);

    const char *secret = write_file("ws-s", " \tGOCSPX-spaced \t\r\n\n", 0600);
    snprintf(text, sizeof text, "db_home = /tmp/db\nsigning_key_file = %s\n"
             "google_client_secret_file = %s\ngoogle_client_secret =\n", key, secret);
    path = write_file("ws.conf", text, 0644);
    assert_int_equal(sa_config_load(&cfg, path, &err), SA_OK); /* blank: not "both set" */
    assert_string_equal(cfg.google_client_secret, "GOCSPX-spaced");
    sa_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_syntax_comments_spaces),
        cmocka_unit_test(test_durations_sizes_bools),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_errors_name_key_and_line),
        cmocka_unit_test(test_load_required_and_checks),
        cmocka_unit_test(test_key_file_permissions),
        cmocka_unit_test(test_secret_files),
        cmocka_unit_test(test_fifo_is_refused_without_blocking),
        cmocka_unit_test(test_secret_file_owner_dir_and_message),
        cmocka_unit_test(test_client_secret_blank_and_whitespace),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
