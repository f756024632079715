# Helpers for the logtail blocks of t/logtail.t, sourced by their --- shell:
#   . "$TEST_NGINX_T_DIR/lib/logtail.sh"
#
# recv_start EXPECT PATTERN LIMIT [TIMEOUT [MIN_DATAGRAMS]]
#     starts t/lib/udp_recv.py on $TEST_NGINX_SERVER_PORT2 in the background
#     and returns once it listens (its arguments are udp_recv.py's)
# recv_wait
#     waits for its verdict; prints what it got, fails the block if it failed
# get CLIENT FIRST LAST PATH
#     GET PATH?c=CLIENT&i=FIRST..LAST on one keep-alive connection

recv_start() {
    /usr/bin/python3 "$TEST_NGINX_T_DIR/lib/udp_recv.py" "$TEST_NGINX_SERVER_PORT2" "$@" > recv.out 2>&1 &
    recv_pid=$!
    for _ in $(seq 50); do [ -e recv.ready ] && break; sleep 0.1; done
}

recv_wait() {
    wait "$recv_pid" || { cat recv.out; exit 1; }
    cat recv.out
}

get() {
    local args=() i
    for i in $(seq "$2" "$3"); do
        args+=(-o /dev/null "http://127.0.0.1:$TEST_NGINX_SERVER_PORT$4?c=$1&i=$i")
    done
    curl -sS --fail "${args[@]}"
}
