
/*
 * Copyright (C) IPng Networks GmbH
 *
 * Configuration-time checks of the JVM, in the master, so that "nginx -t"
 * reports them: find libjvm.so ("ipng_stats_jvm", else $JAVA_HOME, else
 * /usr/lib/jvm/default-java, else the java on PATH) and check that the
 * worker user can read it and the jar.
 */


#include "ngx_http_ipng_stats_module.h"

#include <pwd.h>
#include <grp.h>


static ngx_int_t ngx_http_ipng_stats_find_libjvm(ngx_conf_t *cf,
    ngx_str_t *home, const char *from, ngx_str_t *libjvm);
static ngx_int_t ngx_http_ipng_stats_readable(const char *path, uid_t uid,
    gid_t gid, const char *user, const char **why);


static const char  *ngx_http_ipng_stats_libjvm_paths[] = {
    "/lib/server/libjvm.so",
    "/jre/lib/server/libjvm.so",
    "/jre/lib/amd64/server/libjvm.so",
    "/lib/aarch64/server/libjvm.so",
    NULL
};


char *
ngx_http_ipng_stats_jvm_check(ngx_conf_t *cf,
    ngx_http_ipng_stats_main_conf_t *smcf)
{
    uid_t             uid;
    gid_t             gid;
    u_char           *p;
    ngx_str_t         home;
    const char       *user, *why, *env;
    struct group     *grp;
    struct passwd    *pwd;
    ngx_core_conf_t  *ccf;

    if (smcf->jvm.len) {
        home = smcf->jvm;

    } else {
        env = getenv("JAVA_HOME");
        home.data = (u_char *) env;
        home.len = env ? ngx_strlen(env) : 0;
    }

    if (ngx_http_ipng_stats_find_libjvm(cf, &home,
                                        smcf->jvm.len ? "ipng_stats_jvm"
                                                      : "$JAVA_HOME",
                                        &smcf->libjvm)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* the workers load the JVM after setuid(): check as that user */

    ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                           ngx_core_module);

    uid = geteuid();
    gid = getegid();
    user = "the current user";

    if (ccf->user != (uid_t) NGX_CONF_UNSET_UINT) {
        uid = ccf->user;
        gid = ccf->group;
        user = ccf->username;

    } else if (uid == 0) {
        pwd = getpwnam(NGX_USER);
        grp = getgrnam(NGX_GROUP);

        if (pwd && grp) {
            uid = pwd->pw_uid;
            gid = grp->gr_gid;
            user = NGX_USER;
        }
    }

    if (ngx_http_ipng_stats_readable((char *) smcf->libjvm.data, uid, gid,
                                     user, &why)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ipng_stats: the JVM library \"%V\" %s",
                           &smcf->libjvm, why);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, smcf->classpath.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn(p, smcf->classpath.data, smcf->classpath.len + 1);

    if (ngx_http_ipng_stats_readable((char *) p, uid, gid, user, &why)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ipng_stats: the jar \"%V\" %s; set "
                           "\"ipng_stats_classpath\" to the ipng-stats.jar "
                           "that belongs to this module",
                           &smcf->classpath, why);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_ipng_stats_find_libjvm(ngx_conf_t *cf, ngx_str_t *home,
    const char *from, ngx_str_t *libjvm)
{
    char           *java, *real, *path, *dir, *end;
    size_t          len;
    ngx_str_t       try[3];
    ngx_uint_t      i, j, n;
    ngx_file_info_t fi;

    n = 0;

    if (home->len) {
        try[n++] = *home;

    } else {
        ngx_str_set(&try[n], "/usr/lib/jvm/default-java");
        n++;

        /* the JDK that owns the "java" on PATH */

        path = getenv("PATH");

        for (dir = path; dir && *dir; dir = end + (*end ? 1 : 0)) {
            end = ngx_strchr(dir, ':');
            if (end == NULL) {
                end = dir + ngx_strlen(dir);
            }

            len = end - dir;

            java = (char *) ngx_pnalloc(cf->temp_pool, len + sizeof("/java"));
            if (java == NULL) {
                return NGX_ERROR;
            }

            ngx_sprintf((u_char *) java, "%*s/java%Z", len, dir);

            real = realpath(java, NULL);
            if (real == NULL) {
                continue;
            }

            len = ngx_strlen(real);

            if (len > sizeof("/bin/java") - 1
                && ngx_strcmp(real + len - (sizeof("/bin/java") - 1),
                              "/bin/java") == 0)
            {
                try[n].len = len - (sizeof("/bin/java") - 1);
                try[n].data = ngx_pnalloc(cf->pool, try[n].len);
                if (try[n].data == NULL) {
                    free(real);
                    return NGX_ERROR;
                }

                ngx_memcpy(try[n].data, real, try[n].len);
                n++;
            }

            free(real);
            break;
        }
    }

    for (i = 0; i < n; i++) {

        /* a path to libjvm.so itself */

        path = (char *) ngx_pnalloc(cf->pool, try[i].len + 64);
        if (path == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf((u_char *) path, "%V%Z", &try[i]);

        if (ngx_file_info(path, &fi) == 0 && ngx_is_file(&fi)) {
            libjvm->data = (u_char *) path;
            libjvm->len = ngx_strlen(path);
            return NGX_OK;
        }

        for (j = 0; ngx_http_ipng_stats_libjvm_paths[j]; j++) {
            ngx_sprintf((u_char *) path, "%V%s%Z", &try[i],
                        ngx_http_ipng_stats_libjvm_paths[j]);

            if (ngx_file_info(path, &fi) == 0 && ngx_is_file(&fi)) {
                libjvm->data = (u_char *) path;
                libjvm->len = ngx_strlen(path);
                return NGX_OK;
            }
        }
    }

    if (home->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ipng_stats: no libjvm.so at or under \"%V\" "
                           "(from %s); point \"ipng_stats_jvm\" at a Java "
                           "17+ home or at its lib/server/libjvm.so",
                           home, from);
    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ipng_stats: cannot find a JVM (looked at "
                           "$JAVA_HOME, /usr/lib/jvm/default-java and the "
                           "java on PATH); install a Java 17+ runtime "
                           "(apt-get install openjdk-17-jre-headless) or set "
                           "\"ipng_stats_jvm\"");
    }

    return NGX_ERROR;
}


/*
 * Can "uid" (primary group "gid", plus its supplementary groups) read
 * "path"?  Walks every directory on the way, as the kernel would.
 */

static ngx_int_t
ngx_http_ipng_stats_readable(const char *path, uid_t uid, gid_t gid,
    const char *user, const char **why)
{
    int               ngroups, k;
    char              buf[NGX_MAX_PATH], *p;
    gid_t             groups[64];
    mode_t            need, bits;
    ngx_uint_t        in_group;
    struct stat       st;

    if (stat(path, &st) == -1) {
        *why = "does not exist";
        return NGX_ERROR;
    }

    if (!S_ISREG(st.st_mode)) {
        *why = "is not a regular file";
        return NGX_ERROR;
    }

    if (uid == 0) {
        return NGX_OK;
    }

    ngroups = 64;

    if (getgrouplist(user, gid, groups, &ngroups) == -1) {
        groups[0] = gid;
        ngroups = 1;
    }

    if (ngx_strlen(path) >= sizeof(buf)) {
        *why = "has too long a path";
        return NGX_ERROR;
    }

    (void) ngx_cpystrn((u_char *) buf, (u_char *) path, sizeof(buf));

    /* check the file, then each parent directory */

    need = S_IROTH;
    p = buf + ngx_strlen(buf);

    for ( ;; ) {
        if (stat(buf[0] ? buf : "/", &st) == -1) {
            *why = "cannot be examined";
            return NGX_ERROR;
        }

        in_group = 0;
        for (k = 0; k < ngroups; k++) {
            if (st.st_gid == groups[k]) {
                in_group = 1;
            }
        }

        if (st.st_uid == uid) {
            bits = (st.st_mode >> 6) & 7;

        } else if (in_group) {
            bits = (st.st_mode >> 3) & 7;

        } else {
            bits = st.st_mode & 7;
        }

        if ((bits & need) != need) {
            *why = (need == S_IROTH)
                   ? "is not readable by the worker user"
                   : "is in a directory the worker user cannot enter";
            return NGX_ERROR;
        }

        if (p == buf) {
            break;
        }

        while (p > buf && *p != '/') {
            p--;
        }

        *p = '\0';
        need = S_IXOTH;
    }

    (void) user;

    return NGX_OK;
}
