#!/usr/bin/perl
# perl-whoisd.pl: the seed's design, as a reference for `make bench`.
#
# A whois one-shot daemon on Net::Server::PreFork (Debian
# libnet-server-perl), configured as in the forking-perl-daemons talk:
# min_servers 5, min_spare_servers 2, max_spare_servers 5, max_servers 20,
# max_requests 100.  It answers from an in-memory hash of ~200-byte
# answers, the same bytes as tests/bench/limitd.c.
#
#   perl-whoisd.pl PORT [NAMES_FILE]
use strict;
use warnings;

package BenchWhois;
use base qw(Net::Server::PreFork);

my %answer;

sub make_answer {
	my ($name, $status) = @_;
	my $a = "domain: $name\nace: $name\nstatus: $status\nsource: cache\n"
	    . "checked: 2026-11-22T01:00:00Z\nregistry: whois.verisign-grs.com\n"
	    . "registry-latency-ms: 123\n";
	# Pad to 224 bytes with a comment line, as limitd does.
	$a .= '%' . (' ' x (224 - 2 - length($a))) if length($a) < 222;
	return $a . "\n";
}

sub process_request {
	my $self = shift;
	local $SIG{ALRM} = sub { die "timeout\n" };
	alarm(10);
	my $line = <STDIN>;
	alarm(0);
	return unless defined $line;
	$line =~ s/\s+\z//;
	print exists $answer{$line} ? $answer{$line}
	    : make_answer('unknown', 'invalid');
}

package main;

my ($port, $names) = @ARGV;
die "usage: perl-whoisd.pl PORT [NAMES_FILE]\n" unless $port;
$answer{'example.com'} = BenchWhois::make_answer('example.com', 'registered');
if (defined $names && open(my $fh, '<', $names)) {
	while (my $n = <$fh>) {
		$n =~ s/\s+\z//;
		$answer{$n} = BenchWhois::make_answer($n, 'registered') if $n ne '';
	}
	close($fh);
}
$| = 1;
BenchWhois->run(
	port => "127.0.0.1:$port",
	ipv => 4,
	min_servers => 5,
	min_spare_servers => 2,
	max_spare_servers => 5,
	max_servers => 20,
	max_requests => 100,
	listen => 1024,
	log_level => 1,
	background => 0,
	setsid => 0,
);
