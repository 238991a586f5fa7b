/* client-config: GET /api/client-config/ — what a browser page needs to offer "Sign in with
 * Google": {"google_client_id": first of google_client_ids or null, "google_redirect_uri":
 * the setting or null}. Both are public (any Google sign-in page shows them); no store. */
#include "http/http.h"
#include "codec/json_writer.h"

static void handle(sa_ctx *ctx)
{
    const sa_config *cfg = ctx->cfg;
    sa_jw w;
    sa_jw_begin(&w, &ctx->res.body);
    sa_jw_object(&w);
    sa_jw_key(&w, "google_client_id");
    if (cfg->google_client_ids.n > 0)
        sa_jw_string(&w, cfg->google_client_ids.v[0]);
    else
        sa_jw_null(&w);
    sa_jw_key(&w, "google_redirect_uri");
    if (cfg->google_redirect_uri[0])
        sa_jw_string(&w, cfg->google_redirect_uri);
    else
        sa_jw_null(&w);
    sa_jw_end(&w);
    sa_respond_written(ctx, 200, &w);
}

int main(int argc, char **argv)
{
    static const sa_endpoint endpoint = {
        .name = "client-config", .methods = SA_GET, .needs_store = false, .handle = handle,
    };
    return sa_serve(&endpoint, argc, argv);
}
