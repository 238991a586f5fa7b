/* key.c: `socialauth key list|add|rotate|retire`: our signing keys with a kid (keyring.h). */
#include "cli.h"

#include "config/keyring.h"
#include "core/utc.h"
#include "token/jwt.h"
#include "core/owner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* The key directory named by the settings (read without loading any key), into dir. As root,
 * then works as the store's owner (as cli_load_config does), so that key files made by
 * rotate/add/retire are readable to the endpoints the web server runs as that user. */
static int key_dir(char *dir, size_t size)
{
    sa_config cfg;
    int rc = cli_parse_config(&cfg);
    if (rc != CLI_EXIT_OK)
        return rc;
    snprintf(dir, size, "%s", cfg.signing_key_dir);
    sa_error err = {0};
    sa_status st = sa_owner_become_store_owner(cfg.db_home, &err);
    sa_config_free(&cfg);
    if (st != SA_OK) {
        cli_fail("key", &err);
        return CLI_EXIT_STORE;
    }
    if (!dir[0]) {
        fprintf(stderr, "socialauth: key: no `signing_key_dir` in %s: set it to a directory "
                        "only the service user can open, then run `socialauth key rotate`\n",
                cli_conf_path);
        return CLI_EXIT_CONFIG;
    }
    return CLI_EXIT_OK;
}

/* Load dir as the endpoints do (sa_keyring_load) and check that kid is present (want_kid)
 * or absent. Before a change (`before`), a directory that does not exist yet is fine and a
 * failure means nothing was changed; after one, it means the endpoints will not apply it.
 * Returns CLI_EXIT_OK, or CLI_EXIT_CONFIG after printing why (naming the bad file). */
static int key_dir_loads(const char *cmd, const char *dir, const char *kid, bool want_kid,
                         bool before)
{
    static sa_keyring ring;
    sa_error err = {0};
    struct stat st;
    if (before && stat(dir, &st) != 0 && errno == ENOENT)
        return CLI_EXIT_OK;
    sa_status status = sa_keyring_load(&ring, dir, &err);
    bool found = false;
    for (size_t i = 0; status == SA_OK && kid && i < ring.n; i++)
        found = found || strcmp(ring.keys[i].kid, kid) == 0;
    sa_keyring_clear(&ring);
    if (status != SA_OK)
        fprintf(stderr, "socialauth: key %s: the endpoints cannot load the key directory: %s; "
                        "%s\n", cmd, err.msg,
                before ? "fix it first (nothing was changed)"
                       : "they keep the keys they had until it is fixed");
    else if (!before && kid && found != want_kid)
        fprintf(stderr, "socialauth: key %s: the key directory %s key \"%s\" after the "
                        "change (changed by someone else meanwhile?)\n", cmd,
                found ? "still holds" : "does not hold", kid);
    else
        return CLI_EXIT_OK;
    return CLI_EXIT_CONFIG;
}

/* The exit status of a failed key directory change: writing it is the key directory's
 * problem (4), as the table says; the rest as cli_exit_for. */
static int key_fail(const char *what, const sa_error *err)
{
    int rc = cli_fail(what, err);
    return err->status == SA_ERR_UNAVAILABLE ? CLI_EXIT_CONFIG : rc;
}

static int key_list(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth key list [--json|--table]\n"
        "Lists the keys of `signing_key_dir`: the signing key signs new tokens, every key\n"
        "verifies tokens whose header names its kid. Tokens without a kid (simplejwt's) are\n"
        "checked against `signing_key` / `signing_key_file`, the Django key. Never prints\n"
        "key material.\n";
    cli_output out;
    char dir[1024];
    int rc = cli_start(&argc, argv, usage, &out, 0, NULL);
    if (rc != CLI_GO_ON || (rc = key_dir(dir, sizeof dir)) != CLI_EXIT_OK)
        return rc;
    static sa_keyring ring;
    sa_error err = {0};
    if (sa_keyring_load(&ring, dir, &err) != SA_OK)
        return cli_fail("key list", &err);
    cli_table t;
    cli_table_begin(&t, 3, (const char *const[]){"KID", "ROLE", "CREATED"});
    for (size_t i = 0; i < ring.n; i++) {
        char created[32];
        sa_format_utc(ring.keys[i].created, created, sizeof created);
        cli_table_row(&t, (const char *const[]){ring.keys[i].kid,
                                               (int)i == ring.signing ? "signing" : "verifying",
                                               created});
    }
    size_t n = ring.n;
    sa_keyring_clear(&ring);
    if (out.json)
        cli_table_print_json(&t);
    else
        cli_table_print(&t);
    fprintf(stderr, "socialauth: key list: %s; tokens without a kid are checked against the "
                    "Django key (signing_key / signing_key_file)\n",
            n ? "keys of the key directory" : "no key in the key directory yet (`socialauth "
                                              "key rotate` makes one): tokens are signed with "
                                              "the Django key");
    return CLI_EXIT_OK;
}

static int key_rotate(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth key rotate\n"
        "Makes a new random key the signing key and prints its kid. Tokens signed by the\n"
        "previous key stay valid until they expire (or until `socialauth key retire`).\n"
        "Running endpoints use the new key within a second.\n";
    char dir[1024], kid[SA_KID_MAX + 1];
    int rc = cli_start(&argc, argv, usage, NULL, 0, NULL);
    if (rc != CLI_GO_ON || (rc = key_dir(dir, sizeof dir)) != CLI_EXIT_OK)
        return rc;
    sa_error err = {0};
    if ((rc = key_dir_loads("rotate", dir, NULL, false, true)) != CLI_EXIT_OK)
        return rc;
    if (sa_keyring_rotate(dir, kid, &err) != SA_OK)
        return key_fail("key rotate", &err);
    printf("%s\n", kid);
    return key_dir_loads("rotate", dir, kid, true, false);
}

/* Read the key in path into key (size SA_SIGNING_KEY_MAX + 2 bytes, the caller's, cleansed by
 * it), trailing newlines dropped, its length into *len. Read as the invoking user, before
 * working as the store's owner: an admin's 0600 file stays readable to `sudo socialauth`.
 * Returns CLI_EXIT_OK, or CLI_EXIT_NOT_FOUND / CLI_EXIT_CONFIG after printing why. */
static int key_file_read(const char *path, unsigned char *key, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        fprintf(stderr, "socialauth: key add: cannot open %s: %s\n", path, strerror(e));
        if (fd >= 0)
            close(fd);
        return e == ENOENT ? CLI_EXIT_NOT_FOUND : CLI_EXIT_CONFIG;
    }
    /* Security: a key others could read may be known to them; it is refused, as the
     * endpoints refuse such key files. */
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        close(fd);
        fprintf(stderr, "socialauth: key add: %s %s\n", path,
                S_ISREG(st.st_mode) ? "must not be readable by group or others (chmod 600 it; "
                                      "if others could read it, make a new key)"
                                    : "is not a regular file");
        return CLI_EXIT_CONFIG;
    }
    ssize_t got = read(fd, key, SA_SIGNING_KEY_MAX + 2);
    close(fd);
    *len = got > 0 ? (size_t)got : 0;
    while (*len > 0 && (key[*len - 1] == '\n' || key[*len - 1] == '\r'))
        (*len)--;
    if (got < 0 || *len < SA_SIGNING_KEY_MIN || *len > SA_SIGNING_KEY_MAX) {
        fprintf(stderr, "socialauth: key add: %s: a key must be %d to %d bytes, not %s%zu\n",
                path, SA_SIGNING_KEY_MIN, SA_SIGNING_KEY_MAX,
                *len > SA_SIGNING_KEY_MAX ? "over " : "", *len > SA_SIGNING_KEY_MAX
                                                          ? (size_t)SA_SIGNING_KEY_MAX : *len);
        return CLI_EXIT_CONFIG;
    }
    return CLI_EXIT_OK;
}

static int key_add(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth key add KID FILE [--signing]\n"
        "Adds the key in FILE (32 to 512 bytes; trailing newlines ignored) under KID, as a\n"
        "verification key, or as the signing key with --signing (e.g. a key shared with\n"
        "another deployment). KID: 1 to 64 letters, digits, '-' or '_'. FILE must be\n"
        "readable by its owner only (chmod 600). Like rotate and retire, it changes nothing\n"
        "while the endpoints cannot load the key directory (exit 4, naming the file).\n";
    bool signing = cli_take_flag(&argc, argv, "--signing");
    char dir[1024];
    int rc = cli_start(&argc, argv, usage, NULL, 2, "a kid and a file");
    if (rc != CLI_GO_ON)
        return rc;
    if (!sa_kid_valid(argv[1]))
        return cli_usage_error(usage, "kid \"%.64s\": expected 1 to %d letters, "
                                      "digits, '-' or '_'", argv[1], SA_KID_MAX);
    unsigned char key[SA_SIGNING_KEY_MAX + 2];
    size_t len = 0;
    if ((rc = key_file_read(argv[2], key, &len)) != CLI_EXIT_OK ||
        (rc = key_dir(dir, sizeof dir)) != CLI_EXIT_OK ||
        (rc = key_dir_loads("add", dir, NULL, false, true)) != CLI_EXIT_OK) {
        OPENSSL_cleanse(key, sizeof key);
        return rc;
    }
    sa_error err = {0};
    sa_status added = sa_keyring_add(dir, argv[1], key, len, signing, &err);
    OPENSSL_cleanse(key, sizeof key);
    if (added != SA_OK)
        return key_fail("key add", &err);
    fprintf(stderr, "socialauth: key add: added key %s%s\n", argv[1], signing ? " (signing)" : "");
    return key_dir_loads("add", dir, argv[1], true, false);
}

static int key_retire(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth key retire KID\n"
        "Removes the key: tokens signed with it stop verifying within a second. The signing\n"
        "key cannot be retired (rotate first).\n";
    char dir[1024];
    int rc = cli_start(&argc, argv, usage, NULL, 1, "one kid");
    if (rc != CLI_GO_ON || (rc = key_dir(dir, sizeof dir)) != CLI_EXIT_OK)
        return rc;
    sa_error err = {0};
    if ((rc = key_dir_loads("retire", dir, NULL, false, true)) != CLI_EXIT_OK)
        return rc;
    if (sa_keyring_retire(dir, argv[1], &err) != SA_OK)
        return key_fail("key retire", &err);
    if ((rc = key_dir_loads("retire", dir, argv[1], false, false)) != CLI_EXIT_OK)
        return rc;
    fprintf(stderr, "socialauth: key retire: retired key %s\n", argv[1]);
    return CLI_EXIT_OK;
}

int cli_key(int argc, char **argv)
{
    static const cli_command cmds[] = {
        {"list", "the keys and which one signs", key_list},
        {"rotate", "make a new signing key; the old one still verifies", key_rotate},
        {"add", "add a key from a file under a kid", key_add},
        {"retire", "remove a key: its tokens stop verifying", key_retire},
    };
    return cli_dispatch("key", cmds, sizeof cmds / sizeof cmds[0], argc, argv);
}
