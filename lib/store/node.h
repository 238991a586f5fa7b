/* node.h: the `socialauth node` and `socialauth cluster` commands (README "Several nodes").
 * Command mains: they print to stderr/stdout and return an exit status (0 ok, 1 failed,
 * 2 bad usage), like the rest of bin/socialauth. */
#ifndef SA_NODE_H
#define SA_NODE_H

/* `socialauth node`: open the replicated store (store_rep.h) and serve the store protocol on
 * node_socket (mode 0660) until SIGTERM or SIGINT. argv[0] is "node". */
int sa_node_main(int argc, char **argv, const char *conf_path);

/* `socialauth cluster status`: print this node's view of the group (role, master, log
 * position, lag behind the master, last failover, sites). */
int sa_cluster_main(int argc, char **argv, const char *conf_path);

#endif
