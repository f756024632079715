
/*
 * Copyright (C) IPng Networks GmbH
 *
 * The scrape location ("ipng_stats;").  Rendering 12,000 keys takes tens
 * of milliseconds, too long for the worker's event loop, so a scrape is
 * two halves: on the event loop, Java drains and flushes this worker's
 * batch and hands the rendering to its render thread; the request waits
 * (r->main->count) while the event loop serves others; when Java is done
 * it writes to an eventfd this worker watches, and the event loop collects
 * the answer and sends it.  One rendering at a time; other scrapes queue.
 * When counting is off in this worker the answer is 503 with the reason.
 */


#include "ngx_http_ipng_stats_module.h"

#include <sys/eventfd.h>


/*
 * A rendering has this long; its timer is not cancelable, so a worker that
 * shuts down gracefully waits for the scrapes it accepted.
 */
#define NGX_HTTP_IPNG_STATS_RENDER_LIMIT  30000


typedef struct {
    ngx_http_request_t         *request;
    ngx_str_t                   accept;
    ngx_str_t                   accept_encoding;
    ngx_int_t                   ticket;
    ngx_queue_t                 queue;
} ngx_http_ipng_stats_scrape_ctx_t;


static ngx_str_t  ngx_http_ipng_stats_accept = ngx_string("Accept");
static ngx_str_t  ngx_http_ipng_stats_accept_encoding =
    ngx_string("Accept-Encoding");


static ngx_int_t ngx_http_ipng_stats_scrape_start(
    ngx_http_ipng_stats_scrape_ctx_t *ctx);
static void ngx_http_ipng_stats_scrape_done(ngx_event_t *ev);
static void ngx_http_ipng_stats_scrape_timeout(ngx_event_t *ev);
static void ngx_http_ipng_stats_scrape_next(void);
static void ngx_http_ipng_stats_scrape_finish(
    ngx_http_ipng_stats_scrape_ctx_t *ctx, ngx_int_t rc);
static ngx_int_t ngx_http_ipng_stats_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, ngx_str_t *encoding, u_char *data,
    size_t len);
static ngx_int_t ngx_http_ipng_stats_push_header(ngx_http_request_t *r,
    char *key, ngx_str_t *value, ngx_table_elt_t **elt);
static void ngx_http_ipng_stats_find_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);


ngx_int_t
ngx_http_ipng_stats_scrape_handler(ngx_http_request_t *r)
{
    u_char                            *p;
    ngx_int_t                          rc;
    ngx_str_t                          type, body;
    ngx_http_ipng_stats_worker_t      *w;
    ngx_http_ipng_stats_scrape_ctx_t  *ctx;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    w = &ngx_http_ipng_stats_worker;

    if (!w->running || w->scrape_event == NULL || w->scrape_stuck) {
        ngx_str_set(&type, "text/plain");

        p = ngx_pnalloc(r->pool, sizeof("ipng_stats: counting is off: \n")
                                 + sizeof(w->reason));
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        body.data = p;
        body.len = (w->running && w->scrape_stuck)
                   ? ngx_sprintf(p, "ipng_stats: the last scrape did not "
                                 "finish rendering in %d s\n",
                                 NGX_HTTP_IPNG_STATS_RENDER_LIMIT / 1000) - p
                   : ngx_sprintf(p, "ipng_stats: counting is off: %s\n",
                                 w->reason[0] ? (char *) w->reason
                                              : "the JVM is not running")
                     - p;

        return ngx_http_ipng_stats_send(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        &type, NULL, body.data, body.len);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_ipng_stats_scrape_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ngx_http_ipng_stats_find_header(r, &ngx_http_ipng_stats_accept,
                                    &ctx->accept);
    ngx_http_ipng_stats_find_header(r, &ngx_http_ipng_stats_accept_encoding,
                                    &ctx->accept_encoding);

    if (w->scrape_current) {
        ngx_queue_insert_tail(&w->scrape_waiting, &ctx->queue);

    } else if (ngx_http_ipng_stats_scrape_start(ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;

    return NGX_DONE;
}


static ngx_int_t
ngx_http_ipng_stats_scrape_start(ngx_http_ipng_stats_scrape_ctx_t *ctx)
{
    ngx_int_t  ticket;

    ticket = ngx_http_ipng_stats_jvm_scrape_begin(ctx->request, &ctx->accept,
                                                  &ctx->accept_encoding);

    if (ticket == NGX_ERROR) {
        return NGX_ERROR;
    }

    ctx->ticket = ticket;
    ngx_http_ipng_stats_worker.scrape_current = ctx;

    ngx_add_timer(&ngx_http_ipng_stats_worker.scrape_timer,
                  NGX_HTTP_IPNG_STATS_RENDER_LIMIT);

    return NGX_OK;
}


/* the render thread's completion call (a JVM thread: no nginx calls here) */

void JNICALL
ngx_http_ipng_stats_scrape_notify(JNIEnv *env, jclass cls, jint ticket)
{
    uint64_t           one;
    ngx_connection_t  *c;

    c = ngx_http_ipng_stats_worker.scrape_event;
    one = 1;

    if (c) {
        (void) write(c->fd, &one, sizeof(uint64_t));
    }
}


static void
ngx_http_ipng_stats_scrape_done(ngx_event_t *ev)
{
    uint64_t                           n;
    ngx_int_t                          rc;
    ngx_str_t                          type, encoding, body;
    ngx_connection_t                  *c;
    ngx_http_ipng_stats_worker_t      *w;
    ngx_http_ipng_stats_scrape_ctx_t  *ctx;

    c = ev->data;
    w = &ngx_http_ipng_stats_worker;

    while (read(c->fd, &n, sizeof(uint64_t)) > 0) {
        /* drain the eventfd */
    }

    if (w->scrape_stuck) {
        /* the late answer of a scrape that timed out: Java is free again */
        w->scrape_stuck = 0;
        ngx_http_ipng_stats_answer_drop();
        ngx_http_ipng_stats_scrape_next();
        return;
    }

    ctx = w->scrape_current;

    if (ctx == NULL) {
        return;
    }

    w->scrape_current = NULL;

    if (w->scrape_timer.timer_set) {
        ngx_del_timer(&w->scrape_timer);
    }

    rc = ngx_http_ipng_stats_jvm_scrape_end(ctx->request, ctx->ticket, &type,
                                            &encoding, &body);

    ngx_http_ipng_stats_scrape_finish(ctx, rc == NGX_OK
                                   ? ngx_http_ipng_stats_send(ctx->request,
                                         NGX_HTTP_OK, &type, &encoding,
                                         body.data, body.len)
                                   : NGX_HTTP_INTERNAL_SERVER_ERROR);

    ngx_http_ipng_stats_scrape_next();
}


static void
ngx_http_ipng_stats_scrape_timeout(ngx_event_t *ev)
{
    ngx_http_ipng_stats_worker_t      *w;
    ngx_http_ipng_stats_scrape_ctx_t  *ctx;

    w = &ngx_http_ipng_stats_worker;
    ctx = w->scrape_current;

    if (ctx == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                  "ipng_stats: a scrape did not finish rendering in %d s",
                  NGX_HTTP_IPNG_STATS_RENDER_LIMIT / 1000);

    /* until Java answers, it renders nothing else: scrapes get 503 */

    w->scrape_current = NULL;
    w->scrape_stuck = 1;

    ngx_http_ipng_stats_scrape_finish(ctx, NGX_HTTP_SERVICE_UNAVAILABLE);

    while (!ngx_queue_empty(&w->scrape_waiting)) {
        ctx = ngx_queue_data(ngx_queue_head(&w->scrape_waiting),
                             ngx_http_ipng_stats_scrape_ctx_t, queue);
        ngx_queue_remove(&ctx->queue);
        ngx_http_ipng_stats_scrape_finish(ctx, NGX_HTTP_SERVICE_UNAVAILABLE);
    }
}


/* the next scrape that waited */

static void
ngx_http_ipng_stats_scrape_next(void)
{
    ngx_queue_t                       *q;
    ngx_http_ipng_stats_worker_t      *w;
    ngx_http_ipng_stats_scrape_ctx_t  *ctx;

    w = &ngx_http_ipng_stats_worker;

    while (!ngx_queue_empty(&w->scrape_waiting)) {
        q = ngx_queue_head(&w->scrape_waiting);
        ngx_queue_remove(q);
        ctx = ngx_queue_data(q, ngx_http_ipng_stats_scrape_ctx_t, queue);

        if (ngx_http_ipng_stats_scrape_start(ctx) == NGX_OK) {
            break;
        }

        ngx_http_ipng_stats_scrape_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_http_ipng_stats_scrape_finish(ngx_http_ipng_stats_scrape_ctx_t *ctx,
    ngx_int_t rc)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* at exit nginx counts open sockets as leaks: close ours first */

void
ngx_http_ipng_stats_scrape_exit_process(void)
{
    ngx_connection_t  *c;

    c = ngx_http_ipng_stats_worker.scrape_event;

    if (c) {
        ngx_http_ipng_stats_worker.scrape_event = NULL;
        ngx_close_connection(c);
    }
}


ngx_int_t
ngx_http_ipng_stats_scrape_init_process(ngx_cycle_t *cycle)
{
    int                            fd;
    ngx_connection_t              *c;
    ngx_http_ipng_stats_worker_t  *w;

    w = &ngx_http_ipng_stats_worker;

    ngx_queue_init(&w->scrape_waiting);

    w->scrape_timer.handler = ngx_http_ipng_stats_scrape_timeout;
    w->scrape_timer.log = cycle->log;
    w->scrape_timer.data = w;

    fd = eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      "ipng_stats: eventfd() failed");
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, cycle->log);
    if (c == NULL) {
        (void) close(fd);
        return NGX_ERROR;
    }

    c->read->handler = ngx_http_ipng_stats_scrape_done;
    c->read->log = cycle->log;
    c->data = c;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_free_connection(c);
        (void) close(fd);
        return NGX_ERROR;
    }

    w->scrape_event = c;

    return NGX_OK;
}


/*
 * encoding: NULL for a message of the module's own, else the answer's
 * Content-Encoding (empty: none); either way the answer varies with the
 * request's Accept and Accept-Encoding headers
 */

static ngx_int_t
ngx_http_ipng_stats_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *encoding, u_char *data, size_t len)
{
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_str_t         value;
    ngx_chain_t       out;

    r->headers_out.status = status;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = len;

    /* a scrape is a moment: no proxy or browser may keep it */

    ngx_str_set(&value, "no-store");

    if (ngx_http_ipng_stats_push_header(r, "Cache-Control", &value, NULL)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (encoding) {
        ngx_str_set(&value, "Accept, Accept-Encoding");

        if (ngx_http_ipng_stats_push_header(r, "Vary", &value, NULL)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    /* set, it also keeps nginx's gzip filter from compressing it again */

    if (encoding && encoding->len
        && ngx_http_ipng_stats_push_header(r, "Content-Encoding", encoding,
                                    &r->headers_out.content_encoding)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_HEAD || len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_ipng_stats_push_header(ngx_http_request_t *r, char *key,
    ngx_str_t *value, ngx_table_elt_t **elt)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;

    if (elt) {
        *elt = h;
    }

    return NGX_OK;
}


/* the first request header called name (case-insensitive); empty if none */

static void
ngx_http_ipng_stats_find_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    value->len = 0;
    value->data = NULL;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == name->len
            && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
        {
            *value = h[i].value;
            return;
        }
    }
}
