
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
 * log_format: "log_format" compiles it at once into operations private to
 * ngx_http_log_module.c.  Running those operations ourselves would tie the
 * module to that file's private ABI, and it is not stable even within one
 * version: Debian's nginx 1.22.1-9+deb12u11 (our target) changed the
 * operations' run() signature to pass the end of the buffer, so code copied
 * from nginx.org's 1.22.1 crashes its workers.  So we compile the format
 * ourselves: a wrapper around "log_format", installed before the http block
 * is parsed and removed when parsing ends (a cleanup of the configuration's
 * temporary pool, run on success and on failure, so that nginx's command
 * table never points into this library after a reload that no longer loads
 * it), keeps each format's name and arguments, after nginx's own handler
 * has accepted them.  "ipng_stats_logtail" compiles them as
 * ngx_http_log_compile_format() does: literals and variables through
 * nginx's variable machinery (so every variable works), the same escape=
 * rules, "-" for a missing variable under the default escaping, and the
 * built-in "combined" format.  log_format's fast built-ins ($status,
 * $time_local, ...) are ordinary nginx variables here, with the same text.
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

#define NGX_HTTP_IPNG_STATS_ESCAPE_DEFAULT     0
#define NGX_HTTP_IPNG_STATS_ESCAPE_JSON        1
#define NGX_HTTP_IPNG_STATS_ESCAPE_NONE        2


/* a log_format as configured: its name and its arguments after the name */

typedef struct {
    ngx_str_t                   name;
    ngx_array_t                *args;         /* of ngx_str_t */
} ngx_http_ipng_stats_logtail_fmt_t;


/* one piece of a compiled format */

typedef struct {
    ngx_str_t                   text;         /* a literal, if index < 0 */
    ngx_int_t                   index;        /* a variable's index */
} ngx_http_ipng_stats_logtail_op_t;


typedef struct {
    ngx_array_t                 ops;          /* of ..._logtail_op_t */
    ngx_array_t                 flushes;      /* of ngx_uint_t, indexes */
    ngx_uint_t                  escape;
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


static char *ngx_http_ipng_stats_logtail_log_format(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void ngx_http_ipng_stats_logtail_unwrap(void *data);
static char *ngx_http_ipng_stats_logtail_compile(ngx_conf_t *cf,
    ngx_http_ipng_stats_logtail_conf_t *ltcf, ngx_str_t *name);
static char *ngx_http_ipng_stats_logtail_url(ngx_conf_t *cf,
    ngx_http_ipng_stats_logtail_conf_t *ltcf, ngx_str_t *url);
static ngx_int_t ngx_http_ipng_stats_logtail_handler(ngx_http_request_t *r);
static size_t ngx_http_ipng_stats_logtail_len(ngx_http_request_t *r,
    ngx_http_ipng_stats_logtail_conf_t *ltcf);
static u_char *ngx_http_ipng_stats_logtail_render(ngx_http_request_t *r,
    ngx_http_ipng_stats_logtail_conf_t *ltcf, u_char *p);
static uintptr_t ngx_http_ipng_stats_logtail_escape(u_char *dst, u_char *src,
    size_t size);
static void ngx_http_ipng_stats_logtail_flush_handler(ngx_event_t *ev);
static void ngx_http_ipng_stats_logtail_flush(
    ngx_http_ipng_stats_logtail_worker_t *w);
static void ngx_http_ipng_stats_logtail_send(
    ngx_http_ipng_stats_logtail_worker_t *w, u_char *buf, size_t len);


extern ngx_module_t  ngx_http_log_module;

/* ngx_http_log_module.c's ngx_http_combined_fmt */
static ngx_str_t  ngx_http_ipng_stats_logtail_combined =
    ngx_string("$remote_addr - $remote_user [$time_local] "
               "\"$request\" $status $body_bytes_sent "
               "\"$http_referer\" \"$http_user_agent\"");

/* while the http block is parsed: the wrapped command and what it saw */
static ngx_command_t  *ngx_http_ipng_stats_logtail_cmd;
static char *(*ngx_http_ipng_stats_logtail_set_format)(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_array_t    *ngx_http_ipng_stats_logtail_formats;

static ngx_http_ipng_stats_logtail_worker_t  ngx_http_ipng_stats_logtail_worker;


ngx_int_t
ngx_http_ipng_stats_logtail_wrap(ngx_conf_t *cf)
{
    ngx_command_t       *cmd;
    ngx_pool_cleanup_t  *cln;

    for (cmd = ngx_http_log_module.commands; cmd->name.len; cmd++) {
        if (cmd->name.len == sizeof("log_format") - 1
            && ngx_strncmp(cmd->name.data, "log_format",
                           sizeof("log_format") - 1) == 0)
        {
            break;
        }
    }

    if (cmd->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ipng_stats: no \"log_format\" directive in "
                           "ngx_http_log_module to follow");
        return NGX_ERROR;
    }

    ngx_http_ipng_stats_logtail_formats = ngx_array_create(cf->pool, 4,
                                     sizeof(ngx_http_ipng_stats_logtail_fmt_t));
    if (ngx_http_ipng_stats_logtail_formats == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->temp_pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_ipng_stats_logtail_unwrap;

    if (cmd->set != ngx_http_ipng_stats_logtail_log_format) {
        ngx_http_ipng_stats_logtail_set_format = cmd->set;
        ngx_http_ipng_stats_logtail_cmd = cmd;
        cmd->set = ngx_http_ipng_stats_logtail_log_format;
    }

    return NGX_OK;
}


static void
ngx_http_ipng_stats_logtail_unwrap(void *data)
{
    ngx_command_t  *cmd;

    cmd = ngx_http_ipng_stats_logtail_cmd;

    if (cmd && cmd->set == ngx_http_ipng_stats_logtail_log_format) {
        cmd->set = ngx_http_ipng_stats_logtail_set_format;
    }

    ngx_http_ipng_stats_logtail_formats = NULL;
}


static char *
ngx_http_ipng_stats_logtail_log_format(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char                               *rv;
    ngx_str_t                          *value, *arg;
    ngx_uint_t                          i;
    ngx_http_ipng_stats_logtail_fmt_t  *fmt;

    rv = ngx_http_ipng_stats_logtail_set_format(cf, cmd, conf);

    if (rv != NGX_CONF_OK || ngx_http_ipng_stats_logtail_formats == NULL) {
        return rv;
    }

    /* the words of cf->args live in cf->pool; the array itself is reused */

    fmt = ngx_array_push(ngx_http_ipng_stats_logtail_formats);
    if (fmt == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    fmt->name = value[1];
    fmt->args = ngx_array_create(cf->pool, cf->args->nelts - 2,
                                 sizeof(ngx_str_t));
    if (fmt->args == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        arg = ngx_array_push(fmt->args);
        if (arg == NULL) {
            return NGX_CONF_ERROR;
        }

        *arg = value[i];
    }

    return NGX_CONF_OK;
}


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
     *     ltcf->escape = NGX_HTTP_IPNG_STATS_ESCAPE_DEFAULT;
     *     ltcf->filter = NULL;
     */

    ltcf->buffer = NGX_HTTP_IPNG_STATS_LOGTAIL_BUFFER;
    ltcf->flush = NGX_HTTP_IPNG_STATS_LOGTAIL_FLUSH;

    value = cf->args->elts;

    if (ngx_http_ipng_stats_logtail_compile(cf, ltcf, &value[1])
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

            if (size == NGX_ERROR
                || size < NGX_HTTP_IPNG_STATS_LOGTAIL_MIN_BUFFER)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid buffer size \"%V\" in \"%V\", "
                                   "it must be a size of at least 1k",
                                   &s, &cmd->name);
                return NGX_CONF_ERROR;
            }

            ltcf->buffer = size;
            continue;
        }

        if (ngx_strncmp(value[i].data, "flush=", 6) == 0) {
            s.len = value[i].len - 6;
            s.data = value[i].data + 6;

            msec = ngx_parse_time(&s, 0);

            if (msec == NGX_ERROR
                || msec < NGX_HTTP_IPNG_STATS_LOGTAIL_MIN_FLUSH)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid flush time \"%V\" in \"%V\", "
                                   "it must be a time of at least 100ms",
                                   &s, &cmd->name);
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
ngx_http_ipng_stats_logtail_compile(ngx_conf_t *cf,
    ngx_http_ipng_stats_logtail_conf_t *ltcf, ngx_str_t *name)
{
    u_char                             *p, *last;
    ngx_str_t                          *value, var;
    ngx_uint_t                          n, s, nargs, bracket, *flush;
    ngx_http_ipng_stats_logtail_op_t   *op;
    ngx_http_ipng_stats_logtail_fmt_t  *fmt;

    value = NULL;
    nargs = 0;

    if (ngx_http_ipng_stats_logtail_formats) {
        fmt = ngx_http_ipng_stats_logtail_formats->elts;

        for (n = 0; n < ngx_http_ipng_stats_logtail_formats->nelts; n++) {
            if (fmt[n].name.len == name->len
                && ngx_strncmp(fmt[n].name.data, name->data, name->len) == 0)
            {
                value = fmt[n].args->elts;
                nargs = fmt[n].args->nelts;
                break;
            }
        }
    }

    if (value == NULL) {
        if (name->len != sizeof("combined") - 1
            || ngx_strncmp(name->data, "combined", name->len) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown log format \"%V\" in "
                               "\"ipng_stats_logtail\"; define it with "
                               "\"log_format %V ...\" earlier in the http "
                               "block", name, name);
            return NGX_CONF_ERROR;
        }

        value = &ngx_http_ipng_stats_logtail_combined;
        nargs = 1;
    }

    if (ngx_array_init(&ltcf->ops, cf->pool, 16,
                       sizeof(ngx_http_ipng_stats_logtail_op_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_array_init(&ltcf->flushes, cf->pool, 8, sizeof(ngx_uint_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    /*
     * as ngx_http_log_compile_format(); nginx's own handler has checked
     * the syntax already
     */

    s = 0;

    if (nargs && ngx_strncmp(value[0].data, "escape=", 7) == 0) {
        if (ngx_strcmp(value[0].data + 7, "json") == 0) {
            ltcf->escape = NGX_HTTP_IPNG_STATS_ESCAPE_JSON;

        } else if (ngx_strcmp(value[0].data + 7, "none") == 0) {
            ltcf->escape = NGX_HTTP_IPNG_STATS_ESCAPE_NONE;
        }

        s++;
    }

    for ( /* void */ ; s < nargs; s++) {
        p = value[s].data;
        last = p + value[s].len;

        while (p < last) {
            op = ngx_array_push(&ltcf->ops);
            if (op == NULL) {
                return NGX_CONF_ERROR;
            }

            if (*p != '$') {
                op->text.data = p;

                while (p < last && *p != '$') {
                    p++;
                }

                op->text.len = p - op->text.data;
                op->index = -1;
                continue;
            }

            p++;
            bracket = (p < last && *p == '{');
            p += bracket;

            for (var.data = p; p < last; p++) {
                if ((*p < 'A' || *p > 'Z') && (*p < 'a' || *p > 'z')
                    && (*p < '0' || *p > '9') && *p != '_')
                {
                    break;
                }
            }

            var.len = p - var.data;
            p += bracket;  /* "}" */

            if (var.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid variable in log format \"%V\"",
                                   name);
                return NGX_CONF_ERROR;
            }

            op->text.len = 0;
            op->index = ngx_http_get_variable_index(cf, &var);

            if (op->index == NGX_ERROR) {
                return NGX_CONF_ERROR;
            }

            flush = ngx_array_push(&ltcf->flushes);
            if (flush == NULL) {
                return NGX_CONF_ERROR;
            }

            *flush = op->index;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_ipng_stats_logtail_url(ngx_conf_t *cf,
    ngx_http_ipng_stats_logtail_conf_t *ltcf, ngx_str_t *url)
{
    u_char     *host, *colon, *last;
    in_addr_t   addr;
    ngx_int_t   port;

    host = url->data + sizeof("udp://") - 1;
    last = url->data + url->len;

    /* the last colon: "[::1]:514" is then refused as a non-IPv4 host */

    for (colon = last - 1; colon > host && *colon != ':'; colon--) {
        /* void */
    }

    if (url->len < sizeof("udp://") - 1
        || ngx_strncasecmp(url->data, (u_char *) "udp://", 6) != 0
        || colon <= host)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid destination \"%V\" in "
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

    ngx_http_script_flush_no_cacheable_variables(r, &ltcf->flushes);

    len = ngx_http_ipng_stats_logtail_len(r, ltcf) + 1;   /* "\n" */

    if (len > (size_t) (w->end - w->pos)) {
        ngx_http_ipng_stats_logtail_flush(w);
    }

    if (len <= (size_t) (w->end - w->pos)) {

        if (w->pos == w->start) {
            ngx_add_timer(&w->event, ltcf->flush);
        }

        p = ngx_http_ipng_stats_logtail_render(r, ltcf, w->pos);
        *p++ = '\n';

        w->pos = p;

        return NGX_OK;
    }

    /*
     * longer than the buffer: a datagram of its own, cut to the largest
     * UDP payload if need be
     */

    line = ngx_pnalloc(r->pool, len);
    if (line == NULL) {
        return NGX_ERROR;
    }

    p = ngx_http_ipng_stats_logtail_render(r, ltcf, line);

    if (p - line >= NGX_HTTP_IPNG_STATS_LOGTAIL_MAX_DGRAM) {
        p = line + NGX_HTTP_IPNG_STATS_LOGTAIL_MAX_DGRAM - 1;
    }

    *p++ = '\n';

    ngx_http_ipng_stats_logtail_send(w, line, p - line);

    return NGX_OK;
}


/* the exact length of the line, as the log module's getlen() functions */

static size_t
ngx_http_ipng_stats_logtail_len(ngx_http_request_t *r,
    ngx_http_ipng_stats_logtail_conf_t *ltcf)
{
    size_t                             len;
    uintptr_t                          n;
    ngx_uint_t                         i;
    ngx_http_variable_value_t         *v;
    ngx_http_ipng_stats_logtail_op_t  *op;

    len = 0;
    op = ltcf->ops.elts;

    for (i = 0; i < ltcf->ops.nelts; i++) {

        if (op[i].index < 0) {
            len += op[i].text.len;
            continue;
        }

        v = ngx_http_get_indexed_variable(r, op[i].index);

        if (v == NULL || v->not_found) {
            if (ltcf->escape == NGX_HTTP_IPNG_STATS_ESCAPE_DEFAULT) {
                len++;  /* "-" */
            }

            continue;
        }

        switch (ltcf->escape) {

        case NGX_HTTP_IPNG_STATS_ESCAPE_JSON:
            n = ngx_escape_json(NULL, v->data, v->len);
            break;

        case NGX_HTTP_IPNG_STATS_ESCAPE_NONE:
            n = 0;
            break;

        default: /* NGX_HTTP_IPNG_STATS_ESCAPE_DEFAULT: "\xHH" */
            n = 3 * ngx_http_ipng_stats_logtail_escape(NULL, v->data, v->len);
        }

        v->escape = n ? 1 : 0;
        len += v->len + n;
    }

    return len;
}


static u_char *
ngx_http_ipng_stats_logtail_render(ngx_http_request_t *r,
    ngx_http_ipng_stats_logtail_conf_t *ltcf, u_char *p)
{
    ngx_uint_t                         i;
    ngx_http_variable_value_t         *v;
    ngx_http_ipng_stats_logtail_op_t  *op;

    op = ltcf->ops.elts;

    for (i = 0; i < ltcf->ops.nelts; i++) {

        if (op[i].index < 0) {
            p = ngx_cpymem(p, op[i].text.data, op[i].text.len);
            continue;
        }

        v = ngx_http_get_indexed_variable(r, op[i].index);

        if (v == NULL || v->not_found) {
            if (ltcf->escape == NGX_HTTP_IPNG_STATS_ESCAPE_DEFAULT) {
                *p++ = '-';
            }

            continue;
        }

        if (!v->escape) {
            p = ngx_cpymem(p, v->data, v->len);

        } else if (ltcf->escape == NGX_HTTP_IPNG_STATS_ESCAPE_JSON) {
            p = (u_char *) ngx_escape_json(p, v->data, v->len);

        } else {
            p = (u_char *) ngx_http_ipng_stats_logtail_escape(p, v->data,
                                                             v->len);
        }
    }

    return p;
}


/*
 * ngx_http_log_module.c's ngx_http_log_escape(): '"', '\\', control
 * characters and bytes from 0x7f on become "\xHH"
 */

#define ngx_http_ipng_stats_logtail_escaped(ch)                              \
    ((ch) < 0x20 || (ch) >= 0x7f || (ch) == '"' || (ch) == '\\')

static uintptr_t
ngx_http_ipng_stats_logtail_escape(u_char *dst, u_char *src, size_t size)
{
    ngx_uint_t      n;
    static u_char   hex[] = "0123456789ABCDEF";

    if (dst == NULL) {
        for (n = 0; size; size--, src++) {
            n += ngx_http_ipng_stats_logtail_escaped(*src);
        }

        return (uintptr_t) n;
    }

    for ( /* void */ ; size; size--, src++) {
        if (ngx_http_ipng_stats_logtail_escaped(*src)) {
            *dst++ = '\\';
            *dst++ = 'x';
            *dst++ = hex[*src >> 4];
            *dst++ = hex[*src & 0xf];

        } else {
            *dst++ = *src;
        }
    }

    return (uintptr_t) dst;
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
