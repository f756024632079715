#!/usr/bin/env bash
# Builds ngx_http_ipng_stats_module.so against an nginx source tree and copies
# it to the dist directory.  Called by "mvn package" (see pom.xml); usable by
# hand:  native/build.sh [NGINX_SRC] [DIST_DIR] [EXTRA_CONFIGURE_ARGS]
#
# NGINX_SRC defaults to Debian's nginx-dev tree (/usr/share/nginx/src), whose
# conf_flags file holds the flags the stock /usr/sbin/nginx was built with, so
# the module loads into it.  Any other tree (an nginx.org tarball, say) is
# configured with --with-compat plus EXTRA_CONFIGURE_ARGS: give the flags your
# nginx binary was built with (nginx -V) so that its module signature matches.
#
# The tree is copied into target/ first: nginx's configure writes a Makefile
# into the tree it runs from, and /usr/share/nginx/src belongs to root.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-/usr/share/nginx/src}
dist=${2:-$repo/target/dist}
extra=${3:-}
# a sanitizer build, say, goes to a tree of its own:
#   IPNG_BUILD_DIR=target/asan-build IPNG_CFLAGS="-fsanitize=address" ...
work=${IPNG_BUILD_DIR:-$repo/target/nginx-build}
ccopt="-fPIC ${IPNG_CFLAGS:-}"
ldopt="-fPIC ${IPNG_LDFLAGS:-}"

if [ ! -x "$src/configure" ]; then
    echo "native/build.sh: no nginx source tree at '$src' (no configure there)." >&2
    echo "  On Debian: apt-get install nginx-dev; or pass -Dnginx.src=/path/to/nginx-x.y.z" >&2
    exit 1
fi

flags=()
if [ -f "$src/conf_flags" ]; then
    # shellcheck disable=SC1091
    . "$src/conf_flags"
    flags=("${NGX_CONF_FLAGS[@]}")
else
    flags=(--with-compat)
fi
# shellcheck disable=SC2206
flags+=($extra)

stamp="$src ${flags[*]} $ccopt $ldopt $(cksum < "$repo/config")"
if [ ! -f "$work/stamp" ] || [ "$(cat "$work/stamp")" != "$stamp" ]; then
    rm -rf "$work"
    mkdir -p "$work"
    cp -a "$src" "$work/src"
    (cd "$work/src" && ./configure --with-cc-opt="$ccopt" --with-ld-opt="$ldopt" \
        "${flags[@]}" --add-dynamic-module="$repo" --builddir="$work/objs") \
        > "$work/configure.log" 2>&1 || {
            cat "$work/configure.log" >&2
            echo "native/build.sh: nginx configure failed (log above)" >&2
            exit 1
        }
    echo "$stamp" > "$work/stamp"
fi

make -s -C "$work/src" -f "$work/objs/Makefile" modules
mkdir -p "$dist"
# a new inode: running nginx processes keep mapping the old library
cp "$work/objs/ngx_http_ipng_stats_module.so" "$dist/.ngx_http_ipng_stats_module.so.$$"
mv -f "$dist/.ngx_http_ipng_stats_module.so.$$" "$dist/ngx_http_ipng_stats_module.so"
