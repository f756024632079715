
/*
 * Copyright (C) IPng Networks GmbH
 *
 * The UDP logtail ("ipng_stats_logtail"): not written yet; the directive
 * is refused so that nobody mistakes it for a working one.
 */


#include "ngx_http_ipng_stats_module.h"


char *
ngx_http_ipng_stats_logtail(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return "is not implemented yet";
}


ngx_int_t
ngx_http_ipng_stats_logtail_init(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    return NGX_OK;
}


ngx_int_t
ngx_http_ipng_stats_logtail_init_process(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    return NGX_OK;
}


void
ngx_http_ipng_stats_logtail_exit_process(ngx_cycle_t *cycle,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
}
