
/*
 * Copyright (C) IPng Networks GmbH
 *
 * Listening sockets per device, for "ipng_stats_attribution bind" (the
 * default).  nginx makes one listening socket per address; a port that
 * several devices share needs one socket per device, each bound to its
 * device with SO_BINDTODEVICE before bind() (two sockets on one port only
 * coexist when their devices differ, or when both have SO_REUSEPORT, which
 * a plain socket beside device sockets needs).  The kernel prefers a socket
 * bound to the ingress device over an unbound one, so a plain "listen 80"
 * takes the traffic of every other interface.
 *
 * This is a core module of the same library.  Its init_conf runs after the
 * http block has made nginx's listening sockets and before nginx opens
 * them: it clones the listening entry per device, and binds the clones
 * that get no socket from the old cycle, without listen().  nginx then
 * hands the old cycle's sockets on by address, in order, opens its own,
 * and calls listen() for the clones with the rest (ls->listen).  Only after
 * that, when the new cycle is committed, does init_module move an inherited
 * socket to the device its new entry stands for, or off a device.  So a
 * reload that fails leaves every running socket as it was (an old socket
 * that needed SO_REUSEPORT to let the group's new sockets bind beside it
 * gets it back off), a signal process ("nginx -s ...") touches no socket,
 * and a second nginx started by mistake on the same configuration fails on
 * bind() as stock nginx does, instead of joining the running sockets.
 * All of this runs in the master, with its privileges; workers never need
 * any.
 *
 * If a later configuration no longer loads the module, the device bindings
 * of the sockets it inherits are removed when the old cycle goes, so plain
 * listeners do not stay pinned to one interface.
 */


#include "ngx_http_ipng_stats_module.h"

#include <net/if.h>


#define NGX_IPNG_STATS_MAX_GROUP  64


/* the device a listening entry of this cycle stands for */

typedef struct {
    ngx_uint_t                  index;        /* in cycle->listening */
    ngx_str_t                   device;
} ngx_ipng_stats_sockets_want_t;


/* a socket bound for a cycle: closed again if the cycle fails */

typedef struct {
    ngx_socket_t                fd;
    ino_t                       ino;          /* still ours if it matches */
} ngx_ipng_stats_sockets_bound_t;


/*
 * Per cycle: what init_module applies once the cycle is committed, and
 * what a cycle that fails must undo.
 */

typedef struct {
    ngx_array_t                 want;    /* of ngx_ipng_stats_sockets_want_t */
    ngx_array_t                 reuseport;    /* of ngx_socket_t, old ones */
    ngx_array_t                 bound;  /* of ngx_ipng_stats_sockets_bound_t */
} ngx_ipng_stats_sockets_conf_t;


typedef struct {
    ngx_cycle_t                    *cycle;
    ngx_ipng_stats_sockets_conf_t  *conf;
} ngx_ipng_stats_sockets_cln_t;


static void *ngx_ipng_stats_sockets_create_conf(ngx_cycle_t *cycle);
static char *ngx_ipng_stats_sockets_init_conf(ngx_cycle_t *cycle,
    void *conf);
static ngx_int_t ngx_ipng_stats_sockets_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_ipng_stats_sockets_group(ngx_cycle_t *cycle,
    ngx_ipng_stats_sockets_conf_t *sconf,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_http_ipng_stats_binding_t *b);
static ngx_uint_t ngx_ipng_stats_sockets_members(
    ngx_http_ipng_stats_main_conf_t *smcf,
    ngx_http_ipng_stats_binding_t *first, ngx_str_t *members);
static ngx_int_t ngx_ipng_stats_sockets_inherit(ngx_cycle_t *cycle,
    ngx_ipng_stats_sockets_conf_t *sconf, ngx_listening_t *l,
    ngx_str_t *members, ngx_uint_t m, ngx_str_t *want);
static ngx_int_t ngx_ipng_stats_sockets_free(ngx_cycle_t *cycle,
    ngx_listening_t *ls);
static ngx_int_t ngx_ipng_stats_sockets_bind(ngx_cycle_t *cycle,
    ngx_ipng_stats_sockets_conf_t *sconf, ngx_listening_t *ls,
    ngx_str_t *device);
static ngx_socket_t ngx_ipng_stats_sockets_open(ngx_cycle_t *cycle,
    ngx_listening_t *ls, ngx_str_t *device);
static void ngx_ipng_stats_sockets_undo(ngx_ipng_stats_sockets_conf_t *sconf);
static ngx_int_t ngx_ipng_stats_sockets_device(ngx_socket_t s,
    ngx_str_t *device);
static void ngx_ipng_stats_sockets_rebind(ngx_log_t *log, ngx_listening_t *ls,
    ngx_str_t *want);
static void ngx_ipng_stats_sockets_release(void *data);


static ngx_core_module_t  ngx_ipng_stats_sockets_module_ctx = {
    ngx_string("ipng_stats_sockets"),
    ngx_ipng_stats_sockets_create_conf,    /* create conf */
    ngx_ipng_stats_sockets_init_conf       /* init conf */
};


ngx_module_t  ngx_ipng_stats_sockets_module = {
    NGX_MODULE_V1,
    &ngx_ipng_stats_sockets_module_ctx,    /* module context */
    NULL,                                  /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_ipng_stats_sockets_init_module,    /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * The old cycle of the newest cycle that loaded this module (compared,
 * never dereferenced): when the master destroys cycle X after a reload,
 * "X == this" means the configuration that replaced X has the module.
 */
static ngx_cycle_t  *ngx_ipng_stats_sockets_successor_of;


static void *
ngx_ipng_stats_sockets_create_conf(ngx_cycle_t *cycle)
{
    ngx_ipng_stats_sockets_conf_t  *sconf;

    sconf = ngx_pcalloc(cycle->pool, sizeof(ngx_ipng_stats_sockets_conf_t));
    if (sconf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&sconf->want, cycle->pool, 4,
                       sizeof(ngx_ipng_stats_sockets_want_t))
        != NGX_OK
        || ngx_array_init(&sconf->reuseport, cycle->pool, 1,
                          sizeof(ngx_socket_t))
           != NGX_OK
        || ngx_array_init(&sconf->bound, cycle->pool, 4,
                          sizeof(ngx_ipng_stats_sockets_bound_t))
           != NGX_OK)
    {
        return NULL;
    }

    return sconf;
}


static char *
ngx_ipng_stats_sockets_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_ipng_stats_sockets_conf_t *sconf = conf;

    ngx_uint_t                        i, k, done;
    ngx_pool_cleanup_t               *cln;
    ngx_http_ipng_stats_binding_t    *b;
    ngx_http_ipng_stats_main_conf_t  *smcf;
    ngx_ipng_stats_sockets_cln_t     *sc;

    if (ngx_process == NGX_PROCESS_SIGNALLER) {
        return NGX_CONF_OK;       /* "nginx -s ...": it only signals */
    }

    smcf = NULL;

    if (cycle->conf_ctx[ngx_http_module.index]) {
        smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                                   ngx_http_ipng_stats_module);
    }

    if (smcf && smcf->shm_zone == NULL) {
        smcf = NULL;              /* loaded, but not configured: inert */
    }

    if (!ngx_test_config) {
        ngx_ipng_stats_sockets_successor_of = cycle->old_cycle;

        cln = ngx_pool_cleanup_add(cycle->pool,
                                   sizeof(ngx_ipng_stats_sockets_cln_t));
        if (cln == NULL) {
            return NGX_CONF_ERROR;
        }

        sc = cln->data;
        sc->cycle = cycle;
        sc->conf = sconf;
        cln->handler = ngx_ipng_stats_sockets_release;
    }

    if (smcf == NULL || smcf->attribution != NGX_HTTP_IPNG_STATS_BIND) {
        return NGX_CONF_OK;
    }

    b = smcf->bindings.elts;

    for (i = 0; i < smcf->bindings.nelts; i++) {
        if (b[i].device.len == 0) {
            continue;
        }

        /* one group per address, handled at its first device binding */

        done = 0;

        for (k = 0; k < i; k++) {
            if (b[k].device.len
                && ngx_cmp_sockaddr(&b[k].sockaddr.sockaddr, b[k].socklen,
                                    &b[i].sockaddr.sockaddr, b[i].socklen, 1)
                   == NGX_OK)
            {
                done = 1;
                break;
            }
        }

        if (done) {
            continue;
        }

        if (ngx_ipng_stats_sockets_group(cycle, sconf, smcf, &b[i])
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * One address with devices: nginx's entry and a clone per further device.
 * Entry n takes the n-th old socket of the address (nginx hands them on in
 * order); the others get sockets bound here, which nginx's
 * ngx_configure_listening_sockets() makes listen once its own sockets are
 * open.
 */

static ngx_int_t
ngx_ipng_stats_sockets_group(ngx_cycle_t *cycle,
    ngx_ipng_stats_sockets_conf_t *sconf,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_http_ipng_stats_binding_t *first)
{
    ngx_int_t                       nold;
    ngx_str_t                       members[NGX_IPNG_STATS_MAX_GROUP];
    ngx_str_t                       want[NGX_IPNG_STATS_MAX_GROUP];
    ngx_uint_t                      i, n, m, index, wildcard;
    ngx_listening_t                *ls, *l;
    ngx_ipng_stats_sockets_want_t  *w;

    m = ngx_ipng_stats_sockets_members(smcf, first, members);

    if (m > NGX_IPNG_STATS_MAX_GROUP) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "more than %d devices listen on one address, in %s:%ui",
                      NGX_IPNG_STATS_MAX_GROUP, first->file, first->line);
        return NGX_ERROR;
    }

    /*
     * nginx's listening socket for the address; there is none when a
     * wildcard socket of the port serves it, and Linux lets no socket of
     * one address listen beside a wildcard one of its port ("bind" fails)
     */

    ls = cycle->listening.elts;
    l = NULL;
    wildcard = 0;

    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ngx_cmp_sockaddr(ls[i].sockaddr, ls[i].socklen,
                             &first->sockaddr.sockaddr, first->socklen, 1)
            == NGX_OK)
        {
            l = &ls[i];

        } else if (ls[i].sockaddr->sa_family
                   == first->sockaddr.sockaddr.sa_family
                   && ngx_inet_get_port(ls[i].sockaddr)
                      == ngx_inet_get_port(&first->sockaddr.sockaddr)
                   && ngx_inet_wildcard(ls[i].sockaddr))
        {
            wildcard = 1;
        }
    }

    if (l == NULL || wildcard) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "\"listen ... device=%V\" in %s:%ui is served by the "
                      "wildcard socket of its port, which cannot also have a "
                      "socket per device on one of its addresses; put "
                      "\"device=%V\" on the wildcard \"listen\" of the port "
                      "instead (the VIP is counted per address either way)",
                      &first->device, first->file, first->line,
                      &first->device);
        return NGX_ERROR;
    }

    if (l->reuseport) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "\"listen ... device=%V\" in %s:%ui cannot be combined "
                      "with \"reuseport\" in \"ipng_stats_attribution bind\" "
                      "mode; use \"ipng_stats_attribution pktinfo\"",
                      &first->device, first->file, first->line);
        return NGX_ERROR;
    }

    if (ngx_test_config) {
        return NGX_OK;
    }

    nold = ngx_ipng_stats_sockets_inherit(cycle, sconf, l, members, m, want);

    if (nold == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (nold == 0 && ngx_ipng_stats_sockets_free(cycle, l) != NGX_OK) {
        return NGX_ERROR;
    }

    index = l - ls;

    /* entry 0 is nginx's own entry, then clones */

    for (n = 0; n < m; n++) {

        if (n > 0) {
            ls = ngx_array_push(&cycle->listening);
            if (ls == NULL) {
                return NGX_ERROR;
            }

            /* the push may have moved the array */
            l = &((ngx_listening_t *) cycle->listening.elts)[index];

            *ls = *l;
            ls->fd = (ngx_socket_t) -1;
            ls->previous = NULL;

        } else {
            ls = l;
        }

        w = ngx_array_push(&sconf->want);
        if (w == NULL) {
            return NGX_ERROR;
        }

        w->index = ls - (ngx_listening_t *) cycle->listening.elts;
        w->device = want[n];

        if ((ngx_int_t) n < nold) {
            continue;             /* nginx hands it an old socket */
        }

        if (ngx_ipng_stats_sockets_bind(cycle, sconf, ls, &want[n])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * A new socket for entry "ls", bound: nginx's own code calls listen() for
 * it (ls->listen) once all of the cycle's sockets are open, and closes it
 * (ls->open) if the cycle fails after that; release() closes it if the
 * cycle fails before.
 */

static ngx_int_t
ngx_ipng_stats_sockets_bind(ngx_cycle_t *cycle,
    ngx_ipng_stats_sockets_conf_t *sconf, ngx_listening_t *ls,
    ngx_str_t *device)
{
    ngx_socket_t                     s;
    struct stat                      st;
    ngx_ipng_stats_sockets_bound_t  *bound;

    bound = ngx_array_push(&sconf->bound);
    if (bound == NULL) {
        return NGX_ERROR;
    }

    s = ngx_ipng_stats_sockets_open(cycle, ls, device);

    if (s == (ngx_socket_t) -1 || fstat(s, &st) == -1) {
        sconf->bound.nelts--;

        if (s != (ngx_socket_t) -1) {
            (void) ngx_close_socket(s);
        }

        return NGX_ERROR;
    }

    bound->fd = s;
    bound->ino = st.st_ino;

    ls->fd = s;
    ls->open = 1;
    ls->listen = 1;

#if (NGX_HAVE_DEFERRED_ACCEPT && defined TCP_DEFER_ACCEPT)
    ls->add_deferred = ls->deferred_accept;
#endif

    return NGX_OK;
}


/* the devices on the address of "first", and "" if a listen there has none */

static ngx_uint_t
ngx_ipng_stats_sockets_members(ngx_http_ipng_stats_main_conf_t *smcf,
    ngx_http_ipng_stats_binding_t *first, ngx_str_t *members)
{
    ngx_uint_t                      i, k, m;
    ngx_http_ipng_stats_binding_t  *b;

    b = smcf->bindings.elts;
    m = 0;

    for (i = 0; i < smcf->bindings.nelts; i++) {
        if (ngx_cmp_sockaddr(&b[i].sockaddr.sockaddr, b[i].socklen,
                             &first->sockaddr.sockaddr, first->socklen, 1)
            != NGX_OK)
        {
            continue;
        }

        for (k = 0; k < m; k++) {
            if (ngx_http_ipng_stats_str_eq(&members[k], &b[i].device)) {
                break;
            }
        }

        if (k < m) {
            continue;
        }

        if (m == NGX_IPNG_STATS_MAX_GROUP) {
            return m + 1;
        }

        members[m++] = b[i].device;
    }

    return m;
}


/*
 * The old cycle's sockets for the address of "l", in nginx's hand-over
 * order: want[n] is the device the n-th of them will stand for, its own
 * where the new set still has it, else one still unplaced.  The rest of
 * "want" is the devices that need new sockets.  Returns how many old
 * sockets nginx hands on (at most "m"; it closes the others), or
 * NGX_ERROR.  Old sockets without SO_REUSEPORT get it for the new ones to
 * bind beside them; a failed cycle takes it back (sockets_release()).
 */

static ngx_int_t
ngx_ipng_stats_sockets_inherit(ngx_cycle_t *cycle,
    ngx_ipng_stats_sockets_conf_t *sconf, ngx_listening_t *l,
    ngx_str_t *members, ngx_uint_t m, ngx_str_t *want)
{
    int               one, on;
    char              dev[IFNAMSIZ + 1];
    ngx_str_t         had;
    ngx_uint_t        i, k, n, nold;
    socklen_t         len;
    ngx_socket_t     *rs, old[NGX_IPNG_STATS_MAX_GROUP];
    ngx_listening_t  *ols;
    ngx_uint_t        used[NGX_IPNG_STATS_MAX_GROUP];
    ngx_uint_t        decided[NGX_IPNG_STATS_MAX_GROUP];

    ngx_memzero(used, sizeof(used));
    ngx_memzero(decided, sizeof(decided));
    nold = 0;

    if (cycle->old_cycle && cycle->old_cycle->listening.nelts) {
        ols = cycle->old_cycle->listening.elts;

        for (i = 0; i < cycle->old_cycle->listening.nelts && nold < m; i++) {
            if (ols[i].ignore || ols[i].type != l->type
                || ols[i].fd == (ngx_socket_t) -1
                || ngx_cmp_sockaddr(ols[i].sockaddr, ols[i].socklen,
                                    l->sockaddr, l->socklen, 1)
                   != NGX_OK)
            {
                continue;
            }

            /* the old socket keeps its device if the new set has it */

            ngx_http_ipng_stats_socket_device(ols[i].fd, dev);

            had.data = (u_char *) dev;
            had.len = ngx_strlen(dev);

            for (k = 0; k < m; k++) {
                if (!used[k] && ngx_http_ipng_stats_str_eq(&members[k], &had)) {
                    used[k] = 1;
                    decided[nold] = 1;
                    want[nold] = members[k];
                    break;
                }
            }

            old[nold++] = ols[i].fd;
        }
    }

    /* old sockets whose device is gone take a device still unplaced */

    for (n = 0, k = 0; n < nold; n++) {
        if (decided[n]) {
            continue;
        }

        while (used[k]) {
            k++;
        }

        used[k] = 1;
        want[n] = members[k];
    }

    /* the rest of the members get new sockets, in order */

    for (k = 0, n = nold; n < m; k++) {
        if (!used[k]) {
            want[n++] = members[k];
        }
    }

    if (nold == m) {
        return nold;
    }

    /* new sockets will bind beside the old ones */

    one = 1;

    for (n = 0; n < nold; n++) {
        len = sizeof(int);

        if (getsockopt(old[n], SOL_SOCKET, SO_REUSEPORT, (void *) &on, &len)
            == 0 && on)
        {
            continue;
        }

        if (setsockopt(old[n], SOL_SOCKET, SO_REUSEPORT, (const void *) &one,
                       sizeof(int))
            == -1)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                          "setsockopt(SO_REUSEPORT) %V failed",
                          &l->addr_text);
            return NGX_ERROR;
        }

        rs = ngx_array_push(&sconf->reuseport);
        if (rs == NULL) {
            return NGX_ERROR;
        }

        *rs = old[n];
    }

    return nold;
}


/*
 * An address no socket of this nginx holds yet must be free, as it must
 * be for nginx's own bind(): the group's sockets have SO_REUSEPORT, and
 * would otherwise join the sockets of another nginx (or other program) of
 * the same user listening there.
 */

static ngx_int_t
ngx_ipng_stats_sockets_free(ngx_cycle_t *cycle, ngx_listening_t *ls)
{
    int           one;
    ngx_err_t     err;
    ngx_socket_t  s;

    s = ngx_socket(ls->sockaddr->sa_family, ls->type, 0);
    if (s == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      ngx_socket_n " %V failed", &ls->addr_text);
        return NGX_ERROR;
    }

    one = 1;
    (void) setsockopt(s, SOL_SOCKET, SO_REUSEADDR, (const void *) &one,
                      sizeof(int));

#if (NGX_HAVE_INET6 && defined IPV6_V6ONLY)
    if (ls->sockaddr->sa_family == AF_INET6) {
        int  ipv6only = ls->ipv6only;

        (void) setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY,
                          (const void *) &ipv6only, sizeof(int));
    }
#endif

    err = 0;

    if (bind(s, ls->sockaddr, ls->socklen) == -1) {
        err = ngx_socket_errno;
        ngx_log_error(NGX_LOG_EMERG, cycle->log, err, "bind() to %V failed",
                      &ls->addr_text);
    }

    (void) ngx_close_socket(s);

    return err ? NGX_ERROR : NGX_OK;
}


/* a socket of the group, bound to its device and address, not listening */

static ngx_socket_t
ngx_ipng_stats_sockets_open(ngx_cycle_t *cycle, ngx_listening_t *ls,
    ngx_str_t *device)
{
    int           one;
    ngx_socket_t  s;

    s = ngx_socket(ls->sockaddr->sa_family, ls->type, 0);
    if (s == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      ngx_socket_n " %V failed", &ls->addr_text);
        return -1;
    }

    one = 1;

    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, (const void *) &one,
                   sizeof(int)) == -1
        || setsockopt(s, SOL_SOCKET, SO_REUSEPORT, (const void *) &one,
                      sizeof(int)) == -1)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      "setsockopt(SO_REUSEADDR/SO_REUSEPORT) %V failed",
                      &ls->addr_text);
        goto failed;
    }

    if (device->len && ngx_ipng_stats_sockets_device(s, device) != NGX_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      "setsockopt(SO_BINDTODEVICE, \"%V\") %V failed",
                      device, &ls->addr_text);
        goto failed;
    }

#if (NGX_HAVE_INET6 && defined IPV6_V6ONLY)
    if (ls->sockaddr->sa_family == AF_INET6) {
        int  ipv6only = ls->ipv6only;

        if (setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY,
                       (const void *) &ipv6only, sizeof(int)) == -1)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                          "setsockopt(IPV6_V6ONLY) %V failed",
                          &ls->addr_text);
            goto failed;
        }
    }
#endif

    if (ngx_nonblocking(s) == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      ngx_nonblocking_n " %V failed", &ls->addr_text);
        goto failed;
    }

    if (bind(s, ls->sockaddr, ls->socklen) == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      "bind() to %V on device \"%V\" failed",
                      &ls->addr_text, device);
        goto failed;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_CORE, cycle->log, 0,
                   "ipng_stats: bound %V device \"%V\"",
                   &ls->addr_text, device);

    return s;

failed:

    (void) ngx_close_socket(s);

    return -1;
}


/*
 * The new cycle is committed: every socket it took from the old cycle now
 * stands for the device of its entry, and a socket no device entry holds
 * is bound to none.  Then the sockets whose connections' ingress interface
 * is asked for (_listen.c) get IP_PKTINFO: which those are depends on the
 * devices just set.
 */

static ngx_int_t
ngx_ipng_stats_sockets_init_module(ngx_cycle_t *cycle)
{
    ngx_str_t                         none;
    ngx_uint_t                        i, k;
    ngx_listening_t                  *ls;
    ngx_ipng_stats_sockets_want_t    *w;
    ngx_ipng_stats_sockets_conf_t    *sconf;
    ngx_http_ipng_stats_main_conf_t  *smcf;

    if (ngx_test_config || ngx_process == NGX_PROCESS_SIGNALLER) {
        return NGX_OK;
    }

    sconf = (ngx_ipng_stats_sockets_conf_t *)
                ngx_get_conf(cycle->conf_ctx, ngx_ipng_stats_sockets_module);

    ngx_str_null(&none);
    ls = cycle->listening.elts;
    w = sconf->want.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].fd == (ngx_socket_t) -1 || ls[i].type != SOCK_STREAM
            || ls[i].previous == NULL)
        {
            continue;             /* opened for this cycle, as it wants */
        }

        for (k = 0; k < sconf->want.nelts; k++) {
            if (w[k].index == i) {
                break;
            }
        }

        ngx_ipng_stats_sockets_rebind(cycle->log, &ls[i],
                                      k < sconf->want.nelts ? &w[k].device
                                                            : &none);
    }

    if (cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NGX_OK;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_ipng_stats_module);

    if (smcf && smcf->shm_zone) {
        ngx_http_ipng_stats_listen_init_module(cycle, smcf);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_ipng_stats_sockets_device(ngx_socket_t s, ngx_str_t *device)
{
    char  name[IFNAMSIZ + 1];

    ngx_memzero(name, sizeof(name));
    if (device->len) {
        ngx_memcpy(name, device->data, ngx_min(device->len, IFNAMSIZ));
    }

    if (setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, name,
                   device->len ? (socklen_t) ngx_strlen(name) + 1 : 0)
        == -1)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* bind "ls" to device "want" ("" for none) unless it already is */

static void
ngx_ipng_stats_sockets_rebind(ngx_log_t *log, ngx_listening_t *ls,
    ngx_str_t *want)
{
    char       dev[IFNAMSIZ + 1];
    ngx_str_t  had;

    ngx_http_ipng_stats_socket_device(ls->fd, dev);

    had.data = (u_char *) dev;
    had.len = ngx_strlen(dev);

    if (ngx_http_ipng_stats_str_eq(&had, want)) {
        return;
    }

    if (ngx_ipng_stats_sockets_device(ls->fd, want) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_socket_errno,
                      "ipng_stats: cannot move %V from device \"%V\" to "
                      "device \"%V\"", &ls->addr_text, &had, want);
    }
}


/*
 * A cycle's pool goes away.  A cycle that never became the running one (a
 * reload that failed) gives the old sockets their SO_REUSEPORT back off;
 * nginx has closed its new sockets.  A running cycle that the master
 * replaces: if the new configuration did not load this module, it took
 * these sockets over as plain listeners: unbind them.
 */

static void
ngx_ipng_stats_sockets_release(void *data)
{
    ngx_ipng_stats_sockets_cln_t  *sc = data;

    ngx_str_t         none;
    ngx_uint_t        i;
    ngx_listening_t  *ls;

    if (ngx_process != NGX_PROCESS_MASTER) {
        return;        /* workers share these sockets: never touch them */
    }

    if (sc->cycle != ngx_cycle) {

        /* a configuration that failed to load: it replaced nothing */

        if (ngx_ipng_stats_sockets_successor_of == sc->cycle->old_cycle) {
            ngx_ipng_stats_sockets_successor_of = NULL;
        }

        ngx_ipng_stats_sockets_undo(sc->conf);

        return;
    }

    if (ngx_ipng_stats_sockets_successor_of == sc->cycle) {
        return;        /* the new configuration has the module: its sockets */
    }

    ngx_str_null(&none);
    ls = sc->cycle->listening.elts;

    for (i = 0; i < sc->cycle->listening.nelts; i++) {
        if (ls[i].remain && ls[i].fd != (ngx_socket_t) -1) {
            ngx_ipng_stats_sockets_rebind(ngx_cycle->log, &ls[i], &none);
        }
    }
}


/*
 * A cycle that failed: the sockets bound for it that nginx did not close
 * (it does not when the failure comes before its own sockets are opened)
 * are closed, and the old sockets get their SO_REUSEPORT back off.
 */

static void
ngx_ipng_stats_sockets_undo(ngx_ipng_stats_sockets_conf_t *sconf)
{
    int                              off;
    ngx_uint_t                       i;
    struct stat                      st;
    ngx_socket_t                    *rs;
    ngx_ipng_stats_sockets_bound_t  *bound;

    bound = sconf->bound.elts;

    for (i = 0; i < sconf->bound.nelts; i++) {
        if (fstat(bound[i].fd, &st) == 0 && S_ISSOCK(st.st_mode)
            && st.st_ino == bound[i].ino)
        {
            (void) ngx_close_socket(bound[i].fd);
        }
    }

    off = 0;
    rs = sconf->reuseport.elts;

    for (i = 0; i < sconf->reuseport.nelts; i++) {
        if (setsockopt(rs[i], SOL_SOCKET, SO_REUSEPORT, (const void *) &off,
                       sizeof(int))
            == -1)
        {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_socket_errno,
                          "ipng_stats: setsockopt(SO_REUSEPORT, 0) failed");
        }
    }
}
