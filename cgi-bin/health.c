/* health: GET /api/health/ — 200 after really reading the store, 503 otherwise. */
#include "http/http.h"

static void handle(sa_ctx *ctx)
{
    sa_error err = {0};
    sa_status st = sa_store_ping(ctx->store, &err);
    if (st != SA_OK) {
        sa_respond_store_error(ctx, st, &err);
        return;
    }
    static const char body[] = "{\"status\":\"ok\",\"store\":\"ok\"}";
    sa_respond_raw(ctx, 200, body, sizeof body - 1);
}

int main(int argc, char **argv)
{
    static const sa_endpoint endpoint = {
        .name = "health", .methods = SA_GET, .needs_store = true, .handle = handle,
    };
    return sa_serve(&endpoint, argc, argv);
}
