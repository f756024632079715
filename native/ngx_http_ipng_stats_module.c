
/*
 * Copyright (C) IPng Networks GmbH
 *
 * ngx_http_ipng_stats_module: the module, its directives and the process
 * life cycle.  The work is done elsewhere: the zones in _zone.c, the
 * workers' rings in _ring.c and the log phase in _log.c, the stats process
 * and its JVM in _process.c and _jvm.c, the scrape location in _scrape.c.
 */


#include "ngx_http_ipng_stats_module.h"


static ngx_int_t ngx_http_ipng_stats_preconf(ngx_conf_t *cf);
static ngx_int_t ngx_http_ipng_stats_init(ngx_conf_t *cf);
static void *ngx_http_ipng_stats_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_ipng_stats_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_ipng_stats_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_ipng_stats_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_ipng_stats(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_ipng_stats_buckets(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_ipng_stats_jvm_options(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_ipng_stats_check_tag(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_ipng_stats_check_flush(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_ipng_stats_init_process(ngx_cycle_t *cycle);
static void ngx_http_ipng_stats_exit_process(ngx_cycle_t *cycle);


static ngx_conf_post_t  ngx_http_ipng_stats_flush_post = {
    ngx_http_ipng_stats_check_flush
};

static ngx_conf_post_t  ngx_http_ipng_stats_tag_post = {
    ngx_http_ipng_stats_check_tag
};

static ngx_conf_enum_t  ngx_http_ipng_stats_attributions[] = {
    { ngx_string("bind"), NGX_HTTP_IPNG_STATS_BIND },
    { ngx_string("pktinfo"), NGX_HTTP_IPNG_STATS_PKTINFO },
    { ngx_null_string, 0 }
};

static ngx_conf_enum_t  ngx_http_ipng_stats_status_modes[] = {
    { ngx_string("exact"), 0 },
    { ngx_string("class"), 1 },
    { ngx_null_string, 0 }
};

static uint64_t  ngx_http_ipng_stats_default_buckets[] = {
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};


static ngx_command_t  ngx_http_ipng_stats_commands[] = {

    { ngx_string("ipng_stats_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_ipng_stats_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ipng_stats_flush_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ipng_stats_main_conf_t, flush_interval),
      &ngx_http_ipng_stats_flush_post },

    { ngx_string("ipng_stats_default_source"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ipng_stats_main_conf_t, default_source),
      &ngx_http_ipng_stats_tag_post },

    { ngx_string("ipng_stats_buckets"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_ipng_stats_buckets,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ipng_stats_status_codes"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ipng_stats_main_conf_t, status_mode),
      &ngx_http_ipng_stats_status_modes },

    { ngx_string("ipng_stats_attribution"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ipng_stats_main_conf_t, attribution),
      &ngx_http_ipng_stats_attributions },

    { ngx_string("ipng_stats_rescan_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ipng_stats_main_conf_t, rescan_interval),
      NULL },

    { ngx_string("ipng_stats_jvm"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ipng_stats_main_conf_t, jvm),
      NULL },

    { ngx_string("ipng_stats_classpath"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ipng_stats_main_conf_t, classpath),
      NULL },

    { ngx_string("ipng_stats_jvm_options"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_ipng_stats_jvm_options,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ipng_stats_path"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ipng_stats_main_conf_t, path),
      NULL },

    { ngx_string("ipng_stats_cds_archive"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ipng_stats_main_conf_t, cds_archive),
      NULL },

    { ngx_string("ipng_stats_logtail"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_ipng_stats_logtail,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ipng_stats"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
                        |NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_ipng_stats,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_ipng_stats_module_ctx = {
    ngx_http_ipng_stats_preconf,           /* preconfiguration */
    ngx_http_ipng_stats_init,              /* postconfiguration */

    ngx_http_ipng_stats_create_main_conf,  /* create main configuration */
    ngx_http_ipng_stats_init_main_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_ipng_stats_create_loc_conf,   /* create location configuration */
    ngx_http_ipng_stats_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_ipng_stats_module = {
    NGX_MODULE_V1,
    &ngx_http_ipng_stats_module_ctx,       /* module context */
    ngx_http_ipng_stats_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_ipng_stats_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_ipng_stats_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_ipng_stats_preconf(ngx_conf_t *cf)
{
    /* before the http block is parsed: take over "listen" */

    if (ngx_http_ipng_stats_logtail_wrap(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_ipng_stats_listen_wrap(cf);
}


static ngx_int_t
ngx_http_ipng_stats_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt              *h;
    ngx_http_core_main_conf_t        *cmcf;
    ngx_http_ipng_stats_main_conf_t  *smcf;

    ngx_http_ipng_stats_listen_unwrap();

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ipng_stats_module);

    if (smcf->shm_zone == NULL) {
        return NGX_OK;
    }

    if (ngx_http_ipng_stats_logtail_init(cf, smcf) != NGX_OK) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_ipng_stats_log_handler;

    return ngx_http_ipng_stats_process_conf(cf, smcf);
}


static void *
ngx_http_ipng_stats_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_ipng_stats_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ipng_stats_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     smcf->shm_zone = NULL;
     *     smcf->sh = NULL;
     *     smcf->default_source = { 0, NULL };
     *     smcf->jvm = { 0, NULL };
     *     smcf->libjvm = { 0, NULL };
     *     smcf->classpath = { 0, NULL };
     *     smcf->cds_archive = { 0, NULL };
     *     smcf->cds_option = { 0, NULL };
     *     smcf->used = 0;
     */

    smcf->flush_interval = NGX_CONF_UNSET_MSEC;
    smcf->status_mode = NGX_CONF_UNSET_UINT;
    smcf->buckets = NGX_CONF_UNSET_PTR;
    smcf->jvm_options = NGX_CONF_UNSET_PTR;
    smcf->attribution = NGX_CONF_UNSET_UINT;
    smcf->rescan_interval = NGX_CONF_UNSET_MSEC;

    if (ngx_array_init(&smcf->tags, cf->pool, 4, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&smcf->bindings, cf->pool, 4,
                       sizeof(ngx_http_ipng_stats_binding_t))
        != NGX_OK)
    {
        return NULL;
    }

    return smcf;
}


static char *
ngx_http_ipng_stats_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_ipng_stats_main_conf_t *smcf = conf;

    ngx_str_t   *tag;
    uint64_t    *b;
    ngx_uint_t   i;

    if (smcf->flush_interval != NGX_CONF_UNSET_MSEC
        || smcf->logtail
        || smcf->attribution != NGX_CONF_UNSET_UINT
        || smcf->rescan_interval != NGX_CONF_UNSET_MSEC
        || smcf->status_mode != NGX_CONF_UNSET_UINT
        || smcf->buckets != NGX_CONF_UNSET_PTR
        || smcf->jvm_options != NGX_CONF_UNSET_PTR
        || smcf->default_source.data
        || smcf->jvm.data
        || smcf->classpath.data
        || smcf->path.data
        || smcf->cds_archive.data)
    {
        smcf->used = 1;
    }

    if (smcf->shm_zone == NULL) {
        if (smcf->used) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "ngx_http_ipng_stats_module is configured "
                               "but \"ipng_stats_zone\" is missing in the "
                               "http block; add e.g. "
                               "\"ipng_stats_zone ipng:4m;\"");
            return NGX_CONF_ERROR;
        }

        /* loaded but unused: stay inert, start no JVM */
        return NGX_CONF_OK;
    }

    ngx_conf_init_msec_value(smcf->flush_interval, 1000);
    ngx_conf_init_uint_value(smcf->status_mode, 0);
    ngx_conf_init_uint_value(smcf->attribution, NGX_HTTP_IPNG_STATS_BIND);
    ngx_conf_init_msec_value(smcf->rescan_interval, 60000);
    ngx_conf_init_ptr_value(smcf->jvm_options, NULL);

    if (smcf->default_source.data == NULL) {
        ngx_str_set(&smcf->default_source, "direct");
    }

    if (smcf->buckets == NGX_CONF_UNSET_PTR) {
        smcf->buckets = ngx_array_create(cf->pool,
                                   sizeof(ngx_http_ipng_stats_default_buckets)
                                   / sizeof(uint64_t), sizeof(uint64_t));
        if (smcf->buckets == NULL) {
            return NGX_CONF_ERROR;
        }

        for (i = 0; i < sizeof(ngx_http_ipng_stats_default_buckets)
                        / sizeof(uint64_t); i++)
        {
            b = ngx_array_push(smcf->buckets);
            if (b == NULL) {
                return NGX_CONF_ERROR;
            }

            *b = ngx_http_ipng_stats_default_buckets[i];
        }
    }

    /* source id 0 is the default source */

    tag = ngx_array_push(&smcf->tags);
    if (tag == NULL) {
        return NGX_CONF_ERROR;
    }

    *tag = smcf->default_source;

    if (ngx_http_ipng_stats_listen_init(cf, smcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (smcf->classpath.data == NULL) {
        ngx_str_set(&smcf->classpath, NGX_HTTP_IPNG_STATS_JAR);
    }

    if (ngx_process == NGX_PROCESS_SIGNALLER) {
        /* "nginx -s ...": only sends a signal, the master checks */
        return NGX_CONF_OK;
    }

    return ngx_http_ipng_stats_jvm_check(cf, smcf);
}


static void *
ngx_http_ipng_stats_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_ipng_stats_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ipng_stats_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lcf->clcf = NULL;
     *     lcf->file = NULL;
     *     lcf->line = 0;
     */

    lcf->enable = NGX_CONF_UNSET;
    lcf->scrape = NGX_CONF_UNSET;

    return lcf;
}


static char *
ngx_http_ipng_stats_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_ipng_stats_loc_conf_t *prev = parent;
    ngx_http_ipng_stats_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 1);

    /* the scrape handler belongs to its own location only */

    if (conf->scrape == NGX_CONF_UNSET) {
        conf->scrape = 0;
    }

    if (conf->scrape
        && conf->clcf->handler != ngx_http_ipng_stats_scrape_handler)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"ipng_stats\" in %s:%ui cannot share a location with "
                      "another content handler (proxy_pass, fastcgi_pass, "
                      "stub_status, ...); give the scrape handler a "
                      "location of its own", conf->file, conf->line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_ipng_stats(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ipng_stats_loc_conf_t *lcf = conf;

    ngx_str_t                        *value;
    ngx_http_core_loc_conf_t         *clcf;
    ngx_http_ipng_stats_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ipng_stats_module);
    smcf->used = 1;

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        if (lcf->enable != NGX_CONF_UNSET) {
            return "is duplicate";
        }

        if (ngx_strcmp(value[1].data, "on") == 0) {
            lcf->enable = 1;

        } else if (ngx_strcmp(value[1].data, "off") == 0) {
            lcf->enable = 0;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\" directive, "
                               "it must be \"on\" or \"off\" (or no value, "
                               "in a location, for the scrape handler)",
                               &value[1], &cmd->name);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (cf->cmd_type != NGX_HTTP_LOC_CONF) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ipng_stats;\" (the scrape handler) is only "
                           "allowed in a location; use \"ipng_stats on\" or "
                           "\"ipng_stats off\" here");
        return NGX_CONF_ERROR;
    }

    if (lcf->scrape != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ipng_stats\" cannot share a location with "
                           "another content handler (proxy_pass, "
                           "fastcgi_pass, stub_status, ...); give the scrape "
                           "handler a location of its own");
        return NGX_CONF_ERROR;
    }

    clcf->handler = ngx_http_ipng_stats_scrape_handler;

    lcf->upstream = ngx_pcalloc(cf->pool, sizeof(ngx_http_upstream_conf_t));
    if (lcf->upstream == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_http_ipng_stats_scrape_conf(lcf->upstream);

    lcf->scrape = 1;
    lcf->clcf = clcf;
    lcf->file = cf->conf_file->file.name.data;
    lcf->line = cf->conf_file->line;

    return NGX_CONF_OK;
}


static char *
ngx_http_ipng_stats_buckets(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ipng_stats_main_conf_t *smcf = conf;

    ngx_int_t    n;
    uint64_t    *b, prev;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (smcf->buckets != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts - 1 > NGX_HTTP_IPNG_STATS_MAX_BUCKETS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many bounds in \"%V\": %ui given, at most %d",
                           &cmd->name, cf->args->nelts - 1,
                           NGX_HTTP_IPNG_STATS_MAX_BUCKETS);
        return NGX_CONF_ERROR;
    }

    smcf->buckets = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                     sizeof(uint64_t));
    if (smcf->buckets == NULL) {
        return NGX_CONF_ERROR;
    }

    prev = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        n = ngx_atoi(value[i].data, value[i].len);

        if (n == NGX_ERROR || n == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid bucket bound \"%V\" in \"%V\": "
                               "bounds are positive integers in milliseconds",
                               &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        if ((uint64_t) n <= prev) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "bucket bound \"%V\" in \"%V\" is not greater "
                               "than the one before it: bounds must be "
                               "strictly increasing", &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        prev = n;

        b = ngx_array_push(smcf->buckets);
        if (b == NULL) {
            return NGX_CONF_ERROR;
        }

        *b = n;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_ipng_stats_jvm_options(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_ipng_stats_main_conf_t *smcf = conf;

    ngx_str_t   *value, *opt;
    ngx_uint_t   i;

    if (smcf->jvm_options == NGX_CONF_UNSET_PTR) {
        smcf->jvm_options = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (smcf->jvm_options == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len < 2 || value[i].data[0] != '-') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid JVM option \"%V\" in \"%V\": "
                               "options start with \"-\"",
                               &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        if (smcf->jvm_options->nelts == NGX_HTTP_IPNG_STATS_MAX_JVM_OPTIONS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "too many JVM options at \"%V\" in \"%V\": "
                               "at most %d in all",
                               &value[i], &cmd->name,
                               NGX_HTTP_IPNG_STATS_MAX_JVM_OPTIONS);
            return NGX_CONF_ERROR;
        }

        opt = ngx_array_push(smcf->jvm_options);
        if (opt == NULL) {
            return NGX_CONF_ERROR;
        }

        *opt = value[i];
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_ipng_stats_check_tag(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *tag = data;

    u_char       text[NGX_HTTP_IPNG_STATS_TAG_TEXT];
    const char  *why;

    if (tag->len == 0) {
        return "must not be empty";
    }

    why = ngx_http_ipng_stats_tag_invalid(tag);

    if (why) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "source tag \"%s\" %s",
                           ngx_http_ipng_stats_tag_text(tag, text), why);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * NULL if "tag" can be a label value as it is: at most
 * NGX_HTTP_IPNG_STATS_MAX_TAG_LEN bytes of UTF-8 (shortest forms, no
 * surrogates, nothing above U+10FFFF) without control characters; else
 * what is wrong with it.  Java decodes the same bytes as UTF-8.
 */

const char *
ngx_http_ipng_stats_tag_invalid(ngx_str_t *tag)
{
    u_char      *p, *last;
    uint32_t     c, min;
    ngx_uint_t   n;

    if (tag->len > NGX_HTTP_IPNG_STATS_MAX_TAG_LEN) {
        return "is longer than "
               ngx_value(NGX_HTTP_IPNG_STATS_MAX_TAG_LEN) " bytes";
    }

    p = tag->data;
    last = p + tag->len;

    while (p < last) {
        c = *p++;

        if (c < 0x80) {
            n = 0;
            min = 0;

        } else if ((c & 0xe0) == 0xc0) {
            c &= 0x1f;
            n = 1;
            min = 0x80;

        } else if ((c & 0xf0) == 0xe0) {
            c &= 0x0f;
            n = 2;
            min = 0x800;

        } else if ((c & 0xf8) == 0xf0) {
            c &= 0x07;
            n = 3;
            min = 0x10000;

        } else {
            return "is not valid UTF-8";
        }

        if ((size_t) (last - p) < n) {
            return "is not valid UTF-8";
        }

        while (n--) {
            if ((*p & 0xc0) != 0x80) {
                return "is not valid UTF-8";
            }

            c = (c << 6) | (*p++ & 0x3f);
        }

        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            return "is not valid UTF-8";
        }

        if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
            return "contains a control character";
        }
    }

    return NULL;
}


/*
 * "tag" for an error message: printable ASCII as it is, every other byte
 * as \xHH, cut to fit "text" (NGX_HTTP_IPNG_STATS_TAG_TEXT bytes).
 */

u_char *
ngx_http_ipng_stats_tag_text(ngx_str_t *tag, u_char *text)
{
    u_char      *p, *end;
    ngx_uint_t   i;

    p = text;
    end = text + NGX_HTTP_IPNG_STATS_TAG_TEXT - sizeof("\\xHH...");

    for (i = 0; i < tag->len && p < end; i++) {
        if (tag->data[i] >= 0x20 && tag->data[i] < 0x7f
            && tag->data[i] != '\\')
        {
            *p++ = tag->data[i];

        } else {
            p = ngx_sprintf(p, "\\x%02xd", tag->data[i]);
        }
    }

    if (i < tag->len) {
        p = ngx_cpymem(p, "...", 3);
    }

    *p = '\0';

    return text;
}


static char *
ngx_http_ipng_stats_check_flush(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *msec = data;

    ngx_str_t  *value;

    if (*msec < 100) {
        value = cf->args->elts;

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" of \"%V\" is below the minimum of 100ms",
                           &value[1], &value[0]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_ipng_stats_init_process(ngx_cycle_t *cycle)
{
    ngx_http_ipng_stats_main_conf_t  *smcf;

    /* the stats process starts when nginx calls its path's manager */

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_ipng_stats_module);

    if (smcf == NULL || smcf->shm_zone == NULL) {
        return NGX_OK;
    }

    if (ngx_http_ipng_stats_listen_init_process(cycle, smcf) != NGX_OK) {
        return NGX_ERROR;
    }

    (void) ngx_http_ipng_stats_logtail_init_process(cycle, smcf);

    ngx_http_ipng_stats_ring_claim(cycle, smcf);

    if (ngx_process == NGX_PROCESS_SINGLE) {
        /* "master_process off": no helper process, this one drains */
        (void) ngx_http_ipng_stats_process_init(cycle, smcf);
    }

    return NGX_OK;
}


static void
ngx_http_ipng_stats_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_ipng_stats_main_conf_t  *smcf;

    ngx_http_ipng_stats_ring_close();

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_ipng_stats_module);

    if (smcf && smcf->shm_zone) {
        ngx_http_ipng_stats_logtail_exit_process(cycle, smcf);
    }
}
