#!/usr/bin/perl
# Parse every message of an mbox with Mail::DeliveryStatus::BounceParser
# (libmail-deliverystatus-bounceparser-perl), one message at a time, and
# print one JSON object per message with its reports. Used by bench/run.
use strict;
use warnings;
use JSON::PP;
use Mail::DeliveryStatus::BounceParser;

die "usage: $0 MBOX\n" unless @ARGV == 1;
open(my $fh, '<', $ARGV[0]) or die "open($ARGV[0]): $!\n";
my $json = JSON::PP->new->canonical;
my ($msg, $prev_blank, $n) = (undef, 1, 0);

sub parse_one {
	my ($text) = @_;
	$n++;
	my $out = { file => "$ARGV[0]#$n", recipients => [] };
	my $bounce = eval { Mail::DeliveryStatus::BounceParser->new($text) };
	if ($bounce) {
		$out->{is_bounce} = $bounce->is_bounce ? JSON::PP::true : JSON::PP::false;
		for my $r ($bounce->reports) {
			push @{$out->{recipients}}, {
				address => scalar $r->get('email'),
				reason => scalar $r->get('std_reason'),
				status => scalar $r->get('Status'),
			};
		}
	}
	print $json->encode($out), "\n";
}

while (my $line = <$fh>) {
	if ($prev_blank && $line =~ /^From /) {
		parse_one($msg) if defined $msg;
		$msg = '';
		$prev_blank = 0;
		next;
	}
	$prev_blank = ($line eq "\n" || $line eq "\r\n");
	$line =~ s/^>(>*From )/$1/;
	$msg .= $line if defined $msg;
}
parse_one($msg) if defined $msg;
