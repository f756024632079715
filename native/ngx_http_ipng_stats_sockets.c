
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
 * This is a core module of the same library: its init_conf runs after the
 * http block has made nginx's listening sockets and before nginx opens them.
 * It clones the listening entry per device and opens the clones itself; in
 * a reload the sockets of the old cycle are handed on exactly as nginx does
 * (by address, in order), and each is re-bound to the device its new entry
 * stands for where that differs.  All of this runs in the master, with its
 * privileges; workers never need any.
 *
 * If a later configuration no longer loads the module, the device bindings
 * of the sockets it inherits are removed when the old cycle goes, so plain
 * listeners do not stay pinned to one interface.
 */


#include "ngx_http_ipng_stats_module.h"

#include <net/if.h>


#define NGX_IPNG_STATS_MAX_GROUP  64


typedef struct {
    ngx_cycle_t                *cycle;
} ngx_ipng_stats_sockets_cln_t;


static char *ngx_ipng_stats_sockets_init_conf(ngx_cycle_t *cycle,
    void *conf);
static ngx_int_t ngx_ipng_stats_sockets_group(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_http_ipng_stats_binding_t *b);
static ngx_socket_t ngx_ipng_stats_sockets_open(ngx_cycle_t *cycle,
    ngx_listening_t *ls, ngx_str_t *device);
static ngx_int_t ngx_ipng_stats_sockets_device(ngx_socket_t s,
    ngx_str_t *device);
static void ngx_ipng_stats_sockets_unbind_old(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf);
static void ngx_ipng_stats_sockets_unbind(ngx_log_t *log, ngx_listening_t *ls,
    char *dev);
static void ngx_ipng_stats_sockets_release(void *data);


static ngx_core_module_t  ngx_ipng_stats_sockets_module_ctx = {
    ngx_string("ipng_stats_sockets"),
    NULL,                                  /* create conf */
    ngx_ipng_stats_sockets_init_conf       /* init conf */
};


ngx_module_t  ngx_ipng_stats_sockets_module = {
    NGX_MODULE_V1,
    &ngx_ipng_stats_sockets_module_ctx,    /* module context */
    NULL,                                  /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
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


static char *
ngx_ipng_stats_sockets_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_uint_t                        i, k, done;
    ngx_pool_cleanup_t               *cln;
    ngx_http_ipng_stats_binding_t    *b;
    ngx_http_ipng_stats_main_conf_t  *smcf;
    ngx_ipng_stats_sockets_cln_t     *sc;

    if (ngx_test_config) {
        goto arrange;
    }

    ngx_ipng_stats_sockets_successor_of = cycle->old_cycle;

    cln = ngx_pool_cleanup_add(cycle->pool,
                               sizeof(ngx_ipng_stats_sockets_cln_t));
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    sc = cln->data;
    sc->cycle = cycle;
    cln->handler = ngx_ipng_stats_sockets_release;

arrange:

    smcf = NULL;

    if (cycle->conf_ctx[ngx_http_module.index]) {
        smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                                   ngx_http_ipng_stats_module);
    }

    ngx_ipng_stats_sockets_unbind_old(cycle, smcf);

    if (smcf == NULL || smcf->attribution != 0) {
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

        if (ngx_ipng_stats_sockets_group(cycle, smcf, &b[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * Old sockets bound to a device on an address that has no device in the
 * new configuration (or the new one is in pktinfo mode) are handed to plain
 * listeners: unbind them first.
 */

static void
ngx_ipng_stats_sockets_unbind_old(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    char                            dev[IFNAMSIZ + 1];
    ngx_uint_t                      i, k, keep;
    ngx_listening_t                *ols;
    ngx_http_ipng_stats_binding_t  *b;

    if (ngx_test_config || cycle->old_cycle == NULL
        || cycle->old_cycle->listening.nelts == 0)
    {
        return;
    }

    ols = cycle->old_cycle->listening.elts;

    for (i = 0; i < cycle->old_cycle->listening.nelts; i++) {
        if (ols[i].fd == (ngx_socket_t) -1 || ols[i].type != SOCK_STREAM) {
            continue;
        }

        ngx_http_ipng_stats_socket_device(ols[i].fd, dev);

        if (dev[0] == '\0') {
            continue;
        }

        keep = 0;

        if (smcf && smcf->attribution == 0) {
            b = smcf->bindings.elts;

            for (k = 0; k < smcf->bindings.nelts; k++) {
                if (b[k].device.len
                    && ngx_cmp_sockaddr(ols[i].sockaddr, ols[i].socklen,
                                        &b[k].sockaddr.sockaddr, b[k].socklen,
                                        1)
                       == NGX_OK)
                {
                    keep = 1;    /* its group sorts it out */
                    break;
                }
            }
        }

        if (!keep) {
            ngx_ipng_stats_sockets_unbind(cycle->log, &ols[i], dev);
        }
    }
}


static ngx_int_t
ngx_ipng_stats_sockets_group(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_http_ipng_stats_binding_t *first)
{
    char                            dev[IFNAMSIZ + 1];
    ngx_str_t                       members[NGX_IPNG_STATS_MAX_GROUP];
    ngx_str_t                       want[NGX_IPNG_STATS_MAX_GROUP];
    ngx_str_t                       had;
    ngx_uint_t                      i, k, n, m, nold, taken, found;
    ngx_uint_t                      used[NGX_IPNG_STATS_MAX_GROUP];
    ngx_uint_t                      decided[NGX_IPNG_STATS_MAX_GROUP];
    ngx_socket_t                    s;
    ngx_listening_t                *ls, *ols, *l;
    ngx_http_ipng_stats_binding_t  *b;

    /* the devices on this address, and a plain member if a listen has none */

    b = smcf->bindings.elts;
    m = 0;

    for (i = 0; i < smcf->bindings.nelts; i++) {
        if (ngx_cmp_sockaddr(&b[i].sockaddr.sockaddr, b[i].socklen,
                             &first->sockaddr.sockaddr, first->socklen, 1)
            != NGX_OK)
        {
            continue;
        }

        found = 0;

        for (k = 0; k < m; k++) {
            if (ngx_http_ipng_stats_str_eq(&members[k], &b[i].device)) {
                found = 1;
                break;
            }
        }

        if (found) {
            continue;
        }

        if (m == NGX_IPNG_STATS_MAX_GROUP) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "more than %d devices listen on one address, "
                          "in %s:%ui", NGX_IPNG_STATS_MAX_GROUP, b[i].file,
                          b[i].line);
            return NGX_ERROR;
        }

        members[m++] = b[i].device;
    }

    /* nginx's listening socket for the address */

    ls = cycle->listening.elts;
    l = NULL;

    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ngx_cmp_sockaddr(ls[i].sockaddr, ls[i].socklen,
                             &first->sockaddr.sockaddr, first->socklen, 1)
            == NGX_OK)
        {
            l = &ls[i];
            break;
        }
    }

    if (l == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "\"listen ... device=%V\" in %s:%ui shares a wildcard "
                      "socket of the same port; add the \"bind\" parameter "
                      "so that it gets a socket of its own", &first->device,
                      first->file, first->line);
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

    /* the old cycle's sockets for the address, in nginx's hand-over order */

    ngx_memzero(used, sizeof(used));
    ngx_memzero(decided, sizeof(decided));
    ngx_memzero(want, sizeof(want));
    nold = 0;

    if (cycle->old_cycle && cycle->old_cycle->listening.nelts) {
        ols = cycle->old_cycle->listening.elts;

        for (i = 0; i < cycle->old_cycle->listening.nelts; i++) {
            if (ols[i].ignore || ols[i].type != l->type
                || ols[i].fd == (ngx_socket_t) -1
                || ngx_cmp_sockaddr(ols[i].sockaddr, ols[i].socklen,
                                    l->sockaddr, l->socklen, 1)
                   != NGX_OK)
            {
                continue;
            }

            if (nold == m) {
                break;        /* surplus: nginx closes it */
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

            if (!ngx_test_config) {
                int  one = 1;

                /* lets the new sockets of the group bind beside it */
                (void) setsockopt(ols[i].fd, SOL_SOCKET, SO_REUSEPORT,
                                  (const void *) &one, sizeof(int));
            }

            nold++;
        }

        /* old sockets whose device is gone take a device still unplaced */

        taken = 0;
        n = 0;

        for (i = 0; i < cycle->old_cycle->listening.nelts && n < nold; i++) {
            if (ols[i].ignore || ols[i].type != l->type
                || ols[i].fd == (ngx_socket_t) -1
                || ngx_cmp_sockaddr(ols[i].sockaddr, ols[i].socklen,
                                    l->sockaddr, l->socklen, 1)
                   != NGX_OK)
            {
                continue;
            }

            if (!decided[n]) {
                while (used[taken]) {
                    taken++;
                }

                used[taken] = 1;
                decided[n] = 1;
                want[n] = members[taken];

                if (!ngx_test_config
                    && ngx_ipng_stats_sockets_device(ols[i].fd, &want[n])
                       != NGX_OK)
                {
                    ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                                  "setsockopt(SO_BINDTODEVICE, \"%V\") on "
                                  "%V failed", &want[n], &l->addr_text);
                    return NGX_ERROR;
                }
            }

            n++;
        }
    }

    /* the rest of the members get new sockets, in order */

    for (k = 0, n = nold; n < m && k < m; k++) {
        if (used[k]) {
            continue;
        }

        used[k] = 1;
        want[n++] = members[k];
    }

    /*
     * entry 0 is nginx's own entry, then clones; nginx hands the old
     * sockets to the first "nold" of them, so those are left alone here
     */

    for (n = 0; n < m; n++) {

        if (n > 0) {
            ls = ngx_array_push(&cycle->listening);
            if (ls == NULL) {
                return NGX_ERROR;
            }

            /* the push may have moved the array */
            l = NULL;

            for (i = 0; i < cycle->listening.nelts - 1; i++) {
                l = &((ngx_listening_t *) cycle->listening.elts)[i];

                if (ngx_cmp_sockaddr(l->sockaddr, l->socklen,
                                     &first->sockaddr.sockaddr,
                                     first->socklen, 1)
                    == NGX_OK)
                {
                    break;
                }
            }

            *ls = *l;
            ls->fd = (ngx_socket_t) -1;
            ls->previous = NULL;

        } else {
            ls = l;
        }

        if (n < nold || ngx_test_config) {
            continue;
        }

        s = ngx_ipng_stats_sockets_open(cycle, ls, &want[n]);
        if (s == (ngx_socket_t) -1) {
            return NGX_ERROR;
        }

        ls->fd = s;
        ls->open = 1;
    }

    return NGX_OK;
}


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

    if (listen(s, ls->backlog) == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      "listen() to %V on device \"%V\" failed",
                      &ls->addr_text, device);
        goto failed;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_CORE, cycle->log, 0,
                   "ipng_stats: listening on %V device \"%V\"",
                   &ls->addr_text, device);

    return s;

failed:

    (void) ngx_close_socket(s);

    return -1;
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


static void
ngx_ipng_stats_sockets_unbind(ngx_log_t *log, ngx_listening_t *ls, char *dev)
{
    ngx_str_t  none;

    ngx_str_null(&none);

    if (ngx_ipng_stats_sockets_device(ls->fd, &none) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_socket_errno,
                      "ipng_stats: cannot unbind %V from device \"%s\"",
                      &ls->addr_text, dev);
    }
}


/*
 * The cycle that arranged device sockets goes away (the master destroys the
 * old cycle after a successful reload).  If the new cycle did not load this
 * module, it took these sockets over as plain listeners: unbind them.
 */

static void
ngx_ipng_stats_sockets_release(void *data)
{
    ngx_ipng_stats_sockets_cln_t  *sc = data;

    char              dev[IFNAMSIZ + 1];
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

        return;
    }

    if (ngx_ipng_stats_sockets_successor_of == sc->cycle) {
        return;        /* the new configuration has the module: its sockets */
    }

    ls = sc->cycle->listening.elts;

    for (i = 0; i < sc->cycle->listening.nelts; i++) {
        if (!ls[i].remain || ls[i].fd == (ngx_socket_t) -1) {
            continue;
        }

        ngx_http_ipng_stats_socket_device(ls[i].fd, dev);

        if (dev[0]) {
            ngx_ipng_stats_sockets_unbind(ngx_cycle->log, &ls[i], dev);
        }
    }
}
