/* key.c: `socialauth key list|add|rotate|retire`: our signing keys with a kid (keyring.h). */
#include "cli.h"

#include "keyring.h"
#include "jwt.h"
#include "owner.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
    sa_keyring_clear(&ring);
    if (out.json)
        cli_table_print_json(&t);
    else
        cli_table_print(&t);
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
    if (sa_keyring_rotate(dir, kid, &err) != SA_OK)
        return cli_fail("key rotate", &err);
    printf("%s\n", kid);
    return CLI_EXIT_OK;
}

static int key_add(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth key add KID FILE [--signing]\n"
        "Adds the key in FILE (32 to 512 bytes; trailing newlines ignored) under KID, as a\n"
        "verification key, or as the signing key with --signing (e.g. a key shared with\n"
        "another deployment). KID: 1 to 64 letters, digits, '-' or '_'.\n";
    bool signing = cli_take_flag(&argc, argv, "--signing");
    char dir[1024];
    int rc = cli_start(&argc, argv, usage, NULL, 2, "a kid and a file");
    if (rc != CLI_GO_ON || (rc = key_dir(dir, sizeof dir)) != CLI_EXIT_OK)
        return rc;
    unsigned char key[SA_SIGNING_KEY_MAX + 2];
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        fprintf(stderr, "socialauth: key add: cannot open %s: %s\n", argv[2], strerror(errno));
        return CLI_EXIT_NOT_FOUND;
    }
    size_t len = fread(key, 1, sizeof key, f);
    fclose(f);
    while (len > 0 && (key[len - 1] == '\n' || key[len - 1] == '\r'))
        len--;
    sa_error err = {0};
    sa_status st = sa_keyring_add(dir, argv[1], key, len, signing, &err);
    OPENSSL_cleanse(key, sizeof key);
    if (st != SA_OK)
        return cli_fail("key add", &err);
    fprintf(stderr, "socialauth: added key %s%s\n", argv[1], signing ? " (signing)" : "");
    return CLI_EXIT_OK;
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
    if (sa_keyring_retire(dir, argv[1], &err) != SA_OK)
        return cli_fail("key retire", &err);
    fprintf(stderr, "socialauth: retired key %s\n", argv[1]);
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
