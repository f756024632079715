
/*
 * Copyright (C) IPng Networks GmbH
 *
 * Listen parameters device= and ipng_source_tag= (being written).
 */


#include "ngx_http_ipng_stats_module.h"
