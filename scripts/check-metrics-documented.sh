#!/usr/bin/env bash
# Every Prometheus metric the code registers must have a row in docs/observability.md's metric
# tables with the same type, and every row must name a registered metric: the docs cannot drift.
# A metric is registered as prometheus::Build<Type>().Name("llmgw_...") (prometheus-cpp's
# builder), or as BuildShardedHistogram().Name("llmgw_...") (llmgw's per-thread histogram, a
# histogram to Prometheus); a Name() whose argument is not a plain string literal fails the check, so a name
# built at run time cannot slip past it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec perl -e '
use strict; use warnings;
my ($doc_path, @sources) = @ARGV;
my (%code, @errors);
for my $file (@sources) {
    local $/; open my $fh, "<", $file or die "$file: $!"; my $text = <$fh>;
    $text =~ s{//[^\n]*}{}g;                          # comments may mention metrics
    while ($text =~ /\.Name\(\s*([^)]*)\)/g) {
        my $arg = $1;
        my $before = substr($text, 0, $-[0]);
        if ($arg !~ /^"(llmgw_[a-z0-9_]+)"\s*$/) {
            push @errors, "$file: cannot read the metric name in .Name($arg)"; next;
        }
        my $name = $1;
        # The builder this Name() belongs to: the last Build<Type>() before it.
        my ($type) = $before =~ /.*Build(Counter|Gauge|Histogram|Summary|Info|ShardedHistogram)\s*\(\s*\)\s*$/s;
        if (!defined $type) { push @errors, "$file: $name: no Build<Type>() right before .Name()"; next; }
        $code{$name} = $type eq "ShardedHistogram" ? "histogram" : lc $type;
    }
    # Any other llmgw_ string literal is a metric name registered some other way.
    while ($text =~ /"(llmgw_[a-z0-9_]+)"/g) {
        push @errors, "$file: \"$1\" looks like a metric name outside Build<Type>().Name()"
            unless exists $code{$1};
    }
}
open my $dh, "<", $doc_path or die "$doc_path: $!";
my %doc;
while (my $line = <$dh>) {
    next unless $line =~ /^\|\s*`(llmgw_[a-z0-9_]+)`\s*\|\s*([a-z]+)\s*\|/;
    $doc{$1} = $2;
}
push @errors, "found only " . scalar(keys %code) . " metrics in the code: is the scan broken?"
    if keys %code < 10;
for my $name (sort keys %code) {
    if (!exists $doc{$name}) { push @errors, "$name ($code{$name}) is not in $doc_path"; }
    elsif ($doc{$name} ne $code{$name}) {
        push @errors, "$name is a $code{$name} in the code but a $doc{$name} in $doc_path";
    }
}
for my $name (sort keys %doc) {
    push @errors, "$doc_path documents $name, which the code does not register"
        unless exists $code{$name};
}
if (@errors) { print STDERR "$_\n" for @errors; exit 1; }
printf "%d metrics registered, all documented in %s\n", scalar(keys %code), $doc_path;
' docs/observability.md $(find src include -name '*.cpp' -o -name '*.hpp' | sort)
