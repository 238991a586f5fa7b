/* store_exec.h: run one node-protocol request (store_wire.h) against a store (internal to
 * store*.c and node.c). */
#ifndef SA_STORE_EXEC_H
#define SA_STORE_EXEC_H

#include <stddef.h>

#include "store/store.h"
#include "store/store_wire.h"

/* Decode the request (len bytes at req), run it on store in the calling thread, and append
 * the whole answer to *answer (store_wire.h's layout). Never fails as a call: a malformed
 * request is answered SA_ERR_INVALID, a write the replication manager could not get a quorum
 * of acknowledgements for (DB_EVENT_REP_PERM_FAILED in this thread) SA_ERR_UNAVAILABLE with
 * durable 0; answer->oom set when memory ran out (the caller then answers unavailable). */
void sa_store_exec(sa_store *store, const unsigned char *req, size_t len, sa_wire *answer);

#endif
