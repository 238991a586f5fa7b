/* node.c: `socialauth node`, the one process of a web node that opens the replicated store,
 * serving the node protocol (store_wire.h) to the node's programs on a UNIX socket: one
 * thread per connection (each FastCGI process keeps one), one for upkeep, one for signals.
 * A supervisor restarts it; the programs answer 503 while it is down (store_remote.c). */
#include "store/node.h"
#include "config/config.h"
#include "store/store.h"
#include "store/store_remote.h"
#include "store/store_rep.h"
#include "store/store_internal.h"
#include "store/store_wire.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NODE_REQUEST_MAX (1u * 1024 * 1024)   /* a request: Google's keys are the largest */

static volatile int node_stop;
static int node_listen_fd = -1;
static sa_store *node_store;
static int64_t node_leeway;   /* the config's leeway: purges keep records until exp + it */

static void *node_signals(void *arg)
{
    sigset_t *set = arg;
    int sig;
    while (sigwait(set, &sig) != 0)
        ;
    node_stop = 1;
    if (node_listen_fd >= 0)
        shutdown(node_listen_fd, SHUT_RDWR);
    return NULL;
}

static void *node_upkeep(void *arg)
{
    (void)arg;
    while (!node_stop) {
        sa_error err = {0};
        if (sa_store_rep_upkeep(node_store, (int64_t)time(NULL), node_leeway, &err) != SA_OK)
            fprintf(stderr, "socialauth node: upkeep: %s\n", err.msg);
        sleep(1);
    }
    return NULL;
}

static void *node_connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    unsigned char *req;
    size_t len;
    while (!node_stop && sa_wire_recv(fd, NODE_REQUEST_MAX, &req, &len) == 0) {
        sa_wire answer = {0};
        sa_store_rep_handle(node_store, req, len, &answer);
        free(req);
        int rc = answer.oom ? -1 : sa_wire_send(fd, answer.data, answer.len);
        sa_wire_free(&answer);
        if (rc != 0)
            break;
    }
    close(fd);
    sa_store_thread_end();
    return NULL;
}

static int node_bind(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct stat st;
    memcpy(addr.sun_path, path, strlen(path) + 1);
    /* A socket left by a killed node: only a socket is ever removed. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old = umask(0117);   /* 0660: the programs' group may connect, nobody else */
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&addr, sizeof addr);
    umask(old);
    if (rc != 0 || listen(fd, 128) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int node_usage(const char *cmd)
{
    fprintf(stderr, "usage: socialauth [--config FILE] %s\n", cmd);
    return 2;
}

int sa_node_main(int argc, char **argv, const char *conf_path)
{
    static const char help[] =
        "usage: socialauth [--config FILE] node\n"
        "Opens db_home as a replication site (rep_local, rep_sites, rep_priority) and serves\n"
        "the store to this node's programs on node_socket until SIGTERM.\n";
    sa_config cfg;
    sa_error err = {0};
    sigset_t set;
    pthread_t sig_thread, upkeep_thread;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(help, stdout);
        return 0;
    }
    if (argc > 1)
        return node_usage("node");
    if (sa_config_load(&cfg, conf_path, &err) != SA_OK) {
        fprintf(stderr, "socialauth node: configuration: %s\n", err.msg);
        return 1;
    }
    /* Every thread (Berkeley DB's too) inherits this mask: only node_signals takes them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_create(&sig_thread, NULL, node_signals, &set);

    if (sa_store_rep_open(&node_store, &cfg, &node_stop, &err) != SA_OK) {
        fprintf(stderr, "socialauth node: %s\n", err.msg);
        sa_config_free(&cfg);
        return 1;
    }
    node_listen_fd = node_bind(cfg.node_socket);
    if (node_listen_fd < 0) {
        fprintf(stderr, "socialauth node: %s: %s\n", cfg.node_socket, strerror(errno));
        sa_store_rep_close(node_store);
        sa_config_free(&cfg);
        return 1;
    }
    fprintf(stderr, "socialauth node: serving %s\n", cfg.node_socket);
    node_leeway = cfg.leeway;
    pthread_create(&upkeep_thread, NULL, node_upkeep, NULL);
    while (!node_stop) {
        int fd = accept4(node_listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, node_connection, (void *)(intptr_t)fd) != 0)
            close(fd);
        pthread_attr_destroy(&attr);
    }
    close(node_listen_fd);
    unlink(cfg.node_socket);
    pthread_join(upkeep_thread, NULL);
    sa_store_rep_close(node_store);
    sa_config_free(&cfg);
    return 0;
}

int sa_cluster_main(int argc, char **argv, const char *conf_path)
{
    sa_config cfg;
    sa_error err = {0};
    sa_store *store;
    char *text;

    if (argc != 2 || strcmp(argv[1], "status") != 0)
        return node_usage("cluster status");
    if (sa_config_load(&cfg, conf_path, &err) != SA_OK) {
        fprintf(stderr, "socialauth cluster: configuration: %s\n", err.msg);
        return 1;
    }
    sa_status st = sa_store_remote_open(&store, cfg.node_socket, &err);
    if (st == SA_OK) {
        st = sa_store_remote_status(store, &text, &err);
        sa_store_close(store);
    }
    sa_config_free(&cfg);
    if (st != SA_OK) {
        fprintf(stderr, "socialauth cluster: %s\n", err.msg);
        return 1;
    }
    fputs(text, stdout);
    free(text);
    return 0;
}
