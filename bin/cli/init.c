/* init.c: `socialauth init`, the store and a development signing key. */
#include "cli.h"

#include "token/jwt.h"
#include "core/owner.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Create the key file named by the configuration, 64 random hex bytes, mode 0600. */
static int create_key_file(const char *path)
{
    char key[65];
    if (sa_random_hex(key, 64) != SA_OK) {
        fprintf(stderr, "socialauth: cannot get random bytes for the signing key\n");
        return CLI_EXIT_FAILED;
    }
    key[64] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, key, sizeof key) != (ssize_t)sizeof key || close(fd) != 0) {
        fprintf(stderr, "socialauth: cannot write signing key %s: %s\n", path, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    fprintf(stderr, "socialauth: created development signing key %s\n", path);
    return CLI_EXIT_OK;
}

/* Users whose usernames differ only in case, which a store made before usernames were
 * unique ignoring case may hold (store.h): listed on stderr with how to resolve them. */
static int report_username_variants(sa_store *store)
{
    sa_username_variant *v;
    size_t n;
    sa_error err = {0};
    if (sa_store_username_variants(store, &v, &n, &err) != SA_OK)
        return cli_fail("username variants", &err);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || v[i].group != v[i - 1].group)
            fprintf(stderr, "socialauth: usernames that differ only in case:");
        fprintf(stderr, " %s (id %s)%s", v[i].username, v[i].id,
                i + 1 < n && v[i + 1].group == v[i].group ? "," : "\n");
    }
    if (n)
        fprintf(stderr, "socialauth: all of them keep signing in; rename all but one with "
                        "`socialauth user update ID --username NEW` (see README)\n");
    free(v);
    return CLI_EXIT_OK;
}

static int act_init(sa_config *cfg, sa_store *store, void *ctx)
{
    fprintf(stderr, "socialauth: store ready in %s\n", cfg->db_home);
    return report_username_variants(store);
}

int cli_init(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth init\n"
        "Creates the Berkeley DB environment named by `db_home` and, when `signing_key_file`\n"
        "names a file that does not exist, a new random signing key there (mode 0600), and\n"
        "the directory `signing_key_dir` names (mode 0700) when it does not exist.\n"
        "Safe to run again: what exists is kept.\n";
    int rc = cli_start(&argc, argv, usage, NULL, 0, NULL);
    if (rc != CLI_GO_ON)
        return rc;

    /* Read the file once without the checks, to learn where the keys should be. */
    sa_config probe;
    rc = cli_parse_config(&probe);
    if (rc != CLI_EXIT_OK)
        return rc;
    /* As root with service_user set: db_home and the keys belong to that user, or we refuse. */
    sa_error err = {0};
    if (sa_owner_prepare(probe.db_home, probe.signing_key_file, probe.service_user, &err) != SA_OK)
        rc = cli_fail("init", &err);
    if (rc == CLI_EXIT_OK && probe.signing_key_file[0] &&
        access(probe.signing_key_file, F_OK) != 0) {
        rc = create_key_file(probe.signing_key_file);
        if (rc == CLI_EXIT_OK &&
            sa_owner_give(probe.signing_key_file, probe.service_user, &err) != SA_OK)
            rc = cli_fail("init", &err);
    }
    if (rc == CLI_EXIT_OK && probe.signing_key_dir[0] && mkdir(probe.signing_key_dir, 0700) == 0) {
        fprintf(stderr, "socialauth: created key directory %s (`socialauth key rotate` adds "
                        "a key)\n", probe.signing_key_dir);
        if (sa_owner_give(probe.signing_key_dir, probe.service_user, &err) != SA_OK)
            rc = cli_fail("init", &err);
    }
    sa_config_free(&probe);
    if (rc != CLI_EXIT_OK)
        return rc;
    return cli_with_store(SA_STORE_CREATE, act_init, NULL);
}
