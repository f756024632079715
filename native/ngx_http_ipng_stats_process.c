
/*
 * Copyright (C) IPng Networks GmbH
 *
 * The stats process: the one process of an nginx instance that hosts the
 * JVM.  nginx's public module API has one process the master starts,
 * respawns when it dies and replaces at every reload: the "cache manager",
 * which runs whenever a path registered with ngx_add_path() has a manager
 * callback.  The module registers its own directory (ipng_stats_path) with
 * a manager; nginx calls it at once in the new helper process, and there
 * it starts the JVM (whose drain thread takes the workers' records from
 * their rings) and a server for the workers' scrapes on a unix socket in
 * that directory.  With "master_process off" the single process does the
 * same in init_process.
 *
 * A scrape, on that socket (the worker side is _scrape.c):
 *
 *     worker:  IPNG/1 <args length> <accept length> <encoding length> LF
 *              <args><Accept><Accept-Encoding>
 *     stats:   <status> <body length> <content type>[TAB <encoding>] LF
 *              <body>
 *
 * Java drains every ring and renders synchronously on this event loop,
 * which only serves scrapes; at most NGX_HTTP_IPNG_STATS_ANSWERS answers
 * are held while they are sent, others get 503 at once.  If the JVM cannot
 * start, every scrape gets 503 with the reason, and the workers keep
 * serving: their rings fill and count drops.
 */


#include "ngx_http_ipng_stats_module.h"

#include <malloc.h>


#define NGX_HTTP_IPNG_STATS_SOCKET      "/scrape.sock"
#define NGX_HTTP_IPNG_STATS_REQUEST     (80 * 1024)
#define NGX_HTTP_IPNG_STATS_ANSWERS     8
/* starts that did not finish before the process died: then stop trying */
#define NGX_HTTP_IPNG_STATS_MAX_CRASHES 3
#define NGX_HTTP_IPNG_STATS_READ_MS     10000
#define NGX_HTTP_IPNG_STATS_SEND_MS     60000
/* the longest a replaced stats process drains on, waiting for the new one */
#define NGX_HTTP_IPNG_STATS_HANDOFF_MS  3000
/* how often the JVM's freed native memory goes back to the kernel */
#define NGX_HTTP_IPNG_STATS_TRIM_MS     1000


typedef struct {
    u_char                      buf[NGX_HTTP_IPNG_STATS_REQUEST];
    size_t                      len;
    ngx_chain_t                *out;
    u_char                     *answer;           /* ngx_alloc()ed */
} ngx_http_ipng_stats_peer_t;


static ngx_msec_t ngx_http_ipng_stats_manager(void *data);
static void ngx_http_ipng_stats_title(ngx_cycle_t *cycle);
static void ngx_http_ipng_stats_start_jvm(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf);
static ngx_int_t ngx_http_ipng_stats_serve(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf);
static void ngx_http_ipng_stats_accept(ngx_event_t *ev);
static void ngx_http_ipng_stats_read(ngx_event_t *ev);
static ngx_int_t ngx_http_ipng_stats_parse(ngx_http_ipng_stats_peer_t *peer,
    ngx_str_t *args, ngx_str_t *accept, ngx_str_t *encoding);
static ngx_int_t ngx_http_ipng_stats_answer(ngx_connection_t *c,
    ngx_str_t *args, ngx_str_t *accept, ngx_str_t *encoding);
static ngx_int_t ngx_http_ipng_stats_refuse(ngx_connection_t *c,
    u_char *reason);
static void ngx_http_ipng_stats_write(ngx_event_t *ev);
static void ngx_http_ipng_stats_ignore(ngx_event_t *ev);
static void ngx_http_ipng_stats_close(ngx_connection_t *c);
static void ngx_http_ipng_stats_handoff(void);
static size_t ngx_http_ipng_stats_rss_kb(void);


/* per process */
static struct {
    ngx_uint_t                  started;
    ngx_uint_t                  running;          /* the JVM is up */
    ngx_http_ipng_stats_rings_sh_t  *rings;
    uint64_t                    generation;       /* its configuration's */
    ngx_uint_t                  answers;          /* held while sent */
    u_char                      reason[512];      /* why it is not */
} ngx_http_ipng_stats_process;


/*
 * In postconfiguration: the directory, its scrape socket, and the path
 * whose manager makes nginx run the stats process.  The directory
 * defaults to the pid file's name with "-ipng-stats" for ".pid"
 * (/run/nginx-ipng-stats for /run/nginx.pid): one per nginx instance.
 */

ngx_int_t
ngx_http_ipng_stats_process_conf(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    u_char              *p;
    ngx_str_t            pid;
    ngx_path_t          *path;
    ngx_core_conf_t     *ccf;
    struct sockaddr_un  *sun;

    if (smcf->path.data == NULL) {
        ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                               ngx_core_module);
        pid = ccf->pid;

        if (pid.len == 0) {
            ngx_str_set(&pid, NGX_PID_PATH);
        }

        if (pid.len > 4
            && ngx_strncmp(pid.data + pid.len - 4, ".pid", 4) == 0)
        {
            pid.len -= 4;
        }

        smcf->path.len = pid.len + sizeof("-ipng-stats") - 1;
        smcf->path.data = ngx_pnalloc(cf->pool, smcf->path.len + 1);
        if (smcf->path.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(smcf->path.data, "%V-ipng-stats%Z", &pid);
    }

    if (ngx_conf_full_name(cf->cycle, &smcf->path, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    sun = ngx_pcalloc(cf->pool, sizeof(struct sockaddr_un));
    if (sun == NULL) {
        return NGX_ERROR;
    }

    if (smcf->path.len + sizeof(NGX_HTTP_IPNG_STATS_SOCKET)
        > sizeof(sun->sun_path))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the directory \"%V\" of the ipng stats process is "
                           "too long a path for its unix socket (at most %uz "
                           "characters); set a shorter \"ipng_stats_path\"",
                           &smcf->path, sizeof(sun->sun_path)
                                        - sizeof(NGX_HTTP_IPNG_STATS_SOCKET));
        return NGX_ERROR;
    }

    sun->sun_family = AF_UNIX;
    p = ngx_cpymem(sun->sun_path, smcf->path.data, smcf->path.len);
    ngx_memcpy(p, NGX_HTTP_IPNG_STATS_SOCKET,
               sizeof(NGX_HTTP_IPNG_STATS_SOCKET));

    smcf->socket.sockaddr = (struct sockaddr *) sun;
    smcf->socket.socklen = sizeof(struct sockaddr_un);
    smcf->socket.name.data = (u_char *) sun->sun_path;
    smcf->socket.name.len = ngx_strlen(sun->sun_path);

    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NGX_ERROR;
    }

    /* nginx creates it, owned by the worker user, mode 0700 */

    path->name = smcf->path;
    path->manager = ngx_http_ipng_stats_manager;
    path->data = smcf;
    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    return ngx_add_path(cf, &path);
}


/*
 * nginx's helper process calls this at once, then when it says: every
 * second, to hand back to the kernel what the JVM freed, which glibc
 * keeps in its arenas (the compiler's, zlib's of a gzipped scrape); the
 * JDK's own option for it is missing from older JDK 17 releases
 * (docs/performance.md).  The drain thread and the socket need no calls.
 */

static ngx_msec_t
ngx_http_ipng_stats_manager(void *data)
{
    ngx_http_ipng_stats_main_conf_t  *smcf = data;

    if (ngx_http_ipng_stats_process.started) {
        (void) malloc_trim(0);

    } else {
        (void) ngx_http_ipng_stats_process_init((ngx_cycle_t *) ngx_cycle,
                                                smcf);
    }

    return NGX_HTTP_IPNG_STATS_TRIM_MS;
}


/* the stats process's start, once per process */

ngx_int_t
ngx_http_ipng_stats_process_init(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    ngx_int_t  rc;

    if (ngx_http_ipng_stats_process.started) {
        return NGX_OK;
    }

    ngx_http_ipng_stats_process.started = 1;
    ngx_http_ipng_stats_process.rings = smcf->rings;
    ngx_http_ipng_stats_process.generation =
                 __atomic_load_n(&smcf->rings->generation, __ATOMIC_ACQUIRE);

    if (ngx_process == NGX_PROCESS_HELPER) {
        ngx_http_ipng_stats_title(cycle);

        /*
         * a JVM's fatal error report goes to stdout, which is nginx's
         * (a terminal, or a test's output): send it to stderr instead
         */

        (void) dup2(STDERR_FILENO, STDOUT_FILENO);
    }

    /*
     * the socket first: scrapes wait in its backlog while the JVM starts;
     * and without a JVM the socket still says why, with 503
     */

    rc = ngx_http_ipng_stats_serve(cycle, smcf);

    ngx_http_ipng_stats_start_jvm(cycle, smcf);

    if (ngx_http_ipng_stats_process.running) {
        if (atexit(ngx_http_ipng_stats_handoff) != 0) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "ipng_stats: atexit() failed");
        }
    }

    return rc;
}


/* what ps shows; the process may be the cache manager of proxy_cache too */

static void
ngx_http_ipng_stats_title(ngx_cycle_t *cycle)
{
    ngx_uint_t    i, managers;
    ngx_path_t  **path;

    managers = 0;
    path = cycle->paths.elts;

    for (i = 0; i < cycle->paths.nelts; i++) {
        managers += (path[i]->manager != NULL);
    }

    ngx_setproctitle(managers > 1 ? "cache manager and ipng stats process"
                                  : "ipng stats process");
}


/*
 * A JVM that kills the process while it starts would have the master
 * respawn the process forever: after NGX_HTTP_IPNG_STATS_MAX_CRASHES such
 * starts (counted in the zone, reset at reload) it is not tried again.
 * A reload's reset can fall between a start's two counts, so OK may
 * exceed ATTEMPTS: read OK first, and count nothing then.
 */

static void
ngx_http_ipng_stats_start_jvm(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    u_char                    *reason, *p;
    size_t                     rss;
    uint64_t                   crashed, ok;
    ngx_msec_t                 start;
    ngx_time_t                *tp;
    ngx_http_ipng_stats_sh_t  *sh;

    sh = smcf->sh;
    reason = ngx_http_ipng_stats_process.reason;
    ok = __atomic_load_n(&sh->jvm_start_ok, __ATOMIC_ACQUIRE);
    crashed = __atomic_load_n(&sh->jvm_start_attempts, __ATOMIC_ACQUIRE);
    crashed = (crashed > ok) ? crashed - ok : 0;

    if (crashed >= NGX_HTTP_IPNG_STATS_MAX_CRASHES) {
        (void) ngx_snprintf(reason, sizeof(ngx_http_ipng_stats_process.reason)
                                    - 1,
                            "counting is off: the JVM ended the stats "
                            "process %uL times while starting (see its "
                            "message in the error log); it is not tried "
                            "again until nginx reloads%Z", crashed);

        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0, "ipng_stats: %s", reason);
        return;
    }

    (void) ngx_atomic_fetch_add((ngx_atomic_t *) &sh->jvm_start_attempts, 1);

    rss = ngx_http_ipng_stats_rss_kb();
    ngx_time_update();
    tp = ngx_timeofday();
    start = tp->sec * 1000 + tp->msec;

    p = ngx_cpymem(reason, "counting is off: ",
                   sizeof("counting is off: ") - 1);

    if (ngx_http_ipng_stats_jvm_start(cycle, smcf,
                                      ngx_http_ipng_stats_process.generation, p,
                                      sizeof(ngx_http_ipng_stats_process.reason)
                                      - (p - reason))
        != NGX_OK)
    {
        (void) ngx_atomic_fetch_add((ngx_atomic_t *) &sh->jvm_start_ok, 1);

        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0, "ipng_stats: %s", reason);
        return;
    }

    (void) ngx_atomic_fetch_add((ngx_atomic_t *) &sh->jvm_start_ok, 1);

    ngx_http_ipng_stats_process.running = 1;

    ngx_time_update();
    tp = ngx_timeofday();

    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "ipng_stats: JVM started in %M ms, stats process RSS "
                  "+%uz kB",
                  (ngx_msec_t) (tp->sec * 1000 + tp->msec) - start,
                  ngx_http_ipng_stats_rss_kb() - rss);
}


/*
 * The scrape socket: bound under a name of its own, then renamed over the
 * socket of the stats process it replaces, so that a reload leaves no
 * moment without one.
 */

static ngx_int_t
ngx_http_ipng_stats_serve(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    u_char              *path, pid[NGX_INT64_LEN];
    size_t               n;
    ngx_socket_t         s;
    ngx_connection_t    *c;
    struct sockaddr_un   sun;

    ngx_memcpy(&sun, smcf->socket.sockaddr, sizeof(struct sockaddr_un));

    path = (u_char *) ((struct sockaddr_un *) smcf->socket.sockaddr)->sun_path;

    /*
     * "<dir>/<pid>.new": no longer than "<dir>/scrape.sock", which the
     * configuration found to fit, for a pid of up to 7 digits (Linux's
     * largest pid_max has 7)
     */

    n = ngx_sprintf(pid, "%P", ngx_pid) - pid;

    if (smcf->path.len + 1 + n + sizeof(".new") > sizeof(sun.sun_path)) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "ipng_stats: \"%V\" is too long a path to bind a "
                      "socket in; set a shorter \"ipng_stats_path\"",
                      &smcf->path);
        return NGX_ERROR;
    }

    ngx_sprintf((u_char *) sun.sun_path, "%V/%P.new%Z", &smcf->path, ngx_pid);
    (void) unlink(sun.sun_path);

    s = ngx_socket(AF_UNIX, SOCK_STREAM, 0);
    if (s == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "ipng_stats: " ngx_socket_n " failed");
        return NGX_ERROR;
    }

    if (ngx_nonblocking(s) == -1
        || fcntl(s, F_SETFD, FD_CLOEXEC) == -1
        || bind(s, (struct sockaddr *) &sun, sizeof(struct sockaddr_un)) == -1
        || listen(s, 64) == -1
        || rename(sun.sun_path, (char *) path) == -1)
    {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "ipng_stats: cannot listen on \"%s\"", path);
        (void) ngx_close_socket(s);
        (void) unlink(sun.sun_path);
        return NGX_ERROR;
    }

    /* the workers send scrapes now; they wait in the backlog meanwhile */

    __atomic_store_n(&smcf->rings->listening, (uint64_t) ngx_pid,
                     __ATOMIC_RELEASE);

    c = ngx_get_connection(s, cycle->log);
    if (c == NULL) {
        (void) ngx_close_socket(s);
        return NGX_ERROR;
    }

    c->log = cycle->log;
    c->read->log = cycle->log;
    c->read->handler = ngx_http_ipng_stats_accept;

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_close_connection(c);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_ipng_stats_accept(ngx_event_t *ev)
{
    ngx_err_t                    err;
    ngx_socket_t                 s;
    ngx_connection_t            *lc, *c;
    ngx_http_ipng_stats_peer_t  *peer;

    lc = ev->data;

    for ( ;; ) {
        s = accept4(lc->fd, NULL, NULL, SOCK_NONBLOCK|SOCK_CLOEXEC);

        if (s == (ngx_socket_t) -1) {
            err = ngx_socket_errno;

            if (err == NGX_EINTR) {
                continue;
            }

            if (err != NGX_EAGAIN) {
                ngx_log_error(NGX_LOG_ALERT, ev->log, err,
                              "ipng_stats: accept4() failed");
            }

            return;
        }

        c = ngx_get_connection(s, ev->log);
        if (c == NULL) {
            (void) ngx_close_socket(s);
            continue;
        }

        c->pool = ngx_create_pool(1024, ev->log);
        peer = c->pool ? ngx_pcalloc(c->pool, sizeof(*peer)) : NULL;

        if (peer == NULL) {
            ngx_http_ipng_stats_close(c);
            continue;
        }

        c->data = peer;
        c->log = ev->log;
        c->read->log = ev->log;
        c->write->log = ev->log;
        c->write->ready = 1;      /* a new socket takes writes at once */
        c->recv = ngx_recv;
        c->send_chain = ngx_send_chain;
        c->read->handler = ngx_http_ipng_stats_read;
        c->write->handler = ngx_http_ipng_stats_write;

        ngx_add_timer(c->read, NGX_HTTP_IPNG_STATS_READ_MS);

        ngx_http_ipng_stats_read(c->read);
    }
}


static void
ngx_http_ipng_stats_read(ngx_event_t *ev)
{
    ssize_t                      n;
    ngx_int_t                    rc;
    ngx_str_t                    args, accept, encoding;
    ngx_connection_t            *c;
    ngx_http_ipng_stats_peer_t  *peer;

    c = ev->data;
    peer = c->data;

    if (ev->timedout) {
        ngx_http_ipng_stats_close(c);
        return;
    }

    for ( ;; ) {
        n = c->recv(c, peer->buf + peer->len, sizeof(peer->buf) - peer->len);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(ev, 0) != NGX_OK) {
                ngx_http_ipng_stats_close(c);
            }

            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_ipng_stats_close(c);
            return;
        }

        peer->len += n;

        rc = ngx_http_ipng_stats_parse(peer, &args, &accept, &encoding);

        if (rc == NGX_AGAIN && peer->len < sizeof(peer->buf)) {
            continue;
        }

        break;
    }

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    /* the request is whole: what the worker might still send is ignored */
    ev->handler = ngx_http_ipng_stats_ignore;

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "ipng_stats: a malformed scrape request on the stats "
                      "process's socket");
        ngx_http_ipng_stats_close(c);
        return;
    }

    if (ngx_http_ipng_stats_answer(c, &args, &accept, &encoding) != NGX_OK) {
        ngx_http_ipng_stats_close(c);
        return;
    }

    ngx_http_ipng_stats_write(c->write);
}


/* NGX_OK with the three fields, NGX_AGAIN for more bytes, or NGX_ERROR */

static ngx_int_t
ngx_http_ipng_stats_parse(ngx_http_ipng_stats_peer_t *peer, ngx_str_t *args,
    ngx_str_t *accept, ngx_str_t *encoding)
{
    u_char     *p, *last, *nl, *end;
    ngx_int_t   len[3];
    ngx_uint_t  i;

    last = peer->buf + peer->len;
    nl = ngx_strlchr(peer->buf, last, '\n');

    if (nl == NULL) {
        return NGX_AGAIN;
    }

    if (nl - peer->buf < (ssize_t) sizeof("IPNG/1 ") - 1
        || ngx_strncmp(peer->buf, "IPNG/1 ", sizeof("IPNG/1 ") - 1) != 0)
    {
        return NGX_ERROR;
    }

    p = peer->buf + sizeof("IPNG/1 ") - 1;

    for (i = 0; i < 3; i++) {
        end = p;

        while (end < nl && *end >= '0' && *end <= '9') {
            end++;
        }

        len[i] = ngx_atoi(p, end - p);

        if (len[i] == NGX_ERROR || (i < 2 ? *end != ' ' : end != nl)) {
            return NGX_ERROR;
        }

        p = end + 1;
    }

    p = nl + 1;

    if (len[0] + len[1] + len[2] > last - p) {
        return (len[0] + len[1] + len[2] > peer->buf + sizeof(peer->buf) - p)
               ? NGX_ERROR : NGX_AGAIN;
    }

    args->data = p;
    args->len = len[0];
    accept->data = p + len[0];
    accept->len = len[1];
    encoding->data = p + len[0] + len[1];
    encoding->len = len[2];

    return NGX_OK;
}


/* the answer (or a refusal) as peer->out */

static ngx_int_t
ngx_http_ipng_stats_answer(ngx_connection_t *c, ngx_str_t *args,
    ngx_str_t *accept, ngx_str_t *encoding)
{
    u_char                      *nl, reason[512];
    ngx_buf_t                   *head, *body;
    ngx_str_t                    answer;
    ngx_chain_t                 *cl;
    ngx_http_ipng_stats_peer_t  *peer;

    peer = c->data;

    if (!ngx_http_ipng_stats_process.running) {
        return ngx_http_ipng_stats_refuse(c,
                                          ngx_http_ipng_stats_process.reason);
    }

    if (ngx_http_ipng_stats_process.answers
        == NGX_HTTP_IPNG_STATS_ANSWERS)
    {
        return ngx_http_ipng_stats_refuse(c, (u_char *)
                   "too many scrapes at once; the stats process sends "
                   ngx_value(NGX_HTTP_IPNG_STATS_ANSWERS) " answers at a time");
    }

    if (ngx_http_ipng_stats_jvm_scrape(c->log, args, accept, encoding,
                                       &answer, reason, sizeof(reason))
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0, "ipng_stats: %s", reason);
        return ngx_http_ipng_stats_refuse(c, reason);
    }

    peer->answer = answer.data;
    ngx_http_ipng_stats_process.answers++;

    nl = ngx_strlchr(answer.data, answer.data + answer.len, '\n');
    if (nl == NULL) {
        return NGX_ERROR;
    }

    head = ngx_create_temp_buf(c->pool, NGX_INT_T_LEN * 2 + 8
                                        + (nl - answer.data));
    body = ngx_calloc_buf(c->pool);
    cl = ngx_alloc_chain_link(c->pool);

    if (head == NULL || body == NULL || cl == NULL) {
        return NGX_ERROR;
    }

    head->last = ngx_sprintf(head->last, "200 %uz ",
                             (size_t) (answer.data + answer.len - nl - 1));
    head->last = ngx_cpymem(head->last, answer.data, nl + 1 - answer.data);

    body->pos = nl + 1;
    body->last = answer.data + answer.len;
    body->memory = 1;
    body->last_buf = 1;

    cl->buf = body;
    cl->next = NULL;

    peer->out = ngx_alloc_chain_link(c->pool);
    if (peer->out == NULL) {
        return NGX_ERROR;
    }

    peer->out->buf = head;
    peer->out->next = body->pos < body->last ? cl : NULL;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ipng_stats_refuse(ngx_connection_t *c, u_char *reason)
{
    size_t                       len;
    ngx_buf_t                   *b;
    ngx_http_ipng_stats_peer_t  *peer;

    peer = c->data;
    len = ngx_strlen(reason);

    b = ngx_create_temp_buf(c->pool, NGX_INT_T_LEN + len + 64);
    peer->out = ngx_alloc_chain_link(c->pool);

    if (b == NULL || peer->out == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_sprintf(b->last, "503 %uz text/plain; charset=utf-8\n"
                          "ipng_stats: %s\n",
                          len + sizeof("ipng_stats: \n") - 1, reason);

    peer->out->buf = b;
    peer->out->next = NULL;

    return NGX_OK;
}


static void
ngx_http_ipng_stats_write(ngx_event_t *ev)
{
    ngx_connection_t            *c;
    ngx_http_ipng_stats_peer_t  *peer;

    c = ev->data;
    peer = c->data;

    if (ev->timedout) {
        ngx_http_ipng_stats_close(c);
        return;
    }

    peer->out = c->send_chain(c, peer->out, 0);

    if (peer->out == NGX_CHAIN_ERROR || peer->out == NULL) {
        ngx_http_ipng_stats_close(c);
        return;
    }

    /* the worker reads as fast as its client does */

    ngx_add_timer(ev, NGX_HTTP_IPNG_STATS_SEND_MS);

    if (ngx_handle_write_event(ev, 0) != NGX_OK) {
        ngx_http_ipng_stats_close(c);
    }
}


static void
ngx_http_ipng_stats_ignore(ngx_event_t *ev)
{
}


static void
ngx_http_ipng_stats_close(ngx_connection_t *c)
{
    ngx_pool_t                  *pool;
    ngx_http_ipng_stats_peer_t  *peer;

    peer = c->data;
    pool = c->pool;

    if (peer && peer->answer) {
        ngx_free(peer->answer);
        ngx_http_ipng_stats_process.answers--;
    }

    ngx_close_connection(c);

    if (pool) {
        ngx_destroy_pool(pool);
    }
}


/*
 * nginx ends the stats process of a replaced configuration with exit() at
 * once, while the new one may need a few hundred milliseconds to start its
 * JVM.  The old one's drain thread goes on meanwhile: here, in exit(),
 * until the stats process of a newer configuration has caught up with the
 * rings (its drain thread raises DRAINING), or NGX_HTTP_IPNG_STATS_HANDOFF_MS
 * pass, so that the workers' rings do not fill while nobody drains them.
 * At a stop there is no newer configuration, and no wait.
 */

static void
ngx_http_ipng_stats_handoff(void)
{
    ngx_uint_t                       waited;
    ngx_http_ipng_stats_rings_sh_t  *rs;

    rs = ngx_http_ipng_stats_process.rings;

    if (__atomic_load_n(&rs->generation, __ATOMIC_ACQUIRE)
        <= ngx_http_ipng_stats_process.generation)
    {
        return;
    }

    for (waited = 0; waited < NGX_HTTP_IPNG_STATS_HANDOFF_MS; waited += 10) {
        if (__atomic_load_n(&rs->draining, __ATOMIC_ACQUIRE)
            > ngx_http_ipng_stats_process.generation)
        {
            return;
        }

        ngx_msleep(10);
    }
}


static size_t
ngx_http_ipng_stats_rss_kb(void)
{
    FILE    *f;
    char     line[128];
    size_t   kb;

    kb = 0;

    f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return 0;
    }

    while (fgets(line, sizeof(line), f)) {
        if (ngx_strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoul(line + 6, NULL, 10);
            break;
        }
    }

    fclose(f);

    return kb;
}
