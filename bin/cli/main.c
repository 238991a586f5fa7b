/* main.c: `socialauth`, the admin command: global options and the command table. Each
 * family lives in its own file (cli.h lists them). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage_main[] =
    "usage: socialauth [--config FILE] COMMAND [ARGS]\n"
    "\n"
    "commands (COMMAND --help for each one's details):\n"
    "  init                 create the store and, if absent, a development signing key\n"
    "  createsuperuser      create a staff superuser\n"
    "  user                 list | show | create | update | set-active | set-staff | delete\n"
    "  token                mint: open a session for a user and print its tokens\n"
    "  session              list | revoke | count\n"
    "  key                  list | rotate | add | retire: signing keys with a kid\n"
    "  config               check | show | defaults: the settings the endpoints use\n"
    "  backup DIR           hot, consistent backup of the store into DIR\n"
    "  restore DIR          copy a backup into an empty db_home, then verify it\n"
    "  verify               check every record and index of the store\n"
    "  stats                users, sessions and the disk they take\n"
    "  checkpoint           flush the store and remove log files no longer needed\n"
    "  purge                delete expired sessions\n"
    "  export               every user and Google link as JSON lines\n"
    "  import-django FILE   users and Google links from Django's dumpdata JSON\n"
    "  node                 serve this web node's replicated store (README \"Several nodes\")\n"
    "  cluster status       this node's view of the replication group\n"
    "\n"
    "Results go to stdout: a table on a terminal, JSON lines in a pipe or with --json.\n"
    "Settings come from --config, else $SOCIALAUTH_CONF, else " SA_DEFAULT_CONF ".\n"
    "\n" CLI_EXIT_TABLE;

int main(int argc, char **argv)
{
    static const cli_command commands[] = {
        {"init", "", cli_init}, {"createsuperuser", "", cli_createsuperuser},
        {"user", "", cli_user}, {"token", "", cli_token}, {"session", "", cli_session},
        {"config", "", cli_config}, {"key", "", cli_key}, {"backup", "", cli_backup},
        {"restore", "", cli_restore},
        {"verify", "", cli_verify}, {"stats", "", cli_stats},
        {"checkpoint", "", cli_checkpoint}, {"purge", "", cli_purge},
        {"export", "", cli_export}, {"import-django", "", cli_import_django},
        {"node", "", cli_node}, {"cluster", "", cli_cluster},
    };
    cli_conf_path = sa_config_default_path();
    int i = 1;
    if (i < argc && strcmp(argv[i], "--config") == 0) {
        if (i + 1 >= argc) {
            fprintf(stderr, "socialauth: --config needs a file\n%s", usage_main);
            return CLI_EXIT_USAGE;
        }
        cli_conf_path = argv[i + 1];
        i += 2;
    }
    if (i >= argc) {
        fprintf(stderr, "socialauth: which command?\n%s", usage_main);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[i];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return CLI_EXIT_OK;
    }
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(cmd, commands[k].name) == 0)
            return commands[k].run(argc - i, argv + i);
    fprintf(stderr, "socialauth: unknown command `%s`\n%s", cmd, usage_main);
    return CLI_EXIT_USAGE;
}
