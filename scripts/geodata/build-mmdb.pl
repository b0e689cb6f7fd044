#!/usr/bin/perl
# build-mmdb.pl - write GeoFront's shipped country-level GeoIP database.
#
# Inputs
#   /usr/share/tor/geoip    IPv4 ranges "FIRST,LAST,CC" (addresses as integers)  } Debian tor-geoipdb:
#   /usr/share/tor/geoip6   IPv6 ranges "FIRST,LAST,CC" (addresses as text)      } IPFire Location DB, CC BY-SA 4.0
#   geodata/country-centroids.json   CC -> continent, centre lat/lon; "aliases" and "skip" lists
#   geodata/country-areas.json       CC -> area in km2 (for accuracy_radius)
# Output
#   geodata/geofront-country.mmdb    MaxMind DB, GeoIP2-City record layout:
#     { continent => { code }, country => { iso_code },
#       location  => { latitude, longitude, accuracy_radius } }
#   Continent-only source codes (EU, AP) get no "country" key, as in GeoIP2.
#
# Usually run by scripts/build-geodata. Options (defaults: the paths above):
#   --geoip FILE --geoip6 FILE --centroids FILE --areas FILE --out FILE
#   --source-version STR   tor-geoipdb version for the description (default: asks dpkg-query)
use strict;
use warnings;

use Cwd qw(abs_path);
use FindBin ();
use Getopt::Long qw(GetOptions);
use JSON::PP ();
use Math::Int128 qw(net_to_uint128 uint128_to_net);
use POSIX qw(strftime);
use Socket qw(AF_INET6 inet_pton inet_ntop);
use Time::HiRes ();
use MaxMind::DB::Writer::Tree;

# Radius for records without area data (km), and for continent-only records.
use constant DEFAULT_RADIUS_KM   => 500;
use constant CONTINENT_RADIUS_KM => 2000;
use constant PI                  => 4 * atan2( 1, 1 );

my $geodata = abs_path("$FindBin::RealBin/../../geodata") // "$FindBin::RealBin/../../geodata";
my %opt     = (
    geoip     => '/usr/share/tor/geoip',
    geoip6    => '/usr/share/tor/geoip6',
    centroids => "$geodata/country-centroids.json",
    areas     => "$geodata/country-areas.json",
    out       => "$geodata/geofront-country.mmdb",
);
GetOptions( \%opt, 'geoip=s', 'geoip6=s', 'centroids=s', 'areas=s', 'out=s', 'source-version=s' )
    or die "usage: $0 [--geoip F] [--geoip6 F] [--centroids F] [--areas F] [--out F] [--source-version V]\n";

my $started = Time::HiRes::time();

sub read_json {
    my $path = shift;
    open my $fh, '<:raw', $path or die "$path: $!\n";
    local $/;
    return JSON::PP->new->utf8->decode(<$fh>);
}

my $table     = read_json( $opt{centroids} );
my $countries = $table->{countries} or die "$opt{centroids}: no \"countries\"\n";
my %alias     = %{ $table->{aliases} // {} };
my %skip      = map { $_ => 1 } @{ $table->{skip} // [] };
my $areas     = read_json( $opt{areas} )->{countries} // {};

# ---- one record per country code, built once and shared by all its networks ----

my %radius_source;    # 'area' / 'constant' / 'continent' -> number of codes used

sub accuracy_radius {
    my ( $cc, $c ) = @_;
    if ( $c->{continent_only} ) { $radius_source{continent}++; return CONTINENT_RADIUS_KM }
    my $area = $areas->{$cc} && $areas->{$cc}{area_km2};
    unless ($area) { $radius_source{constant}++; return DEFAULT_RADIUS_KM }
    $radius_source{area}++;
    my $r = int( sqrt( $area / PI ) + 0.5 );
    return $r < 1 ? 1 : $r > 65535 ? 65535 : $r;
}

my %record_of;

sub record_of {
    my $cc = shift;
    return $record_of{$cc} //= do {
        my $c = $countries->{$cc};
        my %r = (
            continent => { code => $c->{continent} },
            location  => {
                latitude        => 0.0 + $c->{lat},
                longitude       => 0.0 + $c->{lon},
                accuracy_radius => accuracy_radius( $cc, $c ),
            },
        );
        $r{country} = { iso_code => $cc } unless $c->{continent_only};
        \%r;
    };
}

# ---- source codes -> table codes ----

my ( %skipped, %unknown );

# The table code for a source code, or undef (counted) if it is skipped or unknown.
sub table_code {
    my $raw = shift;
    my $cc  = $alias{$raw} // $raw;
    if ( $skip{$cc} ) { $skipped{$cc}++; return undef }
    unless ( $countries->{$cc} ) { $unknown{$cc}++; return undef }
    return $cc;
}

# ---- read one tor file into merged [first, last, cc] ranges ----
# $parse turns the text of an address into a number that supports +1 and ==
# (a Perl integer for IPv4, a Math::UInt128 for IPv6).

my %read = ( 4 => 0, 6 => 0 );

sub read_ranges {
    my ( $path, $family, $parse ) = @_;
    open my $fh, '<', $path or die "$path: $!\n";
    my @merged;
    while ( my $line = <$fh> ) {
        next if $line =~ /^\s*(?:#|$)/;
        $line =~ s/\s+\z//;
        my ( $first, $last, $raw ) = split /,/, $line;
        die "$path:$.: cannot parse '$line'\n" unless defined $raw;
        $read{$family}++;
        my $cc = table_code($raw) // next;
        my ( $lo, $hi ) = ( $parse->($first), $parse->($last) );
        my $prev = $merged[-1];
        if ( $prev && $prev->[2] eq $cc && $prev->[1] + 1 == $lo ) {
            $prev->[1] = $hi;
        }
        else {
            push @merged, [ $lo, $hi, $cc ];
        }
    }
    close $fh;
    return \@merged;
}

sub ipv4_number { $_[0] =~ /^\d+$/ && $_[0] <= 0xFFFFFFFF or die "bad IPv4 number '$_[0]'\n"; 0 + $_[0] }
sub ipv4_text   { join '.', unpack 'C4', pack 'N', $_[0] }
sub ipv6_number { net_to_uint128( inet_pton( AF_INET6, $_[0] ) // die "bad IPv6 address '$_[0]'\n" ) }
sub ipv6_text   { inet_ntop( AF_INET6, uint128_to_net( $_[0] ) ) }

my $v4 = read_ranges( $opt{geoip},  4, \&ipv4_number );
my $v6 = read_ranges( $opt{geoip6}, 6, \&ipv6_number );

# ---- the tree ----

my $source_version = $opt{'source-version'} // do {
    my $v = `dpkg-query -W -f='\${Version}' tor-geoipdb 2>/dev/null`;
    $? == 0 && $v ne '' ? $v : 'unknown';
};
my $exported = 'unknown';
{
    open my $fh, '<', $opt{geoip} or die "$opt{geoip}: $!\n";
    while (<$fh>) {
        last unless /^#/;
        if (/^#\s*Generated:\s*(.+?)\s*$/) { $exported = $1; last }
    }
}
my $build_date = strftime( '%Y-%m-%d', gmtime );

my %type_of = (
    continent       => 'map',
    code            => 'utf8_string',
    country         => 'map',
    iso_code        => 'utf8_string',
    location        => 'map',
    latitude        => 'double',
    longitude       => 'double',
    accuracy_radius => 'uint16',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 24,
    database_type            => 'GeoFront-Country',
    languages                => ['en'],
    alias_ipv6_to_ipv4       => 1,
    remove_reserved_networks => 1,
    map_key_type_callback    => sub { $type_of{ $_[0] } // die "no MaxMind DB type for key '$_[0]'\n" },
    description              => {
        en => "GeoFront country-level geolocation, built $build_date from the IPFire Location Database "
            . "(https://location.ipfire.org/, CC BY-SA 4.0; export of $exported, Debian tor-geoipdb $source_version) "
            . 'and country centres and areas from countryinfo (MIT), tzdata zone.tab (public domain) and GeoNames '
            . '(https://www.geonames.org/, CC BY 4.0). This database is licensed CC BY-SA 4.0.',
    },
);

my $networks = 0;
for my $r (@$v4) {
    $tree->insert_range( ipv4_text( $r->[0] ), ipv4_text( $r->[1] ), record_of( $r->[2] ) );
    $networks++;
}

# The writer points these IPv6 networks at the IPv4 tree (alias_ipv6_to_ipv4) and dies on
# inserts inside them, so the parts of IPv6 ranges that fall in them are left out.
my @aliased = map { [ ipv6_number( $_->[0] ), ipv6_number( $_->[1] ) ] } (
    [ '::ffff:0:0', '::ffff:ffff:ffff' ],                          # ::ffff:0:0/96 IPv4-mapped
    [ '2001::',     '2001:0:ffff:ffff:ffff:ffff:ffff:ffff' ],      # 2001::/32 Teredo
    [ '2002::',     '2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff' ],   # 2002::/16 6to4
);
my $clipped = 0;
for my $r (@$v6) {
    my @pieces = ( [ $r->[0], $r->[1] ] );
    for my $net (@aliased) {
        my ( $from, $to ) = @$net;
        @pieces = map {
            my ( $lo, $hi ) = @$_;
            if ( $hi < $from || $lo > $to ) { [ $lo, $hi ] }
            else {
                $clipped++;
                ( $lo < $from ? [ $lo, $from - 1 ] : (), $hi > $to ? [ $to + 1, $hi ] : () );
            }
        } @pieces;
    }
    for my $p (@pieces) {
        $tree->insert_range( ipv6_text( $p->[0] ), ipv6_text( $p->[1] ), record_of( $r->[2] ) );
        $networks++;
    }
}
my $inserted = Time::HiRes::time();

my $tmp = "$opt{out}.tmp.$$";
open my $out, '>:raw', $tmp or die "$tmp: $!\n";
$tree->write_tree($out);
close $out or die "$tmp: $!\n";
rename $tmp, $opt{out} or die "rename $tmp -> $opt{out}: $!\n";
my $done = Time::HiRes::time();

# ---- summary ----

sub counts {
    my $h = shift;
    my $n = 0;
    $n += $_ for values %$h;
    return ( $n, join ' ', map {"$_=$h->{$_}"} sort keys %$h );
}
my ( $n_skipped, $skipped_list ) = counts( \%skipped );
my ( $n_unknown, $unknown_list ) = counts( \%unknown );
printf "source:   tor-geoipdb %s (IPFire export of %s)\n", $source_version, $exported;
printf "read:     %d ranges (%d IPv4, %d IPv6)\n", $read{4} + $read{6}, $read{4}, $read{6};
printf "skipped:  %d ranges with skipped codes%s\n", $n_skipped, $n_skipped ? " ($skipped_list)" : '';
printf "unknown:  %d ranges with codes not in the country table%s\n", $n_unknown,
    $n_unknown ? " ($unknown_list)" : '';
printf "written:  %d networks after merging adjacent ranges (%d IPv4, %d IPv6), "
    . "%d IPv6 ranges clipped at IPv4-aliased space\n",
    $networks, scalar @$v4, $networks - @$v4, $clipped;
printf "records:  %d countries; accuracy_radius from area for %d, %d km constant for %d, "
    . "%d km for %d continent-only\n",
    scalar keys %record_of, $radius_source{area} // 0, DEFAULT_RADIUS_KM, $radius_source{constant} // 0,
    CONTINENT_RADIUS_KM, $radius_source{continent} // 0;
printf "output:   %s (%d bytes), database_type GeoFront-Country, built %s\n", $opt{out}, -s $opt{out}, $build_date;
printf "seconds:  %.1f (read+insert %.1f, write %.1f)\n", $done - $started, $inserted - $started, $done - $inserted;
