
/*
 * Copyright (C) IPng Networks GmbH
 *
 * Per-interface attribution: the listen parameters device= and
 * ipng_source_tag=, the source tag of each request and $ipng_source_tag.
 *
 * The parameters are taken out of "listen" by a wrapper around the core
 * module's own listen handler, which parses everything else.  The wrapper
 * is installed in preconfiguration, before the http block is parsed, and
 * removed again when parsing ends (postconfiguration, and a cleanup of the
 * configuration's temporary pool for a parse that fails), so that nginx's
 * command table never points into this library after a reload that no
 * longer loads it.
 *
 * Two attribution modes ("ipng_stats_attribution"):
 *
 *   bind     every device gets a listening socket of its own with
 *            SO_BINDTODEVICE (sockets are made in _sockets.c); the tag is a
 *            property of the socket a connection was accepted on;
 *   pktinfo  sockets stay plain wildcards, so replies follow the routing
 *            table; each accepted connection's ingress interface is read
 *            with IP_PKTOPTIONS / IPV6_2292PKTOPTIONS and mapped to a tag.
 */


#include "ngx_http_ipng_stats_module.h"

#include <net/if.h>


#define NGX_HTTP_IPNG_STATS_DEVICE   "device="
#define NGX_HTTP_IPNG_STATS_TAG      "ipng_source_tag="


typedef struct {
    ngx_uint_t                  number;       /* c->number + 1; 0 = empty */
    ngx_uint_t                  source;
    ngx_uint_t                  miss;         /* not yet reported */
} ngx_http_ipng_stats_conn_cache_t;


typedef struct {
    unsigned                    ifindex;
    in_port_t                   port;
    ngx_uint_t                  source;
} ngx_http_ipng_stats_ifmap_t;


typedef struct {
    ngx_uint_t                  source;       /* the socket's own tag */
    ngx_uint_t                  probe;        /* ask the kernel per conn */
    ngx_uint_t                  by_addr;      /* serves tagged addresses */
} ngx_http_ipng_stats_socket_t;


static char *ngx_http_ipng_stats_listen(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_ipng_stats_unwrap(void *data);
static ngx_int_t ngx_http_ipng_stats_tag_id(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_str_t *tag);
static ngx_uint_t ngx_http_ipng_stats_probed(ngx_listening_t *ls,
    ngx_http_ipng_stats_main_conf_t *smcf, char *dev);
static ngx_uint_t ngx_http_ipng_stats_pktinfo_source(ngx_connection_t *c,
    ngx_http_ipng_stats_socket_t *sock, ngx_uint_t *miss);
static ngx_uint_t ngx_http_ipng_stats_served(ngx_cycle_t *cycle,
    ngx_listening_t *ls, ngx_http_ipng_stats_main_conf_t *smcf,
    ngx_uint_t source);
static ngx_uint_t ngx_http_ipng_stats_addr_source(ngx_connection_t *c,
    ngx_http_ipng_stats_socket_t *sock);
static void ngx_http_ipng_stats_rescan(ngx_event_t *ev);
static ngx_int_t ngx_http_ipng_stats_source_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


typedef char *(*ngx_http_ipng_stats_set_pt)(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


static ngx_http_ipng_stats_set_pt   ngx_http_ipng_stats_core_listen;
static ngx_command_t               *ngx_http_ipng_stats_listen_cmd;

/* per worker */
static ngx_http_ipng_stats_socket_t  *ngx_http_ipng_stats_sockets;
static ngx_http_ipng_stats_binding_t *ngx_http_ipng_stats_bindings;
static ngx_uint_t                   ngx_http_ipng_stats_nbindings;
static ngx_uint_t                   ngx_http_ipng_stats_count_misses;
static ngx_uint_t                   ngx_http_ipng_stats_nls;
static ngx_http_ipng_stats_conn_cache_t  *ngx_http_ipng_stats_conns;
static ngx_uint_t                   ngx_http_ipng_stats_nconns;
static ngx_http_ipng_stats_ifmap_t *ngx_http_ipng_stats_ifmap;
static ngx_event_t                  ngx_http_ipng_stats_rescan_event;


static ngx_str_t  ngx_http_ipng_stats_source_name =
    ngx_string("ipng_source_tag");


/* configuration: the wrapper */

ngx_int_t
ngx_http_ipng_stats_listen_wrap(ngx_conf_t *cf)
{
    ngx_command_t       *cmd;
    ngx_pool_cleanup_t  *cln;
    ngx_http_variable_t *var;

    var = ngx_http_add_variable(cf, &ngx_http_ipng_stats_source_name,
                                NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_ipng_stats_source_variable;

    for (cmd = ngx_http_core_module.commands; cmd->name.len; cmd++) {
        if (cmd->name.len == sizeof("listen") - 1
            && ngx_strncmp(cmd->name.data, "listen", sizeof("listen") - 1)
               == 0)
        {
            break;
        }
    }

    if (cmd->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ipng_stats: no \"listen\" directive in "
                           "ngx_http_core_module to extend");
        return NGX_ERROR;
    }

    if (cmd->set != ngx_http_ipng_stats_listen) {
        ngx_http_ipng_stats_core_listen = cmd->set;
        ngx_http_ipng_stats_listen_cmd = cmd;
        cmd->set = ngx_http_ipng_stats_listen;
    }

    cln = ngx_pool_cleanup_add(cf->temp_pool, 0);
    if (cln == NULL) {
        ngx_http_ipng_stats_unwrap(NULL);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_ipng_stats_unwrap;

    return NGX_OK;
}


static void
ngx_http_ipng_stats_unwrap(void *data)
{
    if (ngx_http_ipng_stats_listen_cmd
        && ngx_http_ipng_stats_listen_cmd->set == ngx_http_ipng_stats_listen)
    {
        ngx_http_ipng_stats_listen_cmd->set = ngx_http_ipng_stats_core_listen;
    }
}


void
ngx_http_ipng_stats_listen_unwrap(void)
{
    ngx_http_ipng_stats_unwrap(NULL);
}


static char *
ngx_http_ipng_stats_listen(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                             *rv;
    u_char                            text[NGX_HTTP_IPNG_STATS_TAG_TEXT];
    ngx_str_t                        *value, device, tag;
    const char                       *why;
    ngx_url_t                         u;
    ngx_uint_t                        i, j, seen;
    ngx_http_ipng_stats_binding_t    *b;
    ngx_http_ipng_stats_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ipng_stats_module);

    value = cf->args->elts;

    ngx_str_null(&device);
    ngx_str_null(&tag);

    for (i = 1, j = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, NGX_HTTP_IPNG_STATS_DEVICE,
                        sizeof(NGX_HTTP_IPNG_STATS_DEVICE) - 1)
            == 0)
        {
            if (device.data) {
                return "has a duplicate \"device=\" parameter";
            }

            device.data = value[i].data + sizeof(NGX_HTTP_IPNG_STATS_DEVICE)
                          - 1;
            device.len = value[i].len - (sizeof(NGX_HTTP_IPNG_STATS_DEVICE)
                                         - 1);

            if (device.len == 0) {
                return "has an empty \"device=\" parameter";
            }

            if (device.len >= IFNAMSIZ) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "interface name \"%V\" in \"device=\" is "
                                   "longer than %d characters",
                                   &device, IFNAMSIZ - 1);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, NGX_HTTP_IPNG_STATS_TAG,
                        sizeof(NGX_HTTP_IPNG_STATS_TAG) - 1)
            == 0)
        {
            if (tag.data) {
                return "has a duplicate \"ipng_source_tag=\" parameter";
            }

            tag.data = value[i].data + sizeof(NGX_HTTP_IPNG_STATS_TAG) - 1;
            tag.len = value[i].len - (sizeof(NGX_HTTP_IPNG_STATS_TAG) - 1);

            if (tag.len == 0) {
                return "has an empty \"ipng_source_tag=\" parameter";
            }

            why = ngx_http_ipng_stats_tag_invalid(&tag);

            if (why) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "source tag \"%s\" in \"ipng_source_tag=\" "
                                   "%s", ngx_http_ipng_stats_tag_text(&tag,
                                                                     text),
                                   why);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        value[j++] = value[i];
    }

    cf->args->nelts = j;

    if (device.data
        && ngx_strncmp(value[1].data, "unix:", sizeof("unix:") - 1) == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"device=%V\" cannot be used with the unix "
                           "socket \"%V\"", &device, &value[1]);
        return NGX_CONF_ERROR;
    }

    /* the address(es) of this listen */

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];
    u.listen = 1;
    u.default_port = 80;

    if (ngx_parse_url(cf->temp_pool, &u) != NGX_OK) {
        /* nginx's own handler says what is wrong with it */
        return ngx_http_ipng_stats_core_listen(cf, cmd, conf);
    }

    /*
     * one server may listen on an address once per device; nginx itself
     * sees the address once (its other parameters come from the first)
     */

    b = smcf->bindings.elts;
    seen = 0;

    for (i = 0; i < smcf->bindings.nelts && u.naddrs == 1; i++) {
        if (b[i].server == conf
            && ngx_cmp_sockaddr(&b[i].sockaddr.sockaddr, b[i].socklen,
                                u.addrs[0].sockaddr, u.addrs[0].socklen, 1)
               == NGX_OK)
        {
            if (ngx_http_ipng_stats_str_eq(&b[i].device, &device)) {
                return "is duplicate for this device";
            }

            seen = 1;
        }
    }

    if (!seen) {
        rv = ngx_http_ipng_stats_core_listen(cf, cmd, conf);

        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    if (device.data || tag.data) {
        smcf->used = 1;
    }

    for (i = 0; i < u.naddrs; i++) {
        b = ngx_array_push(&smcf->bindings);
        if (b == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(&b->sockaddr, u.addrs[i].sockaddr, u.addrs[i].socklen);
        b->socklen = u.addrs[i].socklen;
        b->device = device;
        b->tag = tag;
        b->source = 0;
        b->server = conf;
        b->file = cf->conf_file->file.name.data;
        b->line = cf->conf_file->line;
    }

    return NGX_CONF_OK;
}


/*
 * After the http block: the tag of every binding (ipng_source_tag=, else
 * the device name, else the default source), and the conflicts: explicit
 * tags given to the same address and device must agree.
 */

char *
ngx_http_ipng_stats_listen_init(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    u_char                          text[NGX_HTTP_IPNG_STATS_TAG_TEXT];
    ngx_int_t                       id;
    ngx_str_t                      *tag;
    ngx_uint_t                      i, k;
    const char                     *why;
    ngx_http_ipng_stats_binding_t  *b;

    b = smcf->bindings.elts;

    for (i = 0; i < smcf->bindings.nelts; i++) {

        if (b[i].device.len && smcf->attribution == NGX_HTTP_IPNG_STATS_BIND
            && ngx_process != NGX_PROCESS_SIGNALLER
            && if_nametoindex((char *) b[i].device.data) == 0)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "device \"%V\" of \"listen\" in %s:%ui does not "
                          "exist (with \"ipng_stats_attribution pktinfo\" "
                          "it may appear later)", &b[i].device, b[i].file,
                          b[i].line);
            return NGX_CONF_ERROR;
        }

        for (k = 0; k < i; k++) {
            if (!ngx_http_ipng_stats_str_eq(&b[k].device, &b[i].device)
                || ngx_cmp_sockaddr(&b[k].sockaddr.sockaddr, b[k].socklen,
                                    &b[i].sockaddr.sockaddr, b[i].socklen, 1)
                   != NGX_OK)
            {
                continue;
            }

            if (b[k].tag.len && b[i].tag.len
                && !ngx_http_ipng_stats_str_eq(&b[k].tag, &b[i].tag))
            {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "\"listen\" in %s:%ui tags device \"%V\" "
                              "\"%V\", but %s:%ui tags the same address and "
                              "device \"%V\"", b[i].file, b[i].line,
                              &b[i].device, &b[i].tag, b[k].file, b[k].line,
                              &b[k].tag);
                return NGX_CONF_ERROR;
            }

            /* an explicit tag wins over an implied one */

            if (b[i].tag.len == 0) {
                b[i].tag = b[k].tag;
            }

            if (b[k].tag.len == 0) {
                b[k].tag = b[i].tag;
            }
        }
    }

    for (i = 0; i < smcf->bindings.nelts; i++) {
        tag = b[i].tag.len ? &b[i].tag
                           : b[i].device.len ? &b[i].device
                                             : &smcf->default_source;

        /* a device name is a tag too: interface names may be any bytes */

        why = (tag == &b[i].device) ? ngx_http_ipng_stats_tag_invalid(tag)
                                    : NULL;

        if (why) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "the device name \"%s\" of \"listen\" in %s:%ui "
                          "%s, so it cannot be the source tag; give the "
                          "listen an \"ipng_source_tag=\"",
                          ngx_http_ipng_stats_tag_text(tag, text), why,
                          b[i].file, b[i].line);
            return NGX_CONF_ERROR;
        }

        id = ngx_http_ipng_stats_tag_id(cf, smcf, tag);
        if (id == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        b[i].source = id;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_ipng_stats_tag_id(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_str_t *tag)
{
    u_char      *p;
    ngx_str_t   *t;
    ngx_uint_t   i;

    t = smcf->tags.elts;

    for (i = 0; i < smcf->tags.nelts; i++) {
        if (ngx_http_ipng_stats_str_eq(&t[i], tag)) {
            return i;
        }
    }

    if (smcf->tags.nelts == NGX_HTTP_IPNG_STATS_MAX_TAGS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "more than %d source tags", 
                           NGX_HTTP_IPNG_STATS_MAX_TAGS);
        return NGX_ERROR;
    }

    /* a copy that lives as long as the configuration */

    p = ngx_pnalloc(cf->pool, tag->len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, tag->data, tag->len);
    p[tag->len] = '\0';

    t = ngx_array_push(&smcf->tags);
    if (t == NULL) {
        return NGX_ERROR;
    }

    t->data = p;
    t->len = tag->len;

    return smcf->tags.nelts - 1;
}


/* pktinfo: in the master, on every listening socket */

void
ngx_http_ipng_stats_listen_init_module(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    int               one;
    ngx_uint_t        i;
    ngx_listening_t  *ls;

    char              dev[IFNAMSIZ + 1];

    one = 1;
    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].fd == (ngx_socket_t) -1 || ls[i].type != SOCK_STREAM
            || !ngx_http_ipng_stats_probed(&ls[i], smcf, dev))
        {
            continue;
        }

        if (ls[i].sockaddr->sa_family == AF_INET) {
            if (setsockopt(ls[i].fd, IPPROTO_IP, IP_PKTINFO,
                           (const void *) &one, sizeof(int)) == -1)
            {
                ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                              "setsockopt(IP_PKTINFO) %V failed",
                              &ls[i].addr_text);
            }

#if (NGX_HAVE_INET6)
        } else if (ls[i].sockaddr->sa_family == AF_INET6) {
            if (setsockopt(ls[i].fd, IPPROTO_IPV6, IPV6_RECVPKTINFO,
                           (const void *) &one, sizeof(int)) == -1)
            {
                ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                              "setsockopt(IPV6_RECVPKTINFO) %V failed",
                              &ls[i].addr_text);
            }

            /* v4-mapped connections on a dual-stack socket */
            (void) setsockopt(ls[i].fd, IPPROTO_IP, IP_PKTINFO,
                              (const void *) &one, sizeof(int));
#endif
        }
    }
}


/* in the worker */

ngx_int_t
ngx_http_ipng_stats_listen_init_process(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    char                            dev[IFNAMSIZ + 1];
    ngx_uint_t                      i, k, probes;
    ngx_listening_t                *ls;
    ngx_http_ipng_stats_binding_t  *b;

    ls = cycle->listening.elts;
    b = smcf->bindings.elts;

    ngx_http_ipng_stats_nls = cycle->listening.nelts;
    ngx_http_ipng_stats_sockets = ngx_pcalloc(cycle->pool,
                                     ngx_http_ipng_stats_nls
                                     * sizeof(ngx_http_ipng_stats_socket_t));
    if (ngx_http_ipng_stats_sockets == NULL) {
        return NGX_ERROR;
    }

    ngx_http_ipng_stats_count_misses =
                          (smcf->attribution != NGX_HTTP_IPNG_STATS_BIND);
    probes = 0;

    /* the source of each listening socket: its device, else its address */

    for (i = 0; i < cycle->listening.nelts; i++) {

        ngx_http_ipng_stats_sockets[i].probe =
                                ngx_http_ipng_stats_probed(&ls[i], smcf, dev);
        probes += ngx_http_ipng_stats_sockets[i].probe;

        if (smcf->attribution != NGX_HTTP_IPNG_STATS_BIND) {
            dev[0] = '\0';
        }

        for (k = 0; k < smcf->bindings.nelts; k++) {
            if (ngx_cmp_sockaddr(ls[i].sockaddr, ls[i].socklen,
                                 &b[k].sockaddr.sockaddr, b[k].socklen, 1)
                != NGX_OK)
            {
                continue;
            }

            if (dev[0] == '\0' && b[k].device.len == 0) {
                ngx_http_ipng_stats_sockets[i].source = b[k].source;
                break;
            }

            if (dev[0] && b[k].device.len == ngx_strlen(dev)
                && ngx_strncmp(b[k].device.data, dev, b[k].device.len) == 0)
            {
                ngx_http_ipng_stats_sockets[i].source = b[k].source;
                break;
            }
        }

        ngx_http_ipng_stats_sockets[i].by_addr =
            ngx_http_ipng_stats_served(cycle, &ls[i], smcf,
                                       ngx_http_ipng_stats_sockets[i].source);
    }

    ngx_http_ipng_stats_bindings = b;
    ngx_http_ipng_stats_nbindings = smcf->bindings.nelts;

    if (probes == 0) {
        return NGX_OK;
    }

    /* probed sockets: a connection cache and the interface index map */

    ngx_http_ipng_stats_nconns = cycle->connection_n;
    ngx_http_ipng_stats_conns = ngx_pcalloc(cycle->pool,
                                   ngx_http_ipng_stats_nconns
                                   * sizeof(ngx_http_ipng_stats_conn_cache_t));
    ngx_http_ipng_stats_ifmap = ngx_pcalloc(cycle->pool,
                                   (smcf->bindings.nelts + 1)
                                   * sizeof(ngx_http_ipng_stats_ifmap_t));

    if (ngx_http_ipng_stats_conns == NULL
        || ngx_http_ipng_stats_ifmap == NULL)
    {
        return NGX_ERROR;
    }

    ngx_http_ipng_stats_rescan_event.handler = ngx_http_ipng_stats_rescan;
    ngx_http_ipng_stats_rescan_event.log = cycle->log;
    ngx_http_ipng_stats_rescan_event.data = smcf;
    ngx_http_ipng_stats_rescan_event.cancelable = 1;

    ngx_http_ipng_stats_rescan(&ngx_http_ipng_stats_rescan_event);

    return NGX_OK;
}


/* (re)resolve interface names: a re-created interface gets a new index */

static void
ngx_http_ipng_stats_rescan(ngx_event_t *ev)
{
    ngx_uint_t                        i, n;
    ngx_http_ipng_stats_binding_t    *b;
    ngx_http_ipng_stats_main_conf_t  *smcf;

    smcf = ev->data;
    b = smcf->bindings.elts;
    n = 0;

    for (i = 0; i < smcf->bindings.nelts; i++) {
        if (b[i].device.len == 0) {
            continue;
        }

        ngx_http_ipng_stats_ifmap[n].ifindex =
                                  if_nametoindex((char *) b[i].device.data);
        ngx_http_ipng_stats_ifmap[n].port =
                                  ngx_inet_get_port(&b[i].sockaddr.sockaddr);
        ngx_http_ipng_stats_ifmap[n].source = b[i].source;

        if (ngx_http_ipng_stats_ifmap[n].ifindex) {
            n++;
        }
    }

    ngx_http_ipng_stats_ifmap[n].ifindex = 0;

    /* cached connections keep their tag; new ones see the new map */

    if (smcf->rescan_interval && !ngx_exiting) {
        ngx_add_timer(ev, smcf->rescan_interval);
    }
}


/*
 * The source of a request.  "miss" (if not NULL) is set for the first
 * request of a connection whose ingress interface matched no device in
 * pktinfo mode.
 */

ngx_uint_t
ngx_http_ipng_stats_source(ngx_http_request_t *r, ngx_uint_t *miss)
{
    ngx_uint_t                     i;
    ngx_connection_t              *c;
    ngx_http_ipng_stats_socket_t  *sock;

    c = r->connection;

    if (miss) {
        *miss = 0;
    }

    if (ngx_http_ipng_stats_sockets == NULL || c->listening == NULL) {
        return 0;
    }

    i = c->listening - (ngx_listening_t *) ngx_cycle->listening.elts;

    if (i >= ngx_http_ipng_stats_nls) {
        return 0;
    }

    sock = &ngx_http_ipng_stats_sockets[i];

    if (sock->probe) {
        return ngx_http_ipng_stats_pktinfo_source(c, sock, miss);
    }

    if (sock->by_addr) {
        return ngx_http_ipng_stats_addr_source(c, sock);
    }

    return sock->source;
}


/*
 * Does the wildcard socket "ls" serve addresses of its port that a listen
 * without a device tags otherwise than "source"?  nginx makes no socket
 * for "listen ADDR:PORT" (without "bind") beside "listen PORT": the
 * wildcard accepts its connections, and nginx finds the server by the
 * connection's local address.  So does the tag, then.
 */

static ngx_uint_t
ngx_http_ipng_stats_served(ngx_cycle_t *cycle, ngx_listening_t *ls,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_uint_t source)
{
    ngx_uint_t                      k, n;
    ngx_listening_t                *all;
    ngx_http_ipng_stats_binding_t  *b;

    if (!ngx_inet_wildcard(ls->sockaddr)) {
        return 0;
    }

    b = smcf->bindings.elts;
    all = cycle->listening.elts;

    for (k = 0; k < smcf->bindings.nelts; k++) {
        if (b[k].device.len || b[k].source == source
            || b[k].sockaddr.sockaddr.sa_family != ls->sockaddr->sa_family
            || ngx_inet_get_port(&b[k].sockaddr.sockaddr)
               != ngx_inet_get_port(ls->sockaddr))
        {
            continue;
        }

        for (n = 0; n < cycle->listening.nelts; n++) {
            if (ngx_cmp_sockaddr(all[n].sockaddr, all[n].socklen,
                                 &b[k].sockaddr.sockaddr, b[k].socklen, 1)
                == NGX_OK)
            {
                break;
            }
        }

        if (n == cycle->listening.nelts) {
            return 1;
        }
    }

    return 0;
}


/* the tag of the listen for the connection's local address, as nginx's */

static ngx_uint_t
ngx_http_ipng_stats_addr_source(ngx_connection_t *c,
    ngx_http_ipng_stats_socket_t *sock)
{
    ngx_uint_t                      k;
    ngx_http_ipng_stats_binding_t  *b;

    /* nginx has asked already, to find the server: cached in c */

    if (ngx_connection_local_sockaddr(c, NULL, 0) != NGX_OK) {
        return sock->source;
    }

    b = ngx_http_ipng_stats_bindings;

    for (k = 0; k < ngx_http_ipng_stats_nbindings; k++) {
        if (b[k].device.len == 0
            && ngx_cmp_sockaddr(c->local_sockaddr, c->local_socklen,
                                &b[k].sockaddr.sockaddr, b[k].socklen, 1)
               == NGX_OK)
        {
            return b[k].source;
        }
    }

    return sock->source;
}


/* the device socket "s" is bound to, or "" (dev has IFNAMSIZ + 1 bytes) */

void
ngx_http_ipng_stats_socket_device(ngx_socket_t s, char *dev)
{
    socklen_t  len;

    ngx_memzero(dev, IFNAMSIZ + 1);
    len = IFNAMSIZ;

    if (getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) == -1) {
        dev[0] = '\0';
    }
}


/*
 * Is "ls" a socket whose connections' ingress interface must be asked:
 * every socket in pktinfo mode; in bind mode a plain socket that shares
 * its address with device sockets (the kernel may hand it connections of
 * those devices too: it prefers device sockets, but not strictly).
 * "dev" gets the socket's device, or "".
 */

static ngx_uint_t
ngx_http_ipng_stats_probed(ngx_listening_t *ls,
    ngx_http_ipng_stats_main_conf_t *smcf, char *dev)
{
    ngx_uint_t                      k;
    ngx_http_ipng_stats_binding_t  *b;

    ngx_http_ipng_stats_socket_device(ls->fd, dev);

    if (smcf->attribution != NGX_HTTP_IPNG_STATS_BIND) {
        return 1;
    }

    if (dev[0]) {
        return 0;
    }

    b = smcf->bindings.elts;

    for (k = 0; k < smcf->bindings.nelts; k++) {
        if (b[k].device.len
            && ngx_cmp_sockaddr(ls->sockaddr, ls->socklen,
                                &b[k].sockaddr.sockaddr, b[k].socklen, 1)
               == NGX_OK)
        {
            return 1;
        }
    }

    return 0;
}


static ngx_uint_t
ngx_http_ipng_stats_pktinfo_source(ngx_connection_t *c,
    ngx_http_ipng_stats_socket_t *sock, ngx_uint_t *miss)
{
    int                                 level, opt;
    u_char                              buf[256];
    unsigned                            ifindex;
    in_port_t                           port;
    socklen_t                           len;
    ngx_uint_t                          i, source, found;
    struct msghdr                       msg;
    struct cmsghdr                     *cmsg;
    ngx_http_ipng_stats_conn_cache_t   *cc;

    cc = &ngx_http_ipng_stats_conns[c->fd % ngx_http_ipng_stats_nconns];

    if (cc->number == c->number + 1) {
        goto found;
    }

    /* once per connection: the ingress interface of its SYN */

    ifindex = 0;

    if (c->sockaddr->sa_family == AF_INET6) {
        level = IPPROTO_IPV6;
        opt = IPV6_2292PKTOPTIONS;

    } else {
        level = IPPROTO_IP;
        opt = IP_PKTOPTIONS;
    }

    len = sizeof(buf);

    if (getsockopt(c->fd, level, opt, buf, &len) == 0 && len > 0) {
        ngx_memzero(&msg, sizeof(struct msghdr));
        msg.msg_control = buf;
        msg.msg_controllen = len;

        for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg))
        {
            if (cmsg->cmsg_level == IPPROTO_IP
                && cmsg->cmsg_type == IP_PKTINFO)
            {
                ifindex = ((struct in_pktinfo *) CMSG_DATA(cmsg))->ipi_ifindex;
                break;
            }

#if (NGX_HAVE_INET6)
            if (cmsg->cmsg_level == IPPROTO_IPV6
                && (cmsg->cmsg_type == IPV6_PKTINFO
                    || cmsg->cmsg_type == IPV6_2292PKTINFO))
            {
                ifindex = ((struct in6_pktinfo *) CMSG_DATA(cmsg))
                          ->ipi6_ifindex;
                break;
            }
#endif
        }
    }

    /* no device matched: the socket's own tag, or its address's */

    source = sock->by_addr ? ngx_http_ipng_stats_addr_source(c, sock)
                           : sock->source;
    cc->miss = ngx_http_ipng_stats_count_misses;

    /* the device's tag on this port, else on any port */

    port = ngx_inet_get_port(c->listening->sockaddr);
    found = 0;

    for (i = 0; ngx_http_ipng_stats_ifmap[i].ifindex; i++) {
        if (ngx_http_ipng_stats_ifmap[i].ifindex != ifindex
            || (found && ngx_http_ipng_stats_ifmap[i].port != port))
        {
            continue;
        }

        source = ngx_http_ipng_stats_ifmap[i].source;
        cc->miss = 0;

        if (ngx_http_ipng_stats_ifmap[i].port == port) {
            break;
        }

        found = 1;
    }

    cc->number = c->number + 1;
    cc->source = source;

found:

    /* a miss is reported once per connection, to the log phase only */

    if (miss && cc->miss) {
        *miss = 1;
        cc->miss = 0;
    }

    return cc->source;
}


static ngx_int_t
ngx_http_ipng_stats_source_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                        *tags;
    ngx_uint_t                        id;
    ngx_http_ipng_stats_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_ipng_stats_module);

    if (smcf == NULL || smcf->tags.nelts == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    id = ngx_http_ipng_stats_source(r, NULL);
    tags = smcf->tags.elts;

    if (id >= smcf->tags.nelts) {
        id = 0;
    }

    v->len = tags[id].len;
    v->data = tags[id].data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
