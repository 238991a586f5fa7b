/* store_backend.c: which store a program uses, by configuration (store_backend). */
#include "config/config.h"
#include "store/store.h"
#include "store/store_remote.h"

sa_status sa_store_open_config(sa_store **out, const sa_config *cfg, sa_store_mode mode,
                               sa_error *err)
{
    if (cfg->store_node && mode == SA_STORE_SERVE)
        return sa_store_remote_open(out, cfg->node_socket, err);
    sa_status st = sa_store_open(out, cfg->db_home, mode, err);
    if (st == SA_OK)
        sa_store_set_sync_rotation(*out, cfg->sync_rotation);
    return st;
}
