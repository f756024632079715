
/*
 * Copyright (C) IPng Networks GmbH
 *
 * The UDP logtail ("ipng_stats_logtail"): every request, rendered with a
 * log_format of the http block, appended to a per-worker buffer that is
 * sent to one IPv4 address as a single datagram when the next line would
 * not fit, when the flush timer fires and when the worker exits.  A
 * datagram holds whole lines only, each ending in "\n".
 *
 * How the log_format is rendered.  nginx keeps no source text of a
 * log_format: "log_format" compiles it at once into an array of operations
 * (literal text, fast built-ins such as $status, variables with the format's
 * escape= rule) that live in ngx_http_log_module's main configuration.  To
 * compile the format ourselves we would need its text, which means patching
 * ngx_http_log_module's command table to intercept "log_format", and then
 * re-implementing its escaping and built-ins, with lines that could drift
 * from what access_log writes.  Instead we run nginx's own compiled
 * operations, exactly as ngx_http_log_handler() does.  That needs the three
 * small structures below, private to ngx_http_log_module.c; they are copied
 * from nginx 1.22.1 and have had this layout since nginx 0.7.  As a guard,
 * the directive compares our element sizes with the sizes the arrays record
 * (ngx_array_t.size) and refuses the configuration if they differ.
 */


#include "ngx_http_ipng_stats_module.h"


/* the largest UDP payload over IPv4: 65535 - 20 (IP) - 8 (UDP) */
#define NGX_HTTP_IPNG_STATS_LOGTAIL_MAX_DGRAM  65507

#define NGX_HTTP_IPNG_STATS_LOGTAIL_BUFFER     65536
#define NGX_HTTP_IPNG_STATS_LOGTAIL_MIN_BUFFER 1024
#define NGX_HTTP_IPNG_STATS_LOGTAIL_FLUSH      1000
#define NGX_HTTP_IPNG_STATS_LOGTAIL_MIN_FLUSH  100

/* send errors are logged at most once per this many seconds */
#define NGX_HTTP_IPNG_STATS_LOGTAIL_ERR_PERIOD 10


/* ngx_http_log_module.c of nginx 1.22.1, private there: keep in step */

typedef struct ngx_http_ipng_stats_log_op_s  ngx_http_ipng_stats_log_op_t;

typedef u_char *(*ngx_http_ipng_stats_log_op_run_pt) (ngx_http_request_t *r,
    u_char *buf, ngx_http_ipng_stats_log_op_t *op);

typedef size_t (*ngx_http_ipng_stats_log_op_getlen_pt) (ngx_http_request_t *r,
    uintptr_t data);

struct ngx_http_ipng_stats_log_op_s {           /* ngx_http_log_op_t */
    size_t                                 len;
    ngx_http_ipng_stats_log_op_getlen_pt   getlen;
    ngx_http_ipng_stats_log_op_run_pt      run;
    uintptr_t                              data;
};

typedef struct {                                /* ngx_http_log_fmt_t */
    ngx_str_t                   name;
    ngx_array_t                *flushes;
    ngx_array_t                *ops;
} ngx_http_ipng_stats_log_fmt_t;

typedef struct {                                /* ngx_http_log_main_conf_t */
    ngx_array_t                 formats;
    ngx_uint_t                  combined_used;
} ngx_http_ipng_stats_log_main_conf_t;


typedef struct {
    ngx_str_t                   format;       /* the log_format's name */
    ngx_array_t                *flushes;      /* of ngx_int_t, may be NULL */
    ngx_array_t                *ops;          /* of ..._log_op_t */
    ngx_http_complex_value_t   *filter;       /* if=, or NULL */
    ngx_str_t                   url;          /* as configured */
    struct sockaddr_in          sin;
    size_t                      buffer;
    ngx_msec_t                  flush;
} ngx_http_ipng_stats_logtail_conf_t;


/* per-worker state */

typedef struct {
    ngx_http_ipng_stats_logtail_conf_t  *conf;    /* NULL: not running */
    ngx_socket_t                         fd;
    u_char                              *start;
    u_char                              *pos;
    u_char                              *end;     /* start + datagram size */
    ngx_event_t                          event;
    time_t                               error_time;
    ngx_uint_t                           lost;    /* since the last report */
} ngx_http_ipng_stats_logtail_worker_t;


static ngx_int_t ngx_http_ipng_stats_logtail_handler(ngx_http_request_t *r);
static void ngx_http_ipng_stats_logtail_flush_handler(ngx_event_t *ev);
static void ngx_http_ipng_stats_logtail_send(
    ngx_http_ipng_stats_logtail_worker_t *w, u_char *buf, size_t len);
static void ngx_http_ipng_stats_logtail_flush(
    ngx_http_ipng_stats_logtail_worker_t *w);
static char *ngx_http_ipng_stats_logtail_format(ngx_conf_t *cf,
    ngx_http_ipng_stats_logtail_conf_t *ltcf, ngx_str_t *name);
static char *ngx_http_ipng_stats_logtail_url(ngx_conf_t *cf,
    ngx_http_ipng_stats_logtail_conf_t *ltcf, ngx_str_t *url);


extern ngx_module_t  ngx_http_log_module;

static ngx_http_ipng_stats_logtail_worker_t  ngx_http_ipng_stats_logtail_worker;


char *
ngx_http_ipng_stats_logtail(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ipng_stats_main_conf_t *smcf = conf;

    ssize_t                              size;
    ngx_int_t                            msec;
    ngx_str_t                           *value, s;
    ngx_uint_t                           i;
    ngx_http_compile_complex_value_t     ccv;
    ngx_http_ipng_stats_logtail_conf_t  *ltcf;

    if (smcf->logtail) {
        return "is duplicate";
    }

    ltcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ipng_stats_logtail_conf_t));
    if (ltcf == NULL) {
        return NGX_CONF_ERROR;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     ltcf->flushes = NULL;
     *     ltcf->filter = NULL;
     */

    ltcf->buffer = NGX_HTTP_IPNG_STATS_LOGTAIL_BUFFER;
    ltcf->flush = NGX_HTTP_IPNG_STATS_LOGTAIL_FLUSH;

    value = cf->args->elts;

    if (ngx_http_ipng_stats_logtail_format(cf, ltcf, &value[1])
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_ipng_stats_logtail_url(cf, ltcf, &value[2]) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "buffer=", 7) == 0) {
            s.len = value[i].len - 7;
            s.data = value[i].data + 7;

            size = ngx_parse_size(&s);

            if (size == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid buffer size \"%V\" in \"%V\"",
                                   &s, &cmd->name);
                return NGX_CONF_ERROR;
            }

            if (size < NGX_HTTP_IPNG_STATS_LOGTAIL_MIN_BUFFER) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "buffer size \"%V\" in \"%V\" is below "
                                   "the minimum of 1k", &s, &cmd->name);
                return NGX_CONF_ERROR;
            }

            ltcf->buffer = size;
            continue;
        }

        if (ngx_strncmp(value[i].data, "flush=", 6) == 0) {
            s.len = value[i].len - 6;
            s.data = value[i].data + 6;

            msec = ngx_parse_time(&s, 0);

            if (msec == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid flush time \"%V\" in \"%V\"",
                                   &s, &cmd->name);
                return NGX_CONF_ERROR;
            }

            if (msec < NGX_HTTP_IPNG_STATS_LOGTAIL_MIN_FLUSH) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "flush time \"%V\" in \"%V\" is below "
                                   "the minimum of 100ms", &s, &cmd->name);
                return NGX_CONF_ERROR;
            }

            ltcf->flush = (ngx_msec_t) msec;
            continue;
        }

        if (ngx_strncmp(value[i].data, "if=", 3) == 0) {
            s.len = value[i].len - 3;
            s.data = value[i].data + 3;

            if (ltcf->filter || s.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid parameter \"%V\" in \"%V\"",
                                   &value[i], &cmd->name);
                return NGX_CONF_ERROR;
            }

            ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

            ccv.cf = cf;
            ccv.value = &s;
            ccv.complex_value = ngx_palloc(cf->pool,
                                           sizeof(ngx_http_complex_value_t));
            if (ccv.complex_value == NULL) {
                return NGX_CONF_ERROR;
            }

            if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            ltcf->filter = ccv.complex_value;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"%V\"",
                           &value[i], &cmd->name);
        return NGX_CONF_ERROR;
    }

    smcf->logtail = ltcf;

    return NGX_CONF_OK;
}


static char *
ngx_http_ipng_stats_logtail_format(ngx_conf_t *cf,
    ngx_http_ipng_stats_logtail_conf_t *ltcf, ngx_str_t *name)
{
    ngx_uint_t                            i;
    ngx_http_ipng_stats_log_fmt_t        *fmt;
    ngx_http_ipng_stats_log_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_log_module);

    if (lmcf == NULL
        || lmcf->formats.size != sizeof(ngx_http_ipng_stats_log_fmt_t))
    {
        goto layout;
    }

    fmt = lmcf->formats.elts;

    for (i = 0; i < lmcf->formats.nelts; i++) {
        if (fmt[i].name.len == name->len
            && ngx_strncmp(fmt[i].name.data, name->data, name->len) == 0)
        {
            break;
        }
    }

    if (i == lmcf->formats.nelts) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown log format \"%V\" in "
                           "\"ipng_stats_logtail\"; define it with "
                           "\"log_format %V ...\" earlier in the http block",
                           name, name);
        return NGX_CONF_ERROR;
    }

    if (fmt[i].ops == NULL
        || fmt[i].ops->size != sizeof(ngx_http_ipng_stats_log_op_t)
        || (fmt[i].flushes && fmt[i].flushes->size != sizeof(ngx_int_t)))
    {
        goto layout;
    }

    /* "combined" is compiled by ngx_http_log_module only when it is used */

    if (i == 0 && name->len == sizeof("combined") - 1
        && ngx_strncmp(name->data, "combined", name->len) == 0)
    {
        lmcf->combined_used = 1;
    }

    /*
     * the formats array may move as more log_formats follow; the arrays
     * of operations and flushes it points to do not
     */

    ltcf->format = *name;
    ltcf->ops = fmt[i].ops;
    ltcf->flushes = fmt[i].flushes;

    return NGX_CONF_OK;

layout:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"ipng_stats_logtail\" cannot read the log formats "
                       "of this nginx (its ngx_http_log_module differs from "
                       "nginx 1.22's); rebuild the module against this "
                       "nginx's sources");
    return NGX_CONF_ERROR;
}


static char *
ngx_http_ipng_stats_logtail_url(ngx_conf_t *cf,
    ngx_http_ipng_stats_logtail_conf_t *ltcf, ngx_str_t *url)
{
    u_char     *host, *colon, *last;
    in_addr_t   addr;
    ngx_int_t   port;

    if (url->len < sizeof("udp://") - 1
        || ngx_strncasecmp(url->data, (u_char *) "udp://", 6) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid destination \"%V\" in "
                           "\"ipng_stats_logtail\", it must be "
                           "\"udp://<IPv4 address>:<port>\"", url);
        return NGX_CONF_ERROR;
    }

    host = url->data + 6;
    last = url->data + url->len;

    if (host < last && *host == '[') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "IPv6 destination \"%V\" in \"ipng_stats_logtail\" "
                           "is not supported, use an IPv4 address", url);
        return NGX_CONF_ERROR;
    }

    colon = ngx_strlchr(host, last, ':');

    if (colon == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no port in destination \"%V\" of "
                           "\"ipng_stats_logtail\", it must be "
                           "\"udp://<IPv4 address>:<port>\"", url);
        return NGX_CONF_ERROR;
    }

    addr = ngx_inet_addr(host, colon - host);

    if (addr == INADDR_NONE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "host \"%*s\" in \"%V\" of \"ipng_stats_logtail\" "
                           "is not an IPv4 address (hostnames and IPv6 "
                           "addresses are not supported)",
                           colon - host, host, url);
        return NGX_CONF_ERROR;
    }

    port = ngx_atoi(colon + 1, last - colon - 1);

    if (port < 1 || port > 65535) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid port \"%*s\" in \"%V\" of "
                           "\"ipng_stats_logtail\", it must be 1-65535",
                           last - colon - 1, colon + 1, url);
        return NGX_CONF_ERROR;
    }

    ltcf->url = *url;
    ltcf->sin.sin_family = AF_INET;
    ltcf->sin.sin_addr.s_addr = addr;
    ltcf->sin.sin_port = htons((in_port_t) port);

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_ipng_stats_logtail_init(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    if (smcf->logtail == NULL) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_ipng_stats_logtail_handler;

    return NGX_OK;
}


ngx_int_t
ngx_http_ipng_stats_logtail_init_process(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    size_t                                 size;
    ngx_socket_t                           s;
    ngx_http_ipng_stats_logtail_conf_t    *ltcf;
    ngx_http_ipng_stats_logtail_worker_t  *w;

    ltcf = smcf->logtail;

    if (ltcf == NULL) {
        return NGX_OK;
    }

    w = &ngx_http_ipng_stats_logtail_worker;

    size = ngx_min(ltcf->buffer, NGX_HTTP_IPNG_STATS_LOGTAIL_MAX_DGRAM);

    w->start = ngx_alloc(size, cycle->log);
    if (w->start == NULL) {
        return NGX_ERROR;
    }

    s = ngx_socket(AF_INET, SOCK_DGRAM, 0);

    if (s == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "ipng_stats_logtail: " ngx_socket_n " failed, "
                      "no logtail from this worker");
        goto failed;
    }

    if (ngx_nonblocking(s) == -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "ipng_stats_logtail: " ngx_nonblocking_n " failed, "
                      "no logtail from this worker");
        (void) ngx_close_socket(s);
        goto failed;
    }

    w->fd = s;
    w->pos = w->start;
    w->end = w->start + size;
    w->error_time = 0;
    w->lost = 0;

    w->event.handler = ngx_http_ipng_stats_logtail_flush_handler;
    w->event.data = w;
    w->event.log = cycle->log;
    w->event.cancelable = 1;

    w->conf = ltcf;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                   "ipng_stats_logtail: to %V, %uz byte datagrams, flush %M",
                   &ltcf->url, size, ltcf->flush);

    return NGX_OK;

failed:

    ngx_free(w->start);
    w->start = NULL;

    return NGX_ERROR;
}


void
ngx_http_ipng_stats_logtail_exit_process(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    ngx_http_ipng_stats_logtail_worker_t  *w;

    w = &ngx_http_ipng_stats_logtail_worker;

    if (w->conf == NULL) {
        return;
    }

    /* the final flush: what this worker logged since the last datagram */

    ngx_http_ipng_stats_logtail_flush(w);

    if (w->event.timer_set) {
        ngx_del_timer(&w->event);
    }

    if (ngx_close_socket(w->fd) == -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "ipng_stats_logtail: " ngx_close_socket_n " failed");
    }

    ngx_free(w->start);

    w->conf = NULL;
    w->start = NULL;
}


static ngx_int_t
ngx_http_ipng_stats_logtail_handler(ngx_http_request_t *r)
{
    u_char                                *line, *p;
    size_t                                 len;
    ngx_str_t                              val;
    ngx_uint_t                             i;
    ngx_http_ipng_stats_log_op_t          *op;
    ngx_http_ipng_stats_logtail_conf_t    *ltcf;
    ngx_http_ipng_stats_logtail_worker_t  *w;

    w = &ngx_http_ipng_stats_logtail_worker;
    ltcf = w->conf;

    if (ltcf == NULL) {
        return NGX_OK;
    }

    /* if= first: a suppressed request renders nothing */

    if (ltcf->filter) {
        if (ngx_http_complex_value(r, ltcf->filter, &val) != NGX_OK) {
            return NGX_ERROR;
        }

        if (val.len == 0 || (val.len == 1 && val.data[0] == '0')) {
            return NGX_OK;
        }
    }

    ngx_http_script_flush_no_cacheable_variables(r, ltcf->flushes);

    /* an upper bound, as in ngx_http_log_handler() */

    len = 0;
    op = ltcf->ops->elts;

    for (i = 0; i < ltcf->ops->nelts; i++) {
        if (op[i].len == 0) {
            len += op[i].getlen(r, op[i].data);

        } else {
            len += op[i].len;
        }
    }

    len++;  /* "\n" */

    if (len > (size_t) (w->end - w->pos)) {
        ngx_http_ipng_stats_logtail_flush(w);
    }

    if (len <= (size_t) (w->end - w->pos)) {

        if (w->pos == w->start) {
            ngx_add_timer(&w->event, ltcf->flush);
        }

        p = w->pos;

        for (i = 0; i < ltcf->ops->nelts; i++) {
            p = op[i].run(r, p, &op[i]);
        }

        *p++ = '\n';

        w->pos = p;

        return NGX_OK;
    }

    /* longer than a datagram of the buffer's size: a datagram of its own */

    line = ngx_pnalloc(r->pool, len);
    if (line == NULL) {
        return NGX_ERROR;
    }

    p = line;

    for (i = 0; i < ltcf->ops->nelts; i++) {
        p = op[i].run(r, p, &op[i]);
    }

    if (p - line >= NGX_HTTP_IPNG_STATS_LOGTAIL_MAX_DGRAM) {
        p = line + NGX_HTTP_IPNG_STATS_LOGTAIL_MAX_DGRAM - 1;
    }

    *p++ = '\n';

    ngx_http_ipng_stats_logtail_send(w, line, p - line);

    return NGX_OK;
}


static void
ngx_http_ipng_stats_logtail_flush_handler(ngx_event_t *ev)
{
    ngx_http_ipng_stats_logtail_worker_t  *w = ev->data;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "ipng_stats_logtail: flush timer");

    ngx_http_ipng_stats_logtail_flush(w);
}


static void
ngx_http_ipng_stats_logtail_flush(ngx_http_ipng_stats_logtail_worker_t *w)
{
    if (w->event.timer_set) {
        ngx_del_timer(&w->event);
    }

    if (w->pos == w->start) {
        return;
    }

    ngx_http_ipng_stats_logtail_send(w, w->start, w->pos - w->start);

    w->pos = w->start;
}


static void
ngx_http_ipng_stats_logtail_send(ngx_http_ipng_stats_logtail_worker_t *w,
    u_char *buf, size_t len)
{
    time_t     now;
    ssize_t    n;
    ngx_err_t  err;

    n = sendto(w->fd, buf, len, 0, (struct sockaddr *) &w->conf->sin,
               sizeof(struct sockaddr_in));

    if (n == -1 && ngx_socket_errno == NGX_EINTR) {
        n = sendto(w->fd, buf, len, 0, (struct sockaddr *) &w->conf->sin,
                   sizeof(struct sockaddr_in));
    }

    if (n == (ssize_t) len) {
        return;
    }

    /* never blocks, never retries: the datagram is lost; say so, rarely */

    err = (n == -1) ? ngx_socket_errno : 0;

    w->lost++;

    now = ngx_time();

    if (now - w->error_time < NGX_HTTP_IPNG_STATS_LOGTAIL_ERR_PERIOD) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, err,
                  "ipng_stats_logtail: sendto() of %uz bytes to \"%V\" "
                  "failed, %ui datagram(s) lost since the last report",
                  len, &w->conf->url, w->lost);

    w->error_time = now;
    w->lost = 0;
}
