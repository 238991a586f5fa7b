/* test_keyring.c: lib/config/keyring.c with lib/token/jwt.c - kid-named keys in a directory: rotation,
 * the previous key still verifying, retirement, the Django key for tokens without kid, the
 * one-second refresh bound, and the directory's permission rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "token/jwt.h"
#include "config/keyring.h"

#define DJANGO_KEY "django-key-of-at-least-32-bytes-0123456789"
#define NOW INT64_C(1700000100)

static char dir[256];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/sa-keyring-test-%d", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void cfg_with(sa_config *cfg, sa_keyring *ring)
{
    memset(cfg, 0, sizeof *cfg);
    memcpy(cfg->signing_key, DJANGO_KEY, strlen(DJANGO_KEY));
    cfg->signing_key_len = strlen(DJANGO_KEY);
    cfg->keys = ring;
}

static void mint(const sa_config *cfg, char *out, size_t size)
{
    sa_claims c = {.token_type = SA_TOKEN_ACCESS, .exp = NOW + 300, .iat = NOW,
                   .jti = "0123456789abcdef0123456789abcdef", .user_id = "u1"};
    sa_error err = {0};
    assert_int_equal(sa_jwt_mint(cfg, &c, out, size, &err), SA_OK);
}

static sa_jwt_result verify(const sa_config *cfg, const char *token)
{
    sa_claims out;
    return sa_jwt_verify(cfg, token, strlen(token), SA_TOKEN_ACCESS, NOW, &out, NULL);
}

static void test_rotate_retire(void **state)
{
    static sa_keyring ring;
    sa_config cfg, django_only;
    sa_error err = {0};
    char k1[SA_KID_MAX + 1], k2[SA_KID_MAX + 1];
    char plain[SA_JWT_MAX_LEN], t1[SA_JWT_MAX_LEN], t2[SA_JWT_MAX_LEN];

    cfg_with(&cfg, &ring);
    cfg_with(&django_only, NULL);
    mint(&django_only, plain, sizeof plain);

    assert_int_equal(sa_keyring_rotate(dir, k1, &err), SA_OK);
    assert_int_equal(sa_keyring_load(&ring, dir, &err), SA_OK);
    assert_int_equal(ring.n, 1);
    assert_string_equal(sa_keyring_signing(&ring)->kid, k1);
    mint(&cfg, t1, sizeof t1);
    assert_memory_equal(t1, ring.keys[0].header_b64, strlen(ring.keys[0].header_b64));
    assert_int_equal(verify(&cfg, t1), SA_JWT_VALID);
    assert_int_equal(verify(&django_only, t1), SA_JWT_INVALID); /* needs its kid's key */
    assert_int_equal(verify(&cfg, plain), SA_JWT_VALID);        /* no kid: the Django key */

    /* rotate: the first refresh stats the directory and loads the new signing key */
    assert_int_equal(sa_keyring_rotate(dir, k2, &err), SA_OK);
    assert_int_equal(sa_keyring_refresh(&ring, 5000, &err), SA_OK);
    assert_int_equal(ring.n, 2);
    assert_string_equal(sa_keyring_signing(&ring)->kid, k2);
    mint(&cfg, t2, sizeof t2);
    assert_int_equal(verify(&cfg, t1), SA_JWT_VALID);
    assert_int_equal(verify(&cfg, t2), SA_JWT_VALID);

    assert_int_equal(sa_keyring_retire(dir, k2, &err), SA_ERR_INVALID);
    assert_int_equal(sa_keyring_retire(dir, k1, &err), SA_OK);
    assert_int_equal(sa_keyring_retire(dir, k1, &err), SA_ERR_NOT_FOUND);
    assert_int_equal(sa_keyring_refresh(&ring, 5900, &err), SA_OK);
    assert_int_equal(verify(&cfg, t1), SA_JWT_VALID);           /* not looked at yet */
    assert_int_equal(sa_keyring_refresh(&ring, 6600, &err), SA_OK);
    assert_int_equal(verify(&cfg, t1), SA_JWT_INVALID);         /* retired */
    assert_int_equal(verify(&cfg, t2), SA_JWT_VALID);
    assert_int_equal(verify(&cfg, plain), SA_JWT_VALID);
    sa_keyring_clear(&ring);
}

static void test_directory_rules(void **state)
{
    static sa_keyring ring;
    sa_error err = {0};
    char kid[SA_KID_MAX + 1], path[512];
    assert_int_equal(sa_keyring_load(&ring, "/nonexistent/keys", &err), SA_ERR_CONFIG);
    assert_int_equal(sa_keyring_rotate(dir, kid, &err), SA_OK);
    chmod(dir, 0755);
    assert_int_equal(sa_keyring_load(&ring, dir, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "chmod 700"));
    chmod(dir, 0700);
    snprintf(path, sizeof path, "%s/%s.key", dir, kid);
    chmod(path, 0640);
    assert_int_equal(sa_keyring_load(&ring, dir, &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "must not be readable by group or others"));
    assert_int_equal(ring.n, 0);
    chmod(path, 0600);
    static const unsigned char shortkey[] = "too-short";
    assert_int_equal(sa_keyring_add(dir, "s", shortkey, 9, false, &err), SA_ERR_INVALID);
    assert_int_equal(sa_keyring_add(dir, "../x", (const unsigned char *)DJANGO_KEY,
                                    strlen(DJANGO_KEY), false, &err), SA_ERR_INVALID);
    assert_int_equal(sa_keyring_add(dir, kid, (const unsigned char *)DJANGO_KEY,
                                    strlen(DJANGO_KEY), false, &err), SA_ERR_EXISTS);
    /* a refresh that fails to load keeps the keys in use */
    assert_int_equal(sa_keyring_load(&ring, dir, &err), SA_OK);
    chmod(path, 0644);
    assert_int_equal(sa_keyring_add(dir, "touch", (const unsigned char *)DJANGO_KEY,
                                    strlen(DJANGO_KEY), false, &err), SA_OK);
    assert_int_equal(sa_keyring_refresh(&ring, 10000, &err), SA_ERR_CONFIG);
    assert_int_equal(ring.n, 1);
    assert_string_equal(sa_keyring_signing(&ring)->kid, kid);
    sa_keyring_clear(&ring);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rotate_retire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
