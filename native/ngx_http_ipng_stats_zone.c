
/*
 * Copyright (C) IPng Networks GmbH
 *
 * The shared zone.  nginx puts its slab pool header at the start of every
 * shared zone; the module takes all free pages as one page-aligned region,
 * writes the header (ngx_http_ipng_stats_sh_t) at its start and leaves the
 * rest, zeroed, to Java (ch.ipng.stats.layout.ZoneDescriptor).
 *
 * Across "nginx -s reload" a zone with the same name and size is handed back
 * with the old cycle's data and reused as it is, so the counters survive.
 * The stats process of the old configuration may still be writing it while
 * the new one starts, so a zone whose header says something else than this
 * configuration (buckets, status mode, layout version) is never reused: the
 * reload fails with a message saying how to change those (a new zone name,
 * or a restart).
 *
 * Beside it, every counters zone gets a rings zone ("ipng_stats_rings"):
 * the workers' rings of records and the stats process's journal
 * (ch.ipng.stats.layout.RingDescriptor).  Its size depends on the number of
 * CPUs only, so it too is reused across reloads, with the records old
 * workers logged and the stats process has not yet taken.  Only its header
 * is written: a new zone is zeroed by mmap(), and untouched rings cost no
 * memory.
 */


#include "ngx_http_ipng_stats_module.h"


static ngx_int_t ngx_http_ipng_stats_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_ipng_stats_rings_zone(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf);
static ngx_int_t ngx_http_ipng_stats_init_rings(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_uint_t ngx_http_ipng_stats_ring_count(void);
static ngx_int_t ngx_http_ipng_stats_intern_tags(ngx_shm_zone_t *shm_zone,
    ngx_http_ipng_stats_main_conf_t *smcf);
static ngx_int_t ngx_http_ipng_stats_intern(ngx_http_ipng_stats_sh_t *sh,
    ngx_str_t *tag);
static ngx_int_t ngx_http_ipng_stats_zone_compatible(ngx_shm_zone_t *shm_zone,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_http_ipng_stats_sh_t *sh);


char *
ngx_http_ipng_stats_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ipng_stats_main_conf_t *smcf = conf;

    u_char      *p;
    ssize_t      size;
    ngx_str_t   *value, name, s;

    if (smcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');

    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\" in \"%V\", "
                           "it must be \"name:size\", e.g. \"ipng:4m\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in \"%V\"",
                           &s, &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (size < NGX_HTTP_IPNG_STATS_MIN_ZONE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small: \"%V\", "
                           "at least %dk is needed",
                           &name, &s, NGX_HTTP_IPNG_STATS_MIN_ZONE / 1024);
        return NGX_CONF_ERROR;
    }

    smcf->shm_zone = ngx_shared_memory_add(cf, &name, size,
                                           &ngx_http_ipng_stats_module);
    if (smcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (smcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &name);
        return NGX_CONF_ERROR;
    }

    smcf->shm_zone->init = ngx_http_ipng_stats_init_zone;
    smcf->shm_zone->data = smcf;

    if (ngx_http_ipng_stats_rings_zone(cf, smcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* rings for twice as many workers as CPUs (a reload's two generations) */

static ngx_uint_t
ngx_http_ipng_stats_ring_count(void)
{
    return ngx_max(64, 2 * (ngx_uint_t) ngx_ncpu + 8);
}


static ngx_int_t
ngx_http_ipng_stats_rings_zone(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    size_t                      size;
    ngx_str_t                   name;
    static ngx_uint_t           tag;

    size = sizeof(ngx_http_ipng_stats_rings_sh_t)
           + ngx_http_ipng_stats_ring_count() * NGX_HTTP_IPNG_STATS_RING_LENGTH
           + NGX_HTTP_IPNG_STATS_JOURNAL;

    /* and what nginx's slab pool takes: a descriptor per page, its header */
    size += size / 128 + 64 * 1024;

    ngx_str_set(&name, "ipng_stats_rings");

    smcf->rings_zone = ngx_shared_memory_add(cf, &name, size, &tag);
    if (smcf->rings_zone == NULL) {
        return NGX_ERROR;
    }

    smcf->rings_zone->init = ngx_http_ipng_stats_init_rings;
    smcf->rings_zone->data = smcf;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ipng_stats_init_rings(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_ipng_stats_main_conf_t  *osmcf = data;

    size_t                            len;
    ngx_uint_t                        count;
    ngx_slab_pool_t                  *shpool;
    ngx_http_ipng_stats_rings_sh_t   *rs;
    ngx_http_ipng_stats_main_conf_t  *smcf;

    smcf = shm_zone->data;
    count = ngx_http_ipng_stats_ring_count();

    if (osmcf) {
        rs = osmcf->rings;

        if (rs->magic != NGX_HTTP_IPNG_STATS_RINGS_MAGIC
            || rs->layout_version != NGX_HTTP_IPNG_STATS_RINGS_VERSION
            || rs->ring_count != count
            || rs->ring_capacity != NGX_HTTP_IPNG_STATS_RING_CAPACITY
            || rs->wake_records != NGX_HTTP_IPNG_STATS_WAKE_RECORDS
            || rs->record_length != sizeof(ngx_http_ipng_stats_record_t))
        {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "the workers' rings of ngx_http_ipng_stats_module "
                          "were laid out by an incompatible version of the "
                          "module; restart nginx");
            return NGX_ERROR;
        }

        smcf->rings = rs;

        /* tells the running stats process that another one is coming */
        (void) __atomic_fetch_add(&rs->generation, 1, __ATOMIC_RELEASE);

        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    len = sizeof(ngx_http_ipng_stats_rings_sh_t)
          + count * NGX_HTTP_IPNG_STATS_RING_LENGTH
          + NGX_HTTP_IPNG_STATS_JOURNAL;

    rs = ngx_slab_alloc(shpool, len);
    if (rs == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "cannot allocate %uz bytes in \"%V\"",
                      len, &shm_zone->shm.name);
        return NGX_ERROR;
    }

    /* the rest is zero: the slab pool hands out pages nothing touched */

    ngx_memzero(rs, sizeof(ngx_http_ipng_stats_rings_sh_t));

    rs->magic = NGX_HTTP_IPNG_STATS_RINGS_MAGIC;
    rs->layout_version = NGX_HTTP_IPNG_STATS_RINGS_VERSION;
    rs->header_length = sizeof(ngx_http_ipng_stats_rings_sh_t);
    rs->ring_count = count;
    rs->ring_capacity = NGX_HTTP_IPNG_STATS_RING_CAPACITY;
    rs->record_length = sizeof(ngx_http_ipng_stats_record_t);
    rs->ring_header_length = sizeof(ngx_http_ipng_stats_ring_t);
    rs->zone_length = len;
    rs->journal_offset = len - NGX_HTTP_IPNG_STATS_JOURNAL;
    rs->journal_length = NGX_HTTP_IPNG_STATS_JOURNAL;
    rs->wake_records = NGX_HTTP_IPNG_STATS_WAKE_RECORDS;
    rs->generation = 1;

    shpool->data = rs;
    smcf->rings = rs;

    return NGX_OK;
}


static ngx_int_t
ngx_http_ipng_stats_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_ipng_stats_main_conf_t  *osmcf = data;

    size_t                            len;
    uint64_t                         *b;
    ngx_uint_t                        i;
    ngx_slab_pool_t                  *shpool;
    ngx_http_ipng_stats_sh_t         *sh;
    ngx_http_ipng_stats_main_conf_t  *smcf;

    smcf = shm_zone->data;

    if (osmcf) {
        if (ngx_http_ipng_stats_zone_compatible(shm_zone, smcf, osmcf->sh)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        smcf->sh = osmcf->sh;

        /* a new stats process: a fresh respawn-storm budget */

        smcf->sh->jvm_start_attempts = 0;
        smcf->sh->jvm_start_ok = 0;

        return ngx_http_ipng_stats_intern_tags(shm_zone, smcf);
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        /* Windows only: the zone is inherited, its data pointer with it */
        smcf->sh = shpool->data;
        return ngx_http_ipng_stats_zone_compatible(shm_zone, smcf, smcf->sh);
    }

    len = shpool->pfree << ngx_pagesize_shift;

    sh = ngx_slab_alloc(shpool, len);
    if (sh == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "cannot allocate %uz bytes in ipng_stats_zone \"%V\"",
                      len, &shm_zone->shm.name);
        return NGX_ERROR;
    }

    ngx_memzero(sh, len);

    sh->magic = NGX_HTTP_IPNG_STATS_MAGIC;
    sh->layout_version = NGX_HTTP_IPNG_STATS_LAYOUT_VERSION;
    sh->header_length = NGX_HTTP_IPNG_STATS_HEADER_LENGTH;
    sh->zone_length = len;
    sh->status_mode = smcf->status_mode;
    sh->shm_size = shm_zone->shm.size;

    b = smcf->buckets->elts;
    sh->bucket_count = smcf->buckets->nelts;

    for (i = 0; i < smcf->buckets->nelts; i++) {
        sh->buckets[i] = b[i];
    }

    shpool->data = sh;
    smcf->sh = sh;

    return ngx_http_ipng_stats_intern_tags(shm_zone, smcf);
}


/*
 * Before the workers start: every tag of this configuration gets its
 * place in the zone, and its index becomes the source id of its records.
 * Tags are never removed, so a zone holds at most 255 over its life.
 */

static ngx_int_t
ngx_http_ipng_stats_intern_tags(ngx_shm_zone_t *shm_zone,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    ngx_int_t    index;
    ngx_str_t   *tag;
    ngx_uint_t   i;

    smcf->tag_index = ngx_palloc(smcf->tags.pool,
                                 smcf->tags.nelts * sizeof(uint32_t));
    if (smcf->tag_index == NULL) {
        return NGX_ERROR;
    }

    tag = smcf->tags.elts;

    for (i = 0; i < smcf->tags.nelts; i++) {
        index = ngx_http_ipng_stats_intern(smcf->sh, &tag[i]);

        if (index == NGX_ERROR) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "ipng_stats_zone \"%V\" holds %d source tags "
                          "already, the most it can (tags stay for the "
                          "zone's life); use a new zone name or restart "
                          "nginx", &shm_zone->shm.name,
                          NGX_HTTP_IPNG_STATS_TAG_CAPACITY - 1);
            return NGX_ERROR;
        }

        smcf->tag_index[i] = (uint32_t) index;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_ipng_stats_intern(ngx_http_ipng_stats_sh_t *sh, ngx_str_t *tag)
{
    u_char      *table, *entry;
    uint64_t     hash, state, ready, *used;
    ngx_uint_t   i, probe;

    table = (u_char *) sh + NGX_HTTP_IPNG_STATS_TAG_TABLE;
    used = (uint64_t *) ((u_char *) sh + NGX_HTTP_IPNG_STATS_TAGS_USED);
    ready = NGX_HTTP_IPNG_STATS_TAG_READY | (uint64_t) tag->len << 8;

    hash = 0xcbf29ce484222325ULL;

    for (i = 0; i < tag->len; i++) {
        hash = (hash ^ tag->data[i]) * 0x100000001b3ULL;
    }

    i = hash % NGX_HTTP_IPNG_STATS_TAG_CAPACITY;

    for (probe = 0; probe < NGX_HTTP_IPNG_STATS_TAG_CAPACITY; probe++) {
        entry = table + i * NGX_HTTP_IPNG_STATS_TAG_ENTRY;
        state = __atomic_load_n((uint64_t *) entry, __ATOMIC_ACQUIRE);

        if (state == 0) {
            if (*used >= NGX_HTTP_IPNG_STATS_TAG_CAPACITY - 1) {
                return NGX_ERROR;
            }

            ngx_memcpy(entry + NGX_HTTP_IPNG_STATS_TAG_TEXT_AT, tag->data,
                       tag->len);
            __atomic_store_n((uint64_t *) entry, ready, __ATOMIC_RELEASE);
            (void) __atomic_fetch_add(used, 1, __ATOMIC_RELAXED);

            return i;
        }

        if (state == ready
            && ngx_memcmp(entry + NGX_HTTP_IPNG_STATS_TAG_TEXT_AT, tag->data,
                          tag->len) == 0)
        {
            return i;
        }

        i = (i + 1) % NGX_HTTP_IPNG_STATS_TAG_CAPACITY;
    }

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_ipng_stats_zone_compatible(ngx_shm_zone_t *shm_zone,
    ngx_http_ipng_stats_main_conf_t *smcf, ngx_http_ipng_stats_sh_t *sh)
{
    uint64_t    *b;
    ngx_uint_t   i, same;

    if (sh->magic != NGX_HTTP_IPNG_STATS_MAGIC
        || sh->layout_version != NGX_HTTP_IPNG_STATS_LAYOUT_VERSION
        || sh->header_length != NGX_HTTP_IPNG_STATS_HEADER_LENGTH)
    {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "ipng_stats_zone \"%V\" was written by an incompatible "
                      "version of the module (layout %uD, this one "
                      "understands %d); use a new zone name or restart nginx",
                      &shm_zone->shm.name, sh->layout_version,
                      NGX_HTTP_IPNG_STATS_LAYOUT_VERSION);
        return NGX_ERROR;
    }

    b = smcf->buckets->elts;
    same = (sh->bucket_count == smcf->buckets->nelts);

    for (i = 0; same && i < smcf->buckets->nelts; i++) {
        same = (sh->buckets[i] == b[i]);
    }

    if (!same) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "ipng_stats_zone \"%V\" holds histograms with other "
                      "\"ipng_stats_buckets\" than this configuration; "
                      "the running workers keep writing them, so to change "
                      "the buckets use a new zone name (counters start "
                      "from zero) or restart nginx", &shm_zone->shm.name);
        return NGX_ERROR;
    }

    if (sh->status_mode != smcf->status_mode) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "ipng_stats_zone \"%V\" counts status codes as %s, "
                      "this configuration as %s; use a new zone name or "
                      "restart nginx to change \"ipng_stats_status_codes\"",
                      &shm_zone->shm.name,
                      sh->status_mode ? "classes" : "exact codes",
                      smcf->status_mode ? "classes" : "exact codes");
        return NGX_ERROR;
    }

    return NGX_OK;
}
