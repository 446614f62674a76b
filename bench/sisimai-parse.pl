#!/usr/bin/perl
# Parse an mbox (or Maildir, or single message) with Debian's Sisimai
# (libsisimai-perl) and print one JSON object per bounce: the same work
# the bounceinfo CLI does with --json. Used by bench/run.
use strict;
use warnings;
use Sisimai;

die "usage: $0 MBOX\n" unless @ARGV == 1;
# delivered (DSN 2.x) and vacation replies are reported too, as bounceinfo
# reports delivery reports and auto-replies
my $json = Sisimai->dump($ARGV[0], delivered => 1, vacation => 1);
die "sisimai: nothing parsed from $ARGV[0]\n" unless defined $json;
print $json, "\n";
