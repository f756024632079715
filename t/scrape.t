# The scrape location: formats, content types, methods, caching headers,
# and that it never counts itself.
use Test::Nginx::Socket 'no_plan';
run_tests();

__DATA__

=== TEST 1: Prometheus text 0.0.4 by default, with the reference's metric families
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    location /status { ipng_stats; }
    location / { return 200 "ok\n"; }
--- pre_requests
GET / x3
--- shell
sleep 1.2
--- request
GET /status
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
Cache-Control: no-store
--- response_body_like
^# TYPE nginx_ipng_requests_total counter$.*^nginx_ipng_requests_total\{source_tag="direct",vip="127.0.0.1",code="200",\} 3\.0$.*^# TYPE nginx_ipng_request_duration_seconds histogram$.*^# TYPE nginx_ipng_zone_full_events_total counter$
--- no_error_log
[error]
[alert]



=== TEST 2: the scrape location is never counted
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    location /status { ipng_stats; }
--- pre_requests
GET /status x5
--- request
GET /status
--- response_body_unlike
nginx_ipng_requests_total\{



=== TEST 3: JSON when Accept asks for it
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    location /status { ipng_stats; }
    location / { return 404; }
--- pre_requests
GET /missing x2
--- shell
sleep 1.2
--- request
GET /status
--- more_headers
Accept: application/json
--- response_headers_like
Content-Type: ^application/json
--- response_body_like
^\{"schema":1,"by_source":\{"direct":\{"vips":\{"127\.0\.0\.1":\{.*"codes":\{"404":\{"requests":2,



=== TEST 4: OpenMetrics when Accept asks for it, ending in # EOF
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    location /status { ipng_stats; }
--- request
GET /status
--- more_headers
Accept: application/openmetrics-text; version=1.0.0
--- response_headers_like
Content-Type: ^application/openmetrics-text; version=1\.0\.0
--- response_body_like
# EOF\n\z



=== TEST 5: HEAD gets the headers only; POST is not allowed
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    location /status { ipng_stats; }
--- pipelined_requests
HEAD /status
POST /status
--- error_code
200
405



=== TEST 6: a location with "ipng_stats off" is not counted, its neighbours are
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    location /status { ipng_stats; }
    location /quiet { ipng_stats off; return 204; }
    location / { return 200; }
--- pre_requests
GET /quiet x4
GET / x2
--- shell
sleep 1.2
--- request
GET /status
--- response_body_like
code="200",\} 2\.0$
--- response_body_unlike
code="204"



=== TEST 7: filters by source_tag and vip; unknown values give an empty, valid document
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_default_source edge;
--- config
    location /status { ipng_stats; }
    location / { return 200; }
--- pre_requests
GET / x2
--- shell
sleep 1.2
--- request
GET /status?source_tag=nope&vip=127.0.0.1
--- response_body_unlike
nginx_ipng_requests_total\{
--- response_body_like
^# TYPE nginx_ipng_requests_total counter$



=== TEST 8: allow/deny on the scrape location
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    location /status { ipng_stats; deny all; }
--- request
GET /status
--- error_code: 403



=== TEST 9: source tags from the configuration are escaped in Prometheus text (quotes, backslashes, UTF-8; control characters are refused by nginx -t)
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_default_source "q\"b\\sl-ü";
--- config
    location /status { ipng_stats; }
    location / { return 200; }
--- pre_requests
GET /
--- shell
sleep 1.2
--- request
GET /status
--- response_body_like
^nginx_ipng_requests_total\{source_tag="q\\"b\\\\sl-ü",vip="127\.0\.0\.1",code="200",\} 1\.0$



=== TEST 10: the same tag in JSON
--- http_config
    ipng_stats_zone ipng:1m;
    ipng_stats_default_source "q\"b\\sl-ü";
--- config
    location /status { ipng_stats; }
    location / { return 200; }
--- pre_requests
GET /
--- shell
sleep 1.2
--- request
GET /status
--- more_headers
Accept: application/json
--- response_body_like
"by_source":\{"q\\"b\\\\sl-ü":\{"vips":\{"127\.0\.0\.1"



=== TEST 11: a scrape over HTTP/2 (the request waits for the render thread on a stream)
--- http2
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    location /status { ipng_stats; }
--- request
GET /status
--- response_body_like
^# TYPE nginx_ipng_requests_total counter$



=== TEST 12: gzip when Accept-Encoding asks for it: the counts of the access log, plain or unpacked, never compressed twice
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    access_log logs/counted.log;
    location /status { ipng_stats; access_log off; gzip on; gzip_types text/plain application/json; gzip_min_length 1; }
    location / { return 200 "ok\n"; }
    location /gone { return 404; }
--- pre_requests
GET / x7
GET /gone x3
--- shell
sleep 1.2
status=http://127.0.0.1:$TEST_NGINX_SERVER_PORT/status
curl -sS -D plain.h -o plain.txt "$status"
curl -sS -D gz.h -o gz.body -H 'Accept-Encoding: gzip' "$status"
curl -sS -D json.h -o json.gz -H 'Accept-Encoding: deflate, gzip;q=0.8' -H 'Accept: application/json' "$status"
grep -qi '^Content-Encoding: gzip' gz.h || { echo "no Content-Encoding: gzip"; cat gz.h; exit 1; }
grep -qi '^Content-Encoding: gzip' json.h || { echo "JSON: no Content-Encoding: gzip"; cat json.h; exit 1; }
if grep -qi '^Content-Encoding' plain.h; then echo "plain answer encoded"; cat plain.h; exit 1; fi
gunzip -c gz.body > gz.txt            # fails on a body compressed twice
gunzip -c json.gz > json.txt
[ "$(wc -c < gz.body)" -lt "$(wc -c < gz.txt)" ]
for code in 200 404; do
    n=$(awk -v c=$code '$9 == c' logs/counted.log | wc -l)
    for f in plain.txt gz.txt; do
        grep -qx "nginx_ipng_requests_total{source_tag=\"direct\",vip=\"127.0.0.1\",code=\"$code\",} $n.0" $f \
            || { echo "$f: code $code is not $n"; grep requests_total $f; exit 1; }
    done
    grep -q "\"$code\":{\"requests\":$n," json.txt || { echo "json: code $code is not $n"; cat json.txt; exit 1; }
done
# the same document, but for the scrape's own metrics and the rates of the second between
strip() { grep -v -e '^nginx_ipng_scrape_duration' -e '^nginx_ipng_flush' -e '^nginx_ipng_rate_' "$1"; }
diff <(strip plain.txt) <(strip gz.txt)
--- request
GET /status
--- more_headers
Accept-Encoding: gzip
--- response_headers
Content-Encoding: gzip
Vary: Accept, Accept-Encoding
--- no_error_log
[error]
[alert]



=== TEST 13: gzip answers that reuse the unchanged parts of the last one: the access log's counts, scrape after scrape
--- http_config
    ipng_stats_zone ipng:1m;
--- config
    access_log logs/counted.log;
    location /status { ipng_stats; access_log off; }
    location / { return 200 "ok\n"; }
    location /gone { return 404; }
--- pre_requests
GET / x3
GET /gone x2
--- shell
status=http://127.0.0.1:$TEST_NGINX_SERVER_PORT/status
strip() { grep -v -e '^nginx_ipng_scrape_duration' -e '^nginx_ipng_flush' -e '^nginx_ipng_rate_' "$1"; }
# nothing new, then 200s, nothing new again, then 404s: each answer spliced from
# the last one where its counts did not change, rendered anew where they did
for round in 1 2 3 4; do
    [ $round = 2 ] && for i in 1 2 3 4 5; do curl -sS -o /dev/null "http://127.0.0.1:$TEST_NGINX_SERVER_PORT/"; done
    [ $round = 4 ] && for i in 1 2 3; do curl -sS -o /dev/null "http://127.0.0.1:$TEST_NGINX_SERVER_PORT/gone"; done
    sleep 1.2
    curl -sS -o gz.body -H 'Accept-Encoding: gzip' "$status"
    gunzip -c gz.body > gz.txt
    curl -sS -o plain.txt "$status"
    for code in 200 404; do
        n=$(awk -v c=$code '$9 == c' logs/counted.log | wc -l)
        grep -qx "nginx_ipng_requests_total{source_tag=\"direct\",vip=\"127.0.0.1\",code=\"$code\",} $n.0" gz.txt \
            || { echo "round $round: code $code is not $n"; grep requests_total gz.txt; exit 1; }
    done
    diff <(strip plain.txt) <(strip gz.txt) || { echo "round $round: plain and gzip differ"; exit 1; }
done
[ "$(awk '$9 == 200' logs/counted.log | wc -l)" = 8 ] && [ "$(awk '$9 == 404' logs/counted.log | wc -l)" = 5 ]
--- request
GET /status
--- no_error_log
[error]
[alert]
