/* posts: GET /api/posts/ — the example of an application endpoint protected by socialauth.
 * An app's own FastCGI program authenticates a request with one call, then does its work. */
#include "api/auth.h"
#include "http/http.h"

static void handle(sa_ctx *ctx)
{
    sa_user user = {0};
    if (!sa_auth_require(ctx, &user, NULL))
        return;
    sa_user_clear(&user);
    static const char posts[] =
        "[{\"id\":1,\"title\":\"Hello from socialauth\",\"body\":\"Signed in with Google.\"},"
        "{\"id\":2,\"title\":\"Protected\",\"body\":\"Only a valid access token reads this.\"},"
        "{\"id\":3,\"title\":\"Fast\",\"body\":\"One small C program per endpoint.\"}]";
    sa_respond_raw(ctx, 200, posts, sizeof posts - 1);
}

int main(int argc, char **argv)
{
    static const sa_endpoint endpoint = {
        .name = "posts", .methods = SA_GET, .needs_store = true, .handle = handle,
    };
    return sa_serve(&endpoint, argc, argv);
}
