/* node.c: `socialauth node` and `socialauth cluster status` (README "Several nodes"); the
 * work is the library's (lib/store/node.c), these only hand it the settings file. */
#include "cli.h"
#include "store/node.h"

int cli_node(int argc, char **argv)
{
    return sa_node_main(argc, argv, cli_conf_path);
}

int cli_cluster(int argc, char **argv)
{
    return sa_cluster_main(argc, argv, cli_conf_path);
}
