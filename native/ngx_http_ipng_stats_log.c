
/*
 * Copyright (C) IPng Networks GmbH
 *
 * The log phase: one fixed-layout record per request, written straight
 * into the worker's ring in shared memory (_ring.c).  No allocation, no
 * lock, no system call per request; the stats process drains the rings.
 */


#include "ngx_http_ipng_stats_module.h"


static void ngx_http_ipng_stats_set_addr(ngx_http_ipng_stats_record_t *rec,
    struct sockaddr *sa);


ngx_int_t
ngx_http_ipng_stats_log_handler(ngx_http_request_t *r)
{
    uint64_t                         up;
    ngx_uint_t                       i, miss;
    ngx_connection_t                *c;
    ngx_time_t                      *tp;
    ngx_msec_int_t                   ms;
    ngx_http_upstream_state_t       *state;
    ngx_http_ipng_stats_record_t    *rec;
    ngx_http_ipng_stats_loc_conf_t   *lcf;
    ngx_http_ipng_stats_main_conf_t  *smcf;

    if (r != r->main) {
        return NGX_OK;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_ipng_stats_module);

    if (!lcf->enable || lcf->scrape) {
        return NGX_OK;
    }

    rec = ngx_http_ipng_stats_ring_next();

    if (rec == NULL) {
        return NGX_OK;              /* counted as dropped */
    }

    c = r->connection;

    rec->bytes_in = r->request_length;
    rec->bytes_out = c->sent;

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t)
             ((tp->sec - r->start_sec) * 1000 + (tp->msec - r->start_msec));
    rec->request_time = ngx_max(ms, 0);

    /* as $status logs it */

    if (r->err_status) {
        rec->status = (uint16_t) r->err_status;

    } else if (r->headers_out.status) {
        rec->status = (uint16_t) r->headers_out.status;

    } else if (r->http_version == NGX_HTTP_VERSION_9) {
        rec->status = 9;

    } else {
        rec->status = 0;
    }

    rec->flags = 0;
    rec->upstream_time = 0;

    /* as $upstream_response_time, summed over the tries */

    if (r->upstream_states && r->upstream_states->nelts) {
        up = 0;
        state = r->upstream_states->elts;

        for (i = 0; i < r->upstream_states->nelts; i++) {
            if (state[i].response_time != (ngx_msec_t) -1) {
                up += state[i].response_time;
            }
        }

        rec->upstream_time = up;
        rec->flags = NGX_HTTP_IPNG_STATS_FLAG_UPSTREAM;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_ipng_stats_module);
    rec->source_id = smcf->tag_index[ngx_http_ipng_stats_source(r, &miss)];
    rec->reserved = 0;

    if (miss) {
        rec->flags |= NGX_HTTP_IPNG_STATS_FLAG_IFINDEX_MISS;
    }

    /* the VIP: as $server_addr, one getsockname() per wildcard connection */

    if (ngx_connection_local_sockaddr(c, NULL, 0) == NGX_OK) {
        ngx_http_ipng_stats_set_addr(rec, c->local_sockaddr);

    } else {
        ngx_memzero(rec->addr, sizeof(rec->addr));
        rec->family = 0;
    }

    ngx_http_ipng_stats_ring_publish();

    return NGX_OK;
}


static void
ngx_http_ipng_stats_set_addr(ngx_http_ipng_stats_record_t *rec,
    struct sockaddr *sa)
{
#if (NGX_HAVE_INET6)
    u_char               *p;
    struct sockaddr_in6  *sin6;
#endif
    struct sockaddr_in   *sin;

    ngx_memzero(rec->addr, sizeof(rec->addr));

    switch (sa->sa_family) {

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;
        p = sin6->sin6_addr.s6_addr;

        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            ngx_memcpy(rec->addr, p + 12, 4);
            rec->family = 4;

        } else {
            ngx_memcpy(rec->addr, p, 16);
            rec->family = 6;
        }

        break;
#endif

    case AF_INET:
        sin = (struct sockaddr_in *) sa;
        ngx_memcpy(rec->addr, &sin->sin_addr, 4);
        rec->family = 4;
        break;

    default:
        rec->family = 0;
        break;
    }
}
