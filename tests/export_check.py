#!/usr/bin/python3
"""export_check.py - helpers for e2e_export.sh (Debian's /usr/bin/python3).

  export_check.py query PROM_URL EXPR
      Prometheus's /api/v1/query: one line per result, "VALUE {labels as JSON}",
      sorted; nothing for an empty result. Exit 1 if the API says error.
  export_check.py parse FORMAT FILE
      Parses FILE with python3-prometheus-client's parser for FORMAT
      (text: 0.0.4, openmetrics: OpenMetrics 1.0, strict); prints
      "families N samples N". Exit 1 on a parse error (printed).
  export_check.py series FILE
      The series of an exposition (either format), one "name{sorted labels}" a
      line, without values and without ringmon_export_* (the exporter's own).
  export_check.py p99 PROM_SECONDS STATS_NS FILE
      Exit 0 if Prometheus's histogram_quantile(0.99) (seconds) and ringmon
      stats's p99 (ns) lie in the same bucket of the le bounds found in FILE (an
      exposition) and differ by at most its width; prints both and the bucket.
  export_check.py get URL [ACCEPT]
      GET URL: prints the status, the Content-Type, then the body.
"""
import json
import re
import sys
import urllib.parse
import urllib.request


def query(prom, expr):
    url = prom + '/api/v1/query?' + urllib.parse.urlencode({'query': expr})
    with urllib.request.urlopen(url, timeout=10) as r:
        d = json.load(r)
    if d.get('status') != 'success':
        print(d, file=sys.stderr)
        return 1
    res = d['data']['result']
    if d['data']['resultType'] == 'scalar':
        print(res[1])
        return 0
    lines = sorted('%s %s' % (x['value'][1], json.dumps(x['metric'], sort_keys=True)) for x in res)
    for line in lines:
        print(line)
    return 0


def families(fmt, text):
    if fmt == 'openmetrics':
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    else:
        from prometheus_client.parser import text_string_to_metric_families
    return list(text_string_to_metric_families(text))


def parse(fmt, path):
    try:
        fams = families(fmt, open(path, encoding='utf-8').read())
    except Exception as e:  # the parsers raise ValueError and others
        print('parse error (%s): %s' % (fmt, e))
        return 1
    print('families %d samples %d' % (len(fams), sum(len(f.samples) for f in fams)))
    return 0


def series(path):
    text = open(path, encoding='utf-8').read()
    fams = families('openmetrics' if text.rstrip().endswith('# EOF') else 'text', text)
    out = set()
    for f in fams:
        if f.name.startswith('ringmon_export_'):
            continue
        for s in f.samples:
            out.add('%s{%s}' % (s.name, ','.join('%s=%s' % kv for kv in sorted(s.labels.items()))))
    for line in sorted(out):
        print(line)
    return 0


def p99(prom_s, stats_ns, path):
    pq, sp = float(prom_s) * 1e9, float(stats_ns)
    les = sorted({float(m) * 1e9 for m in re.findall(r'le="([0-9.e+-]+)"', open(path).read())})
    if not les:
        print('  p99: no le bounds in %s' % path)
        return 1
    lo = max([b for b in les if b <= sp], default=0.0)
    hi = min([b for b in les if b > sp], default=float('inf'))
    print(f'  p99: Prometheus {pq:.0f} ns, stats {sp:.0f} ns, bucket [{lo:.0f}, {hi:.0f}) ns')
    return 0 if lo <= pq <= hi and abs(pq - sp) <= hi - lo else 1


def get(url, accept=None):
    req = urllib.request.Request(url, headers={'Accept': accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            print(r.status)
            print(r.headers.get('Content-Type'))
            sys.stdout.write(r.read().decode('utf-8'))
    except urllib.error.HTTPError as e:
        print(e.code)
        print(e.headers.get('Content-Type'))
        sys.stdout.write(e.read().decode('utf-8', 'replace'))
    return 0


if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    sys.exit({'query': query, 'parse': parse, 'series': series, 'p99': p99, 'get': get}[cmd](*args))
