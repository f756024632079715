# ipng_stats_logtail: nginx -t errors naming the value; lines over UDP to a
# receiver of our own (python3, in --- shell): exactly one line per request,
# whole lines per datagram, if= filtering, buffer-full flushing, the final
# flush of old workers on reload, no receiver, no JVM.
use Test::Nginx::Socket 'no_plan';
run_tests();

__DATA__

=== TEST 1: nginx -t refuses an unknown log format
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail nosuch udp://127.0.0.1:9514;
--- must_die
--- error_log
unknown log format "nosuch"



=== TEST 2: nginx -t refuses a hostname
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt udp://localhost:9514;
--- must_die
--- error_log
host "localhost" in "udp://localhost:9514" of "ipng_stats_logtail" is not an IPv4 address



=== TEST 3: nginx -t refuses an IPv6 host
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt udp://[::1]:9514;
--- must_die
--- error_log
host "[::1]" in "udp://[::1]:9514" of "ipng_stats_logtail" is not an IPv4 address



=== TEST 4: nginx -t refuses a port out of range
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt udp://127.0.0.1:70000;
--- must_die
--- error_log
invalid port "70000" in "udp://127.0.0.1:70000"



=== TEST 5: nginx -t refuses port zero
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt udp://127.0.0.1:0;
--- must_die
--- error_log
invalid port "0" in "udp://127.0.0.1:0"



=== TEST 6: nginx -t refuses a port that is not a number
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt udp://127.0.0.1:syslog;
--- must_die
--- error_log
invalid port "syslog"



=== TEST 7: nginx -t refuses no port
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt udp://127.0.0.1;
--- must_die
--- error_log
invalid destination "udp://127.0.0.1"



=== TEST 8: nginx -t refuses not udp://
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt tcp://127.0.0.1:9514;
--- must_die
--- error_log
invalid destination "tcp://127.0.0.1:9514"



=== TEST 9: nginx -t refuses a buffer under the minimum
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt udp://127.0.0.1:9514 buffer=512;
--- must_die
--- error_log
invalid buffer size "512" in "ipng_stats_logtail", it must be a size of at least 1k



=== TEST 10: nginx -t refuses a buffer that is not a size
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt udp://127.0.0.1:9514 buffer=big;
--- must_die
--- error_log
invalid buffer size "big"



=== TEST 11: nginx -t refuses a flush time under the minimum
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt udp://127.0.0.1:9514 flush=50ms;
--- must_die
--- error_log
invalid flush time "50ms" in "ipng_stats_logtail", it must be a time of at least 100ms



=== TEST 12: nginx -t refuses a flush time that is not a time
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt udp://127.0.0.1:9514 flush=soon;
--- must_die
--- error_log
invalid flush time "soon"



=== TEST 13: nginx -t refuses an unknown parameter
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt udp://127.0.0.1:9514 gzip=1;
--- must_die
--- error_log
invalid parameter "gzip=1" in "ipng_stats_logtail"



=== TEST 14: nginx -t refuses the directive twice
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt udp://127.0.0.1:9514;
    ipng_stats_logtail lt udp://127.0.0.1:9515;
--- must_die
--- error_log
"ipng_stats_logtail" directive is duplicate



=== TEST 15: nginx -t refuses a format defined after the directive
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail later udp://127.0.0.1:9514;
    log_format later '$status';
--- must_die
--- error_log
unknown log format "later"



=== TEST 16: nginx -t refuses the directive outside the http block
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
--- config
    location / { ipng_stats_logtail lt udp://127.0.0.1:9514; }
--- must_die
--- error_log
"ipng_stats_logtail" directive is not allowed here



=== TEST 17: N requests from 4 clients on 2 workers give exactly N whole lines with the expected fields
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status $ipng_source_tag $server_addr $pid';
    ipng_stats_logtail lt udp://127.0.0.1:$TEST_NGINX_SERVER_PORT2 flush=100ms;
--- config
    location /t { return 200 "ok\n"; }
--- shell
. "$TEST_NGINX_T_DIR/lib/logtail.sh"
recv_start 200 '/t\?c=[0-9]+&i=[0-9]+ 200 direct 127\.0\.0\.1 [0-9]+' 65507
pids=()
for c in 1 2 3 4; do get $c 1 50 /t & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
recv_wait
--- request
GET /t
--- no_error_log
[error]
[alert]



=== TEST 18: lines of old workers are sent when they exit on reload, none lost or doubled
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status $ipng_source_tag $server_addr $pid';
    ipng_stats_logtail lt udp://127.0.0.1:$TEST_NGINX_SERVER_PORT2 flush=10s;
--- config
    location /t { return 200 "ok\n"; }
--- shell
. "$TEST_NGINX_T_DIR/lib/logtail.sh"
recv_start 240 '/t\?c=[0-9]+&i=[0-9]+ 200 direct 127\.0\.0\.1 [0-9]+' 65507 3
get 1 1 40 /t & p1=$!; get 2 1 40 /t & p2=$!; wait "$p1"; wait "$p2"
"$TEST_NGINX_BINARY" -p "$TEST_NGINX_PREFIX/" -c conf/nginx.conf -s reload
sleep 1
get 3 1 40 /t & p1=$!; get 4 1 40 /t & p2=$!; wait "$p1"; wait "$p2"
"$TEST_NGINX_BINARY" -p "$TEST_NGINX_PREFIX/" -c conf/nginx.conf -s reload
sleep 1
get 5 1 40 /t & p1=$!; get 6 1 40 /t & p2=$!; wait "$p1"; wait "$p2"
"$TEST_NGINX_BINARY" -p "$TEST_NGINX_PREFIX/" -c conf/nginx.conf -s reload
sleep 1
recv_wait
--- request
GET /t
--- no_error_log
[error]
[alert]



=== TEST 19: if= drops the line before rendering, the request is still counted
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status $ipng_source_tag $server_addr $pid';
    map $arg_c $lt_keep { 0 0; 9 ""; default 1; }
    ipng_stats_logtail lt udp://127.0.0.1:$TEST_NGINX_SERVER_PORT2 flush=100ms if=$lt_keep;
--- config
    location /t { return 200 "ok\n"; }
    location /status { ipng_stats; }
--- shell
. "$TEST_NGINX_T_DIR/lib/logtail.sh"
recv_start 30 '/t\?c=[12]&i=[0-9]+ 200 direct 127\.0\.0\.1 [0-9]+' 65507
get 0 1 30 /t
get 1 1 15 /t
get 2 1 15 /t
get 9 1 30 /t
recv_wait
sleep 1.2
--- request
GET /status
--- response_body_like
^nginx_ipng_requests_total\{source_tag="direct",vip="127.0.0.1",code="200",\} 90\.0$
--- no_error_log
[error]
[alert]



=== TEST 20: a full 1k buffer is sent at once, in datagrams of whole lines of at most 1k
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status $ipng_source_tag $server_addr $pid';
    ipng_stats_logtail lt udp://127.0.0.1:$TEST_NGINX_SERVER_PORT2 buffer=1k flush=10s;
--- config
    location /t { return 200 "ok\n"; }
--- shell
. "$TEST_NGINX_T_DIR/lib/logtail.sh"
recv_start 150 '/t\?c=[0-9]+&i=[0-9]+ 200 direct 127\.0\.0\.1 [0-9]+' 1024 2 6
get 1 1 150 /t
"$TEST_NGINX_BINARY" -p "$TEST_NGINX_PREFIX/" -c conf/nginx.conf -s reload
recv_wait
--- request
GET /t
--- no_error_log
[error]
[alert]



=== TEST 21: a line longer than the buffer is sent alone, whole
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status';
    ipng_stats_logtail lt udp://127.0.0.1:$TEST_NGINX_SERVER_PORT2 buffer=1k flush=100ms;
--- config
    location /t { return 200 "ok\n"; }
--- shell
. "$TEST_NGINX_T_DIR/lib/logtail.sh"
recv_start 3 '/t\?c=[0-9]+&i=[0-9]+(&x=y{1500})? 200' 1600
curl -sS --fail -o /dev/null "http://127.0.0.1:$TEST_NGINX_SERVER_PORT/t?c=1&i=1" \
    -o /dev/null "http://127.0.0.1:$TEST_NGINX_SERVER_PORT/t?c=1&i=2&x=$(printf "y%.0s" $(seq 1500))" \
    -o /dev/null "http://127.0.0.1:$TEST_NGINX_SERVER_PORT/t?c=1&i=3"
recv_wait
--- request
GET /t
--- no_error_log
[error]
[alert]



=== TEST 22: no receiver: requests are served, nothing is logged
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status $ipng_source_tag $server_addr $pid';
    ipng_stats_logtail lt udp://127.0.0.1:$TEST_NGINX_SERVER_PORT2 buffer=1k flush=100ms;
--- config
    location /t { return 200 "ok\n"; }
--- pre_requests
GET /t x100
GET /t x100 keepalive
--- request
GET /t
--- wait: 0.5
--- response_body
ok
--- no_error_log
[error]
[alert]
ipng_stats_logtail



=== TEST 23: the logtail works when the JVM cannot start
--- main_config
    env JAVA_TOOL_OPTIONS=-Xss1k;
--- http_config
    ipng_stats_zone ipng:1m;
    log_format lt '$request_uri $status $ipng_source_tag $server_addr $pid';
    ipng_stats_logtail lt udp://127.0.0.1:$TEST_NGINX_SERVER_PORT2 flush=100ms;
--- config
    location /t { return 200 "ok\n"; }
--- shell
. "$TEST_NGINX_T_DIR/lib/logtail.sh"
recv_start 20 '/t\?c=[0-9]+&i=[0-9]+ 200 direct 127\.0\.0\.1 [0-9]+' 65507
get 1 1 20 /t
recv_wait
--- request
GET /t
--- error_log
ipng_stats: counting is off: JNI_CreateJavaVM
--- no_error_log
[error]
