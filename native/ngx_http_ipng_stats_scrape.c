
/*
 * Copyright (C) IPng Networks GmbH
 *
 * The scrape location ("ipng_stats;"), in the workers.  The request goes
 * to the stats process (_process.c) over its unix socket through nginx's
 * upstream machinery, unbuffered: the event loop serves other requests
 * meanwhile, and the answer streams to the client at the client's pace
 * through one buffer.  The stats process drains every worker's ring before
 * it renders, so the answer includes every request any worker completed
 * before the scrape.  No JVM, no thread and no Java call in the worker.
 *
 * While no stats process listens (nginx starts or respawns it), a scrape
 * waits for one, NGX_HTTP_IPNG_STATS_WAIT_MS at most, then gets 503.  When
 * the stats process says no (no JVM, too many scrapes at once) the answer
 * is its 503; both with Retry-After.  An answer is never cached.
 */


#include "ngx_http_ipng_stats_module.h"


/* what no scrape needs more of; the stats process takes 80 KB at most */
#define NGX_HTTP_IPNG_STATS_FIELD_MAX  4096
#define NGX_HTTP_IPNG_STATS_ARGS_MAX   (64 * 1024)
#define NGX_HTTP_IPNG_STATS_WAIT_MS    3000
#define NGX_HTTP_IPNG_STATS_RETRY_MS   20


typedef struct {
    ngx_http_request_t         *request;
    ngx_event_t                 wait;
    ngx_msec_t                  waited;
} ngx_http_ipng_stats_scrape_ctx_t;


static ngx_int_t ngx_http_ipng_stats_listening(
    ngx_http_ipng_stats_main_conf_t *smcf);
static ngx_int_t ngx_http_ipng_stats_hold(ngx_http_request_t *r);
static void ngx_http_ipng_stats_retry(ngx_event_t *ev);
static void ngx_http_ipng_stats_unhold(void *data);
static ngx_int_t ngx_http_ipng_stats_upstream(ngx_http_request_t *r);
static ngx_int_t ngx_http_ipng_stats_unavailable(ngx_http_request_t *r);
static ngx_int_t ngx_http_ipng_stats_create_request(ngx_http_request_t *r);
static ngx_int_t ngx_http_ipng_stats_reinit_request(ngx_http_request_t *r);
static ngx_int_t ngx_http_ipng_stats_process_header(ngx_http_request_t *r);
static ngx_int_t ngx_http_ipng_stats_parse_status(ngx_http_request_t *r,
    u_char **p, u_char *last, ngx_int_t *value);
static ngx_int_t ngx_http_ipng_stats_push_header(ngx_http_request_t *r,
    char *key, ngx_str_t *value, ngx_table_elt_t **elt);
static ngx_int_t ngx_http_ipng_stats_filter_init(void *data);
static ngx_int_t ngx_http_ipng_stats_filter(void *data, ssize_t bytes);
static void ngx_http_ipng_stats_abort_request(ngx_http_request_t *r);
static void ngx_http_ipng_stats_finalize_request(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_ipng_stats_find_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);


static ngx_str_t  ngx_http_ipng_stats_accept = ngx_string("Accept");
static ngx_str_t  ngx_http_ipng_stats_accept_encoding =
    ngx_string("Accept-Encoding");


ngx_int_t
ngx_http_ipng_stats_scrape_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_http_ipng_stats_main_conf_t  *smcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (r->args.len > NGX_HTTP_IPNG_STATS_ARGS_MAX) {
        return NGX_HTTP_REQUEST_URI_TOO_LARGE;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_ipng_stats_module);

    if (!ngx_http_ipng_stats_listening(smcf)) {
        return ngx_http_ipng_stats_hold(r);
    }

    return ngx_http_ipng_stats_upstream(r);
}


/* a live stats process has its socket in place */

static ngx_int_t
ngx_http_ipng_stats_listening(ngx_http_ipng_stats_main_conf_t *smcf)
{
    ngx_pid_t  pid;

    pid = (ngx_pid_t) __atomic_load_n(&smcf->rings->listening,
                                      __ATOMIC_ACQUIRE);

    return pid != 0 && (kill(pid, 0) == 0 || ngx_errno == NGX_EPERM);
}


/* the request waits, the event loop serves others */

static ngx_int_t
ngx_http_ipng_stats_hold(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t                *cln;
    ngx_http_ipng_stats_scrape_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_ipng_stats_scrape_ctx_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (ctx == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->wait.handler = ngx_http_ipng_stats_retry;
    ctx->wait.data = ctx;
    ctx->wait.log = r->connection->log;
    ctx->wait.cancelable = 1;

    cln->handler = ngx_http_ipng_stats_unhold;
    cln->data = ctx;

    r->main->count++;

    ngx_add_timer(&ctx->wait, NGX_HTTP_IPNG_STATS_RETRY_MS);

    return NGX_DONE;
}


static void
ngx_http_ipng_stats_retry(ngx_event_t *ev)
{
    ngx_http_request_t                *r;
    ngx_http_ipng_stats_main_conf_t   *smcf;
    ngx_http_ipng_stats_scrape_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    smcf = ngx_http_get_module_main_conf(r, ngx_http_ipng_stats_module);

    ctx->waited += NGX_HTTP_IPNG_STATS_RETRY_MS;

    if (ngx_http_ipng_stats_listening(smcf)) {
        ngx_http_finalize_request(r, ngx_http_ipng_stats_upstream(r));
        return;
    }

    if (ctx->waited >= NGX_HTTP_IPNG_STATS_WAIT_MS || ngx_exiting) {
        ngx_http_finalize_request(r, ngx_http_ipng_stats_unavailable(r));
        return;
    }

    ngx_add_timer(ev, NGX_HTTP_IPNG_STATS_RETRY_MS);
}


/* the request is freed (its client went, the worker exits): no timer left */

static void
ngx_http_ipng_stats_unhold(void *data)
{
    ngx_http_ipng_stats_scrape_ctx_t  *ctx = data;

    if (ctx->wait.timer_set) {
        ngx_del_timer(&ctx->wait);
    }
}


static ngx_int_t
ngx_http_ipng_stats_unavailable(ngx_http_request_t *r)
{
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_str_t         value;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    static u_char     body[] = "ipng_stats: the stats process is not "
                               "running (nginx starts it, and starts it "
                               "again when it ends)\n";

    r->headers_out.status = NGX_HTTP_SERVICE_UNAVAILABLE;
    ngx_str_set(&r->headers_out.content_type, "text/plain; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = sizeof(body) - 1;

    ngx_str_set(&value, "1");

    if (ngx_http_ipng_stats_push_header(r, "Retry-After", &value, &h)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&value, "no-store");

    if (ngx_http_ipng_stats_push_header(r, "Cache-Control", &value, &h)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_HEAD) {
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

    b->pos = body;
    b->last = body + sizeof(body) - 1;
    b->memory = 1;
    b->last_buf = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* to the stats process, through nginx's upstream machinery */

static ngx_int_t
ngx_http_ipng_stats_upstream(ngx_http_request_t *r)
{
    ngx_http_upstream_t              *u;
    ngx_http_ipng_stats_loc_conf_t   *lcf;
    ngx_http_ipng_stats_main_conf_t  *smcf;

    if (ngx_http_upstream_create(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_ipng_stats_module);
    smcf = ngx_http_get_module_main_conf(r, ngx_http_ipng_stats_module);

    u = r->upstream;

    ngx_str_set(&u->schema, "ipng-stats://");
    u->output.tag = (ngx_buf_tag_t) &ngx_http_ipng_stats_module;
    u->conf = lcf->upstream;

    u->resolved = ngx_pcalloc(r->pool, sizeof(ngx_http_upstream_resolved_t));
    if (u->resolved == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    u->resolved->sockaddr = smcf->socket.sockaddr;
    u->resolved->socklen = smcf->socket.socklen;
    u->resolved->naddrs = 1;
    u->resolved->host = smcf->socket.name;

    u->create_request = ngx_http_ipng_stats_create_request;
    u->reinit_request = ngx_http_ipng_stats_reinit_request;
    u->process_header = ngx_http_ipng_stats_process_header;
    u->abort_request = ngx_http_ipng_stats_abort_request;
    u->finalize_request = ngx_http_ipng_stats_finalize_request;
    u->input_filter_init = ngx_http_ipng_stats_filter_init;
    u->input_filter = ngx_http_ipng_stats_filter;
    u->input_filter_ctx = r;

    r->main->count++;

    ngx_http_upstream_init(r);

    return NGX_DONE;
}


/* the fixed settings of a scrape location's upstream */

void
ngx_http_ipng_stats_scrape_conf(ngx_http_upstream_conf_t *u)
{
    u->local = NULL;
    u->socket_keepalive = 0;
    u->next_upstream_tries = 1;
    u->next_upstream = NGX_CONF_BITMASK_SET|NGX_HTTP_UPSTREAM_FT_OFF;
    u->connect_timeout = 1000;
    u->send_timeout = 10000;
    u->read_timeout = 60000;            /* a render of a large zone */
    u->next_upstream_timeout = 0;
    u->buffer_size = 64 * 1024;
    u->buffering = 0;
    u->ignore_client_abort = 0;
    u->intercept_errors = 0;
    u->pass_request_headers = 0;
    u->pass_request_body = 0;
}


/* IPNG/1 <args length> <accept length> <encoding length> LF fields */

static ngx_int_t
ngx_http_ipng_stats_create_request(ngx_http_request_t *r)
{
    ngx_str_t     accept, encoding;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_http_ipng_stats_find_header(r, &ngx_http_ipng_stats_accept, &accept);
    ngx_http_ipng_stats_find_header(r, &ngx_http_ipng_stats_accept_encoding,
                                    &encoding);

    accept.len = ngx_min(accept.len, NGX_HTTP_IPNG_STATS_FIELD_MAX);
    encoding.len = ngx_min(encoding.len, NGX_HTTP_IPNG_STATS_FIELD_MAX);


    b = ngx_create_temp_buf(r->pool, sizeof("IPNG/1   \n") - 1
                                     + 3 * NGX_INT_T_LEN + r->args.len
                                     + accept.len + encoding.len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_sprintf(b->last, "IPNG/1 %uz %uz %uz\n%V%V%V",
                          r->args.len, accept.len, encoding.len, &r->args,
                          &accept, &encoding);

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    r->upstream->request_bufs = cl;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ipng_stats_reinit_request(ngx_http_request_t *r)
{
    return NGX_OK;
}


/* <status> <body length> <content type>[TAB <encoding>] LF */

static ngx_int_t
ngx_http_ipng_stats_process_header(ngx_http_request_t *r)
{
    u_char               *p, *nl, *tab;
    ngx_int_t             rc, status, length;
    ngx_str_t             value;
    ngx_table_elt_t      *h;
    ngx_http_upstream_t  *u;

    u = r->upstream;

    nl = ngx_strlchr(u->buffer.pos, u->buffer.last, '\n');
    if (nl == NULL) {
        return NGX_AGAIN;
    }

    p = u->buffer.pos;

    if (ngx_http_ipng_stats_parse_status(r, &p, nl, &status) != NGX_OK
        || ngx_http_ipng_stats_parse_status(r, &p, nl, &length) != NGX_OK
        || (status != NGX_HTTP_OK && status != NGX_HTTP_SERVICE_UNAVAILABLE))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ipng_stats: the stats process sent an invalid answer");
        return NGX_HTTP_UPSTREAM_INVALID_HEADER;
    }

    tab = ngx_strlchr(p, nl, '\t');

    value.data = p;
    value.len = (tab ? tab : nl) - p;

    r->headers_out.content_type.len = value.len;
    r->headers_out.content_type.data = ngx_pstrdup(r->pool, &value);
    if (r->headers_out.content_type.data == NULL) {
        return NGX_ERROR;
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    if (tab) {
        value.data = tab + 1;
        value.len = nl - (tab + 1);
        value.data = ngx_pstrdup(r->pool, &value);

        if (ngx_http_ipng_stats_push_header(r, "Content-Encoding", &value,
                                            &r->headers_out.content_encoding)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* a scrape is a moment: no proxy or browser may keep it */

    ngx_str_set(&value, "no-store");

    if (ngx_http_ipng_stats_push_header(r, "Cache-Control", &value, &h)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (status == NGX_HTTP_OK) {
        ngx_str_set(&value, "Accept, Accept-Encoding");
        rc = ngx_http_ipng_stats_push_header(r, "Vary", &value, &h);

    } else {
        ngx_str_set(&value, "1");
        rc = ngx_http_ipng_stats_push_header(r, "Retry-After", &value, &h);
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    u->headers_in.status_n = status;
    u->state->status = status;
    u->headers_in.content_length_n = length;

    u->buffer.pos = nl + 1;

    return NGX_OK;
}


/* a number and the space after it */

static ngx_int_t
ngx_http_ipng_stats_parse_status(ngx_http_request_t *r, u_char **p,
    u_char *last, ngx_int_t *value)
{
    u_char  *start;

    start = *p;

    while (*p < last && **p >= '0' && **p <= '9') {
        (*p)++;
    }

    if (*p == last || **p != ' ') {
        return NGX_ERROR;
    }

    *value = ngx_atoi(start, *p - start);
    (*p)++;

    return *value == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


static ngx_int_t
ngx_http_ipng_stats_push_header(ngx_http_request_t *r, char *key,
    ngx_str_t *value, ngx_table_elt_t **elt)
{
    ngx_table_elt_t  *h;

    if (value->data == NULL) {
        return NGX_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;

    *elt = h;

    return NGX_OK;
}


/* the body is the length the stats process said: less is an error */

static ngx_int_t
ngx_http_ipng_stats_filter_init(void *data)
{
    ngx_http_request_t  *r = data;

    r->upstream->length = r->upstream->headers_in.content_length_n;

    return NGX_OK;
}


/* as nginx's own unbuffered filter, which is not exported */

static ngx_int_t
ngx_http_ipng_stats_filter(void *data, ssize_t bytes)
{
    ngx_http_request_t  *r = data;

    ngx_buf_t            *b;
    ngx_chain_t          *cl, **ll;
    ngx_http_upstream_t  *u;

    u = r->upstream;

    if (bytes > u->length) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ipng_stats: the stats process sent more than it said");
        return NGX_ERROR;
    }

    for (cl = u->out_bufs, ll = &u->out_bufs; cl; cl = cl->next) {
        ll = &cl->next;
    }

    cl = ngx_chain_get_free_buf(r->pool, &u->free_bufs);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    *ll = cl;

    cl->buf->flush = 1;
    cl->buf->memory = 1;

    b = &u->buffer;

    cl->buf->pos = b->last;
    b->last += bytes;
    cl->buf->last = b->last;
    cl->buf->tag = u->output.tag;

    u->length -= bytes;

    return NGX_OK;
}


static void
ngx_http_ipng_stats_abort_request(ngx_http_request_t *r)
{
}


static void
ngx_http_ipng_stats_finalize_request(ngx_http_request_t *r, ngx_int_t rc)
{
}


/* the value of request header "name", or an empty string */

static void
ngx_http_ipng_stats_find_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    ngx_str_null(value);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return;
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
