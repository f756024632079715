# Sourced by the scripts that install Debian packages: apt_install PKG...
# installs them (via sudo when not root) without letting their maintainer
# scripts start, stop or reload any service: the nginx package would start
# a server on port 80, and nothing here may touch an nginx it did not
# start.  A temporary /usr/sbin/policy-rc.d that says "no" (exit 101) is
# put in place only if there is none, and removed again.

apt_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    local policy=
    [ $# -gt 0 ] || return 0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        apt_as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    fi
    local rc=0
    apt_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || rc=$?
    if [ $rc = 0 ]; then
        apt_as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
    fi
    [ -z "$policy" ] || apt_as_root rm -f "$policy"
    return $rc
}
