/* http.c: the request loop every endpoint runs (see http.h). */
#include "http/http.h"
#include "http/cors.h"
#include "core/text.h"
#include "config/keyring.h"

#include <fastcgi.h>
#include <unistd.h>
#include <fcgi_stdio.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <dirent.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* sa_log's sink (core/log.h) while an endpoint runs. */
static void log_to_fcgi_stderr(const char *name, const char *line)
{
    /* During a request: the FastCGI error stream (the web server's error log). Between
     * requests (the upkeep runs after FCGI_Finish) fcgi_stdio's stderr has no stream and
     * would drop the line: it goes to file descriptor 2, which the web server points at
     * its error log too. */
    if (FCGI_stderr->fcgx_stream || FCGI_stderr->stdio_stream) {
        FCGI_fprintf(FCGI_stderr, "%s: %s\n", name, line);
        FCGI_fflush(FCGI_stderr);
    } else {
        dprintf(STDERR_FILENO, "%s: %s\n", name, line);
    }
}

static const struct { const char *name; int bit; } methods[] = {
    /* Django's order, which DRF uses for the Allow header. */
    {"GET", SA_GET}, {"POST", SA_POST}, {"PUT", SA_PUT}, {"PATCH", SA_PATCH},
    {"DELETE", SA_DELETE}, {"HEAD", SA_HEAD}, {"OPTIONS", SA_OPTIONS},
};

static int method_bit(const char *m)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(m, methods[i].name) == 0)
            return methods[i].bit;
    return 0;
}

/* Allowed methods of an endpoint: its own, HEAD with GET, and always OPTIONS. */
static int allowed_methods(const sa_endpoint *ep)
{
    int m = ep->methods | SA_OPTIONS;
    if (m & SA_GET)
        m |= SA_HEAD;
    return m;
}

static void allow_header(sa_ctx *ctx, int allowed)
{
    char value[128] = "";
    size_t used = 0;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (!(allowed & methods[i].bit))
            continue;
        int n = snprintf(value + used, sizeof value - used, "%s%s", used ? ", " : "",
                         methods[i].name);
        if (n > 0 && (size_t)n < sizeof value - used)
            used += (size_t)n;
    }
    sa_add_header(ctx, "Allow", value);
}

static void method_not_allowed(sa_ctx *ctx, int allowed)
{
    char shown[SA_ECHO_CHARS * 4 + 1], detail[sizeof shown + 32];
    sa_text_copy_cut(shown, sizeof shown, ctx->req.method, SA_ECHO_CHARS);
    snprintf(detail, sizeof detail, "Method \"%s\" not allowed.", shown);
    sa_respond_detail(ctx, 405, detail, NULL);
    allow_header(ctx, allowed);
}

/* src: a size_t counting the body bytes read so far. */
static size_t fcgi_read(void *src, char *buf, size_t n)
{
    size_t got = FCGI_fread(buf, 1, n, FCGI_stdin);
    *(size_t *)src += got;
    return got;
}

/* Plain CGI: the web server writes the whole body into our stdin before it reads the answer
 * (Apache mod_cgid). Answering early (413, 415, 405) and exiting with the body unread makes
 * that write fail, and the client gets a reset connection instead of our answer. So before
 * answering, read and drop what the request announced and we did not read, at most
 * SA_CGI_DRAIN_MAX bytes (the shipped configs make the web server refuse larger bodies). Only
 * announced bytes are read: a read never waits for data that will not come. */
#define SA_CGI_DRAIN_MAX (1024 * 1024)
static void cgi_drain_body(size_t consumed)
{
    const char *cl = getenv("CONTENT_LENGTH");
    int64_t announced = 0;
    if (!cl || sa_parse_int(cl, 0, INT64_MAX, &announced) != SA_OK)
        return;
    size_t left = (size_t)(announced < SA_CGI_DRAIN_MAX ? announced : SA_CGI_DRAIN_MAX);
    left = left > consumed ? left - consumed : 0;
    char buf[8192];
    while (left > 0) {
        size_t got = FCGI_fread(buf, 1, left < sizeof buf ? left : sizeof buf, FCGI_stdin);
        if (got == 0)
            break;
        left -= got;
    }
}

/* A body already in memory, read by sa_body_read through mem_read. */
typedef struct {
    const char *p;
    size_t left;
} mem_src;

static size_t mem_read(void *src, char *buf, size_t n)
{
    mem_src *m = src;
    if (n > m->left)
        n = m->left;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    return n;
}

/* Plain CGI, a request body sent chunked: Apache mod_cgid passes it on our stdin without
 * CONTENT_LENGTH (RFC 3875 section 4.1.2 has no length to give) and closes stdin after it.
 * Read it to end of input, at most max_body + 1 bytes (then 413, after reading and dropping
 * up to SA_CGI_DRAIN_MAX bytes, as cgi_drain_body does), and parse it as if announced.
 * Returns what sa_body_read returns: false after answering. */
static bool cgi_read_chunked_body(sa_ctx *ctx, size_t *consumed)
{
    size_t cap = ctx->cfg->max_body + 1, got = 0, r;
    char *buf = malloc(cap);
    if (!buf) {
        sa_respond_detail(ctx, 503, "Service temporarily unavailable.", "service_unavailable");
        return false;
    }
    while (got < cap && (r = FCGI_fread(buf + got, 1, cap - got, FCGI_stdin)) > 0)
        got += r;
    *consumed = got;
    char len[24];
    snprintf(len, sizeof len, "%zu", got);
    mem_src src = {buf, got};
    bool ok = sa_body_read(ctx, len, mem_read, &src);
    char drop[8192];
    for (size_t dropped = got; got == cap && dropped < SA_CGI_DRAIN_MAX; dropped += r)
        if ((r = FCGI_fread(drop, 1, sizeof drop, FCGI_stdin)) == 0)
            break;
    /* Security: the body held the request's tokens. */
    OPENSSL_cleanse(buf, got);
    free(buf);
    return ok;
}

/* The request path without its query string, in a buffer owned by the caller. */
static const char *request_path(char *buf, size_t size)
{
    const char *uri = getenv("REQUEST_URI");
    if (!uri)
        uri = getenv("SCRIPT_NAME");
    if (!uri)
        uri = "";
    size_t n = strcspn(uri, "?");
    if (n >= size)
        n = size - 1;
    memcpy(buf, uri, n);
    buf[n] = '\0';
    return buf;
}

void sa_ctx_reset(sa_ctx *ctx)
{
    /* Security: the body held the request's tokens. */
    if (ctx->req.body)
        OPENSSL_cleanse(ctx->req.body, ctx->req.body_len);
    free(ctx->req.body);
    if (ctx->req.data)
        json_object_put(ctx->req.data);
    memset(&ctx->req, 0, sizeof ctx->req);
    ctx->res.status = 200;
    ctx->res.no_store = false;
    ctx->before_send = NULL;
    ctx->res.vary = 0;
    sa_buf_reset(&ctx->res.headers);
    sa_buf_reset(&ctx->res.body);
}

/* Issue 9 point 2: the headers we read are valid UTF-8 before any other code sees them
 * (they cannot hold a NUL: they come as C strings). One that is not gets 400
 * {"detail":"Malformed <Name> header."}, and an Origin that is not is never echoed. */
static bool check_headers(sa_ctx *ctx)
{
    sa_request *req = &ctx->req;
    const struct { const char *name, **value; } headers[] = {
        {"Content-Type", &req->content_type}, {"Authorization", &req->authorization},
        {"Origin", &req->origin}, {"Referer", &req->referer}, {"Cookie", &req->cookie},
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        const char *v = *headers[i].value;
        if (v && sa_text_check(v, strlen(v)) != SA_TEXT_OK) {
            char detail[64];
            req->origin = NULL;
            snprintf(detail, sizeof detail, "Malformed %s header.", headers[i].name);
            sa_respond_detail(ctx, 400, detail, NULL);
            return false;
        }
    }
    return true;
}

/* SOCIALAUTH_PATH, when the web server routes a path prefix to this program (the generated
 * lighttpd configuration): its own path, "/api/auth/user"; anything else under the prefix
 * ("/api/auth/userX", "/api/auth/user/x") is not an endpoint (api.html#endpoints: 404). Read once at
 * start, before FastCGI replaces the environment with each request's. NULL when unset. */
static const char *own_path;

static bool path_is_own(const char *path)
{
    if (!own_path)
        return true;
    size_t n = strlen(own_path);
    return strncmp(path, own_path, n) == 0 && (path[n] == '\0' || strcmp(path + n, "/") == 0);
}

/* Dispatch one request that has been read into ctx->req. */
static void dispatch(const sa_endpoint *ep, sa_ctx *ctx, bool config_ok, size_t *consumed)
{
    int allowed = allowed_methods(ep);
    sa_request *req = &ctx->req;
    if (!path_is_own(req->path)) {
        sa_respond_detail(ctx, 404, "Not found.", NULL);
        return;
    }
    if (!check_headers(ctx))
        return;
    if (req->method_bit == SA_OPTIONS) {
        if (getenv("HTTP_ACCESS_CONTROL_REQUEST_METHOD"))
            sa_cors_preflight(ctx);
        else
            allow_header(ctx, allowed);
        return;
    }
    if (!(req->method_bit & allowed)) {
        method_not_allowed(ctx, allowed);
        return;
    }
    if (!config_ok) {
        sa_respond_store_error(ctx, SA_ERR_CONFIG, NULL);
        return;
    }
    if (req->method_bit & (SA_POST | SA_PUT | SA_PATCH)) {
        const char *cl = getenv("CONTENT_LENGTH");
        bool chunked = !cl && getenv("HTTP_TRANSFER_ENCODING") && FCGX_IsCGI();
        if (chunked ? !cgi_read_chunked_body(ctx, consumed)
                    : !sa_body_read(ctx, cl, fcgi_read, consumed))
            return;
    } else {
        req->data = json_object_new_object();
    }
    ep->handle(ctx);
}

/* Upkeep that needs no cron job, every SA_UPKEEP_EVERY requests of a process (every request
 * of a CGI process, which serves only one): purge up to SA_PURGE_BATCH expired sessions and
 * as many remembered jtis of expired tokens without sid (bounded work; more than any run of
 * requests can create; one read each when none expired), and
 * have a child process checkpoint the store when the last checkpoint is SA_CHECKPOINT_EVERY
 * seconds old or SA_CHECKPOINT_LOG bytes of log were written since. */
#define SA_UPKEEP_EVERY 16
#define SA_PURGE_BATCH 64
#define SA_CHECKPOINT_EVERY 60
#define SA_CHECKPOINT_LOG (4u * 1024 * 1024)

/* What one upkeep step's status means: fatal marks the process for exit, any other failure
 * is logged; err is cleared for the next step. */
static void upkeep_step(sa_ctx *ctx, sa_status st, sa_error *err)
{
    if (st == SA_ERR_FATAL)
        ctx->fatal = true;
    else if (st != SA_OK)
        sa_log("upkeep: %s", err->msg);
    memset(err, 0, sizeof *err);
}

static void upkeep(sa_ctx *ctx, unsigned long served, bool cgi)
{
    /* A CGI process serves one request: one process in SA_UPKEEP_EVERY does it, drawn at
     * random, so that it costs CGI what it costs FastCGI per request. (Not by process id:
     * each of our processes also takes ids for its threads, so ids of a run of CGI
     * processes can all be odd, and none a multiple of SA_UPKEEP_EVERY.) */
    if (cgi) {
        unsigned char draw = 1;
        if (getrandom(&draw, 1, 0) != 1)
            return;
        served = draw;   /* 256 is a multiple of SA_UPKEEP_EVERY: a fair draw */
    }
    if (!ctx->store || served % SA_UPKEEP_EVERY != 0)
        return;
    /* Each step runs whatever the one before it met (a damaged index that makes one purge
     * fail must not stop the other purge or the checkpoints: logs would pile up), except
     * after a fatal error. */
    size_t purged = 0;
    int64_t leeway = ctx->cfg->leeway;
    sa_error err = {0};
    upkeep_step(ctx, sa_store_session_purge(ctx->store, ctx->now, leeway, SA_PURGE_BATCH,
                                            &purged, &err), &err);
    if (!ctx->fatal)
        upkeep_step(ctx, sa_store_jti_purge(ctx->store, ctx->now, leeway, SA_PURGE_BATCH,
                                            &purged, &err), &err);
    if (!ctx->fatal)
        upkeep_step(ctx, sa_store_checkpoint_background(ctx->store, ctx->now,
                                                        SA_CHECKPOINT_EVERY, SA_CHECKPOINT_LOG,
                                                        &err), &err);
}

/* Before a process exits after a fatal store error: answer every request already queued on
 * the listen socket with our 503, as the request that met the error was answered. Exiting
 * with them queued would reset their connections, which lighttpd turns into its own HTML 500
 * ("response not received"). Never waits for a new connection: the socket is made
 * non-blocking and polled with timeout 0, so this ends as soon as the backlog is empty. */
/* Whether another process holds the listen socket too (spawn-fcgi -F and multiwatch share
 * one socket among processes; lighttpd and mod_fcgid give each process its own). Looks
 * through /proc/PID/fd of the processes it may read; only on the fatal exit path. */
static bool listen_socket_shared(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
        return true; /* unknown: do not touch it */
    char want[64], link[64], path[300];
    snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
    pid_t self = getpid();
    DIR *proc = opendir("/proc");
    if (!proc)
        return true;
    bool shared = false;
    struct dirent *p;
    while (!shared && (p = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(p->d_name, &end, 10);
        if (*end || pid <= 0 || pid == self)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/fd", pid);
        DIR *fds = opendir(path);
        if (!fds)
            continue;
        struct dirent *f;
        while (!shared && (f = readdir(fds)) != NULL) {
            if (f->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "/proc/%ld/fd/%s", pid, f->d_name);
            ssize_t n = readlink(path, link, sizeof link - 1);
            if (n > 0) {
                link[n] = '\0';
                shared = strcmp(link, want) == 0;
            }
        }
        closedir(fds);
    }
    closedir(proc);
    return shared;
}

/* Stop new connections reaching a process about to exit. A connection the kernel queues
 * after the backlog was drained would be reset when we exit (lighttpd's HTML 500 again). On a
 * socket of our own, shutting down its read side makes new connects fail at once
 * (ECONNREFUSED: the web server tries another process or restarts this one) while those
 * already queued can still be accepted. A shared socket stays open in the other processes, so
 * nothing queued on it is lost when we exit. Returns false when the socket cannot be polled. */
static bool close_door(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return false;
    if (!listen_socket_shared(fd))
        shutdown(fd, SHUT_RD);
    return true;
}

/* ---- dying without dropping requests ----
 * A process can also end in ways the loop does not see coming: Berkeley DB's memory-mapped
 * region meeting a full file system (SIGBUS), or the store's watchdog ending a process stuck
 * inside Berkeley DB (store.h, sa_store_set_exit_hook). Both come here, in a signal handler
 * or another thread while the loop is stuck: the request being served and every queued one
 * get a fixed 503 (no allocation, no store), then the process exits. */
static volatile sig_atomic_t serving;   /* a request is accepted and not yet answered */
static volatile sig_atomic_t dying;

static void emergency_answer(void)
{
    static const char answer[] =
        "Status: 503 Service Unavailable\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 74\r\n\r\n" SA_UNAVAILABLE_BODY;
    _Static_assert(sizeof SA_UNAVAILABLE_BODY - 1 == 74, "Content-Length above");
    FCGI_fwrite((void *)answer, 1, sizeof answer - 1, FCGI_stdout);
    FCGI_Finish();
}

static void emergency_exit(void)
{
    if (dying)
        _exit(1);
    dying = 1;
    static const char msg[] = "socialauth: exiting: answering held and queued requests with 503\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    if (serving)
        emergency_answer();
    int fd = FCGI_LISTENSOCK_FILENO;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (close_door(fd))
        while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) && FCGI_Accept() >= 0)
            emergency_answer();
    _exit(1);
}

static void on_sigbus(int sig)
{
    (void)sig;
    emergency_exit();
}

static void drain_backlog(sa_ctx *ctx, sa_buf *out)
{
    int fd = FCGI_LISTENSOCK_FILENO;
    if (!close_door(fd))
        return;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    bool first = true;
    while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) && FCGI_Accept() >= 0) {
        if (first) /* inside a request, so that it reaches the web server's error log */
            sa_log("store: exiting for recovery: answering queued requests with 503");
        first = false;
        sa_ctx_reset(ctx);
        ctx->req.origin = getenv("HTTP_ORIGIN");
        sa_respond_store_error(ctx, SA_ERR_UNAVAILABLE, NULL);
        sa_cors_decorate(ctx);
        sa_buf_reset(out);
        if (sa_response_serialize(ctx, out) == SA_OK)
            FCGI_fwrite(out->data, 1, out->len, FCGI_stdout);
        FCGI_Finish();
    }
}

/* Plain CGI: the web server sends the answer on when our standard output closes, which would
 * otherwise wait for the store to close (Berkeley DB flushes each database file). */
static void cgi_end_answer(void)
{
    FCGI_fflush(FCGI_stdout);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull >= 0) { /* fd 1 stays taken, so that no later file lands on it */
        dup2(devnull, STDOUT_FILENO);
        close(devnull);
    }
}

/* Set when this process's open upgraded the store (store.h): the case variants are then
 * logged inside the next request, whose error stream reaches the web server's error log. */
static bool upgrade_report_pending;

static void store_opened(sa_ctx *ctx)
{
    sa_store_set_sync_rotation(ctx->store, ctx->cfg->sync_rotation);
    upgrade_report_pending = sa_store_upgraded(ctx->store);
}

/* Log the users whose usernames differ only in case (README says how to resolve them). */
static void report_upgrade(sa_ctx *ctx)
{
    sa_username_variant *v = NULL;
    size_t n = 0;
    sa_error err = {0};
    upgrade_report_pending = false;
    if (sa_store_username_variants(ctx->store, &v, &n, &err) != SA_OK) {
        sa_log("store: upgraded; listing username case variants failed: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++)
        sa_log("store: upgraded: username \"%s\" (user %s) differs only in case from another "
               "user's; rename one: socialauth user update ID --username NEW", v[i].username,
               v[i].id);
    free(v);
}

/* Pick up key directory changes (keyring.h: at most one stat a second). A directory that
 * fails to load keeps the keys already in use; the reason is logged. */
static void refresh_keys(sa_config *cfg)
{
    if (!cfg->keys)
        return;
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    sa_error err = {0};
    if (sa_keyring_refresh(cfg->keys, (int64_t)mono.tv_sec * 1000 + mono.tv_nsec / 1000000,
                           &err) != SA_OK)
        sa_log("signing keys: %s (keeping the keys already loaded)", err.msg);
}

int sa_serve(const sa_endpoint *ep, int argc, char **argv)
{
    sa_log_set_sink(log_to_fcgi_stderr);
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        /* Answered before anything else: no configuration read, no FastCGI socket touched.
         * Written with write(2): fcgi_stdio's printf writes nothing before FCGI_Accept. */
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = '\0';
        const char *conf = getenv("SOCIALAUTH_CONF");
        sa_buf help = {0};
        sa_buf_printf(&help, "usage: %s [--help]\n"
               "socialauth's `%s` endpoint: a FastCGI responder started by the web server\n"
               "(lighttpd bin-path, Apache mod_fcgid, spawn-fcgi), or a CGI program when its\n"
               "standard input is not a FastCGI socket. Not meant to be run by hand.\n"
               "program:  %s\n"
               "settings: the file named by $SOCIALAUTH_CONF (%s%s)\n",
               argv[0], ep->name, self[0] ? self : argv[0],
               conf && *conf ? "now " : "unset: the default ", sa_config_default_path());
        bool written = help.data && write(STDOUT_FILENO, help.data, help.len) == (ssize_t)help.len;
        sa_buf_free(&help);
        return written ? 0 : 1;
    }
    sa_log_set_name(ep->name);
    const char *own = getenv("SOCIALAUTH_PATH");
    own_path = own && *own ? strdup(own) : NULL;
    /* Start-up work that was two thirds of a plain CGI request (callgrind, user-me): the
     * system's openssl.cnf (our algorithms are fixed: HS256, RS256) and, unless the endpoint
     * makes TLS calls (certificate checks look digests up by name), the legacy name tables
     * that the first algorithm fetch then walks. */
    uint64_t ossl = OPENSSL_INIT_NO_LOAD_CONFIG;
    if (!ep->tls)
        ossl |= OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS;
    OPENSSL_init_crypto(ossl, NULL);
    sa_config cfg;
    sa_error err = {0};
    bool config_ok = sa_config_load(&cfg, sa_config_default_path(), &err) == SA_OK;
    /* Logged inside the first request, whose error stream the web server writes to its error
     * log even when it does not capture our stderr: once per process, not per request. */
    bool startup_error_pending = !config_ok;

    sa_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = &cfg;
    sa_buf out = {0};
    char path[2048];
    unsigned long served = 0;
    bool cgi = FCGX_IsCGI();
    if (!cgi) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigbus;
        sigaction(SIGBUS, &sa, NULL);
        sa_store_set_exit_hook(emergency_exit);
    }

    /* A FastCGI process joins the store when it starts, not at its first request: one started
     * to replace a killed process then runs failchk at once (store.c), which frees what the
     * dead process held even when no request comes this way. On failure the first request
     * tries again and logs why. */
    if (!cgi && config_ok && ep->needs_store) {
        sa_error serr = {0};
        if (sa_store_open_config(&ctx.store, &cfg, SA_STORE_SERVE, &serr) == SA_OK)
            store_opened(&ctx);
        else
            ctx.store = NULL;
    }

    while (FCGI_Accept() >= 0) {
        serving = 1;
        sa_ctx_reset(&ctx);
        if (startup_error_pending) {
            sa_log("configuration: %s", err.msg);
            startup_error_pending = false;
        }
        if (upgrade_report_pending && ctx.store)
            report_upgrade(&ctx);
        /* Not time(NULL): glibc serves it from a coarse clock that can lag a few ms behind,
         * which made a token minted elsewhere in the same second look issued in the future. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ctx.now = (int64_t)ts.tv_sec;
        refresh_keys(&cfg);
        const char *m = getenv("REQUEST_METHOD");
        ctx.req.method = m ? m : "GET";
        ctx.req.method_bit = method_bit(ctx.req.method);
        ctx.req.path = request_path(path, sizeof path);
        ctx.req.content_type = getenv("CONTENT_TYPE");
        ctx.req.authorization = getenv("HTTP_AUTHORIZATION");
        ctx.req.origin = getenv("HTTP_ORIGIN");
        ctx.req.referer = getenv("HTTP_REFERER");
        ctx.req.cookie = getenv("HTTP_COOKIE");
        ctx.req.host = getenv("HTTP_HOST");
        ctx.req.server_port = getenv("SERVER_PORT");
        const char *https = getenv("HTTPS"), *scheme = getenv("REQUEST_SCHEME");
        ctx.req.https = (https && strcasecmp(https, "on") == 0) ||
                        (scheme && strcmp(scheme, "https") == 0);

        if (config_ok && ep->needs_store && !ctx.store) {
            sa_error serr = {0};
            if (sa_store_open_config(&ctx.store, &cfg, SA_STORE_SERVE, &serr) != SA_OK) {
                sa_log("%s%s", strncmp(serr.msg, "store: ", 7) == 0 ? "" : "store: ", serr.msg);
                ctx.store = NULL;
            } else {
                store_opened(&ctx);
            }
        }
        size_t consumed = 0;
        if (ep->needs_store && !ctx.store && config_ok && ctx.req.method_bit != SA_OPTIONS)
            sa_respond_store_error(&ctx, SA_ERR_UNAVAILABLE, NULL);
        else
            dispatch(ep, &ctx, config_ok, &consumed);
        if (cgi)
            cgi_drain_body(consumed);

        if (ctx.before_send)
            ctx.before_send(&ctx);
        /* Security: an answer to a request that carries credentials may be personal, whatever
         * the endpoint made of them. */
        if (ctx.req.authorization || (cfg.cookie_mode && ctx.req.cookie))
            sa_respond_private(&ctx);
        /* Security: an answer to a token endpoint may hold, or depend on, the credential its
         * request sent in the body; no cache keeps it. */
        if (ep->credential_body)
            ctx.res.no_store = true;
        sa_cors_decorate(&ctx);
        sa_buf_reset(&out);
        if (sa_response_serialize(&ctx, &out) == SA_OK)
            FCGI_fwrite(out.data, 1, out.len, FCGI_stdout);
        serving = 0;   /* (a fault while writing the answer may leave it half sent) */
        FCGI_Finish(); /* the answer leaves now, before any upkeep */
        if (cgi)
            cgi_end_answer();
        if (!ctx.fatal)
            upkeep(&ctx, ++served, cgi);
        if (ctx.fatal)
            break;
    }
    if (ctx.fatal && !cgi)
        drain_backlog(&ctx, &out);
    sa_ctx_reset(&ctx);
    sa_buf_free(&ctx.res.headers);
    sa_buf_free(&ctx.res.body);
    sa_buf_free(&out);
    /* After a fatal store error the handle cannot be closed cleanly: just exit, and the web
     * server starts a process that recovers the environment. */
    if (ctx.store && !ctx.fatal)
        sa_store_close(ctx.store);
    if (config_ok)
        sa_config_free(&cfg);
    return ctx.fatal ? 1 : 0;
}
