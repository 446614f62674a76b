#!/usr/bin/env python3
"""Metrics: with the shipped conf.d/90-bounceinfo-metrics.conf.example, the
bounceinfo_classified events of delivered bounces are counted by Dovecot's
stats service; the counters read from its OpenMetrics endpoint over HTTP
rise with each delivered bounce and not with ordinary mail.
Exit 0 pass, 1 fail, 77 skip."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bounceinfo_testlib import (check, corpus_missing,  # noqa: E402
                               read_corpus, srcdir, start_env)

SRCDIR = srcdir()
EXAMPLE = os.path.join(SRCDIR, "conf.d", "90-bounceinfo-metrics.conf.example")
ORDINARY = b"""\
From: Carol <carol@example.org>
To: testuser@localhost
Subject: weekend plans
Message-ID: <ordinary-3@example.org>

Hi.
"""


def counters(text):
    """{(metric, label value or None): value} of the *_total lines"""
    out = {}
    for m in re.finditer(r'^dovecot_(bounceinfo_\w+?)_total(?:\{\w+="([^"]*)"\})?'
                         r' (\d+)$', text, re.M):
        out[(m.group(1), m.group(2))] = int(m.group(3))
    return out


def wait_counters(env, want, timeout=10):
    """Poll /metrics until every (metric, label) in want has its value."""
    deadline = time.time() + timeout
    while True:
        got = counters(env.metrics())
        if all(got.get(k, 0) == v for k, v in want.items()) or \
           time.time() > deadline:
            return got
        time.sleep(0.2)


def main():
    if corpus_missing():
        return 77
    with open(EXAMPLE) as f:
        example = f.read()
    env = start_env(sieve=False, extra_conf=example)
    if env is None:
        return 77
    try:
        before = counters(env.metrics())
        check(not any(v for v in before.values()),
              "no bounce counted before any delivery: %s" % before)

        env.lmtp_deliver(read_corpus("lhost-amavis-01.eml"))
        got = wait_counters(env, {("bounceinfo_bounces", "user-unknown"): 1})
        check(got.get(("bounceinfo_bounces", "user-unknown")) == 1,
              "user-unknown counter is 1 after one bounce: %s" % got)

        env.lmtp_deliver(ORDINARY, mail_from="carol@example.org")
        env.lmtp_deliver(read_corpus("lhost-amazonses-03.eml"))
        env.lmtp_deliver(read_corpus("lhost-amavis-02.eml"))
        want = {("bounceinfo_bounces", "user-unknown"): 2,
                ("bounceinfo_bounces", "quota"): 1}
        got = wait_counters(env, want)
        for k, v in want.items():
            check(got.get(k) == v, "%s{class=%s} = %d" % (k[0], k[1], v))
        total = sum(v for (metric, _), v in got.items()
                    if metric == "bounceinfo_bounces")
        check(total == 3, "3 bounces counted, the ordinary mail not (%s)"
              % got)
        sev = {label: v for (metric, label), v in got.items()
               if metric == "bounceinfo_severity"}
        check(sum(sev.values()) == 3 and sev.get("hard", 0) >= 2,
              "severity counters: %s" % sev)
        ver = {label: v for (metric, label), v in got.items()
               if metric == "bounceinfo_verified"}
        check(ver == {"unchecked": 3},
              "verified counters without bounceinfo_verify: %s" % ver)
    finally:
        env.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
