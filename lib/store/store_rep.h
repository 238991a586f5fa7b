/* store_rep.h: the replicated store of `socialauth node` (Berkeley DB 5.3's replication
 * manager; store_rep.c gives the settings and what they rest on). Internal to store*.c and node.c.
 *
 * One process per node opens the environment, always with recovery (it is the only one, so
 * nothing else can be attached), starts repmgr with elections, quorum acknowledgements and
 * heartbeats, and answers requests: reads here, writes here on the master or forwarded over
 * a repmgr channel to the master's node, which runs them in its message thread. */
#ifndef SA_STORE_REP_H
#define SA_STORE_REP_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "store/store.h"
#include "store/store_wire.h"

/* Open db_home (created 0700 when absent) as a replication site from cfg (rep_local,
 * rep_sites, rep_priority, rep_read_wait, sync_rotation) and wait until this site is master or a
 * synchronised replica with the databases open (the master creates them). `stop` is polled
 * while waiting. SA_OK; SA_ERR_CONFIG (a bad host:port; err names the setting);
 * SA_ERR_EXISTS (another node holds db_home/node.lock); SA_ERR_UNAVAILABLE (stopped, or
 * Berkeley DB refused: err says what). */
sa_status sa_store_rep_open(sa_store **out, const sa_config *cfg, volatile int *stop,
                            sa_error *err);

/* Answer one protocol request (store_wire.h): runs it here, or on the master when it writes
 * and this site is a replica. A user, session or jti not found on a replica is read again
 * once this site applied the master's commit position, waited for at most rep_read_wait
 * (read-your-writes, README "Several nodes"); still not found, or no position in time, it
 * is answered not found. A write whose master cannot be reached within the channel timeout
 * (8 s) gives SA_ERR_UNAVAILABLE. Every write answer carries durable and its commit token;
 * an answer to SA_OP_LSN carries the master's newest commit token (zeros when none).
 * Thread-safe. */
void sa_store_rep_handle(sa_store *store, const unsigned char *req, size_t len,
                         sa_wire *answer);

/* The node's periodic work, once a second: on the master, purge expired sessions and
 * remembered jtis (bounded; kept until exp + leeway seconds, the config's leeway);
 * every 30 s a checkpoint and removal of logs no longer needed. SA_OK or the store's error. */
sa_status sa_store_rep_upkeep(sa_store *store, int64_t now, int64_t leeway, sa_error *err);

/* Stop replication and close everything (waits for requests in flight). */
void sa_store_rep_close(sa_store *store);

#endif
