#!/usr/bin/env perl
# Writes Tests/Fixtures/geofront-asn-test.mmdb: a tiny test database whose records carry
# location, country, continent and an ASN in both the forms GeoFront reads
# (`autonomous_system_number` as in GeoLite2-ASN, `traits.autonomous_system_number` as in
# enterprise/ISP databases), for the traffic-policy tests of `match.asns`. The networks are
# documentation and test ranges (RFC 5737, RFC 3849). Needs Debian's libmaxmind-db-writer-perl.
# Usage: scripts/geodata/build-asn-fixture.pl [OUT]
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift // 'Tests/Fixtures/geofront-asn-test.mmdb';
my %type_of = (
    continent => 'map', code => 'utf8_string', country => 'map', iso_code => 'utf8_string',
    location => 'map', latitude => 'double', longitude => 'double', autonomous_system_number => 'uint32',
    traits => 'map',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version            => 6,
    record_size           => 24,
    database_type         => 'GeoFront-ASN-Test',
    languages             => ['en'],
    alias_ipv6_to_ipv4    => 1,
    remove_reserved_networks => 0,    # the documentation ranges are the point
    map_key_type_callback => sub { $type_of{ $_[0] } // die "no MaxMind DB type for key '$_[0]'\n" },
    description           => { en => 'GeoFront test database: locations with ASNs (documentation ranges)' },
);
sub place {
    my ( $country, $continent, $lat, $lon ) = @_;
    return ( country => { iso_code => $country }, continent => { code => $continent },
        location => { latitude => $lat, longitude => $lon } );
}
# Frankfurt, AS 64500 (top-level key).
$tree->insert_network( '192.0.2.0/25',
    { place( 'DE', 'EU', 50.11, 8.68 ), autonomous_system_number => 64500 } );
# Frankfurt, AS 64501 (traits).
$tree->insert_network( '192.0.2.128/25',
    { place( 'DE', 'EU', 50.11, 8.68 ), traits => { autonomous_system_number => 64501 } } );
# Ashburn, AS 64500.
$tree->insert_network( '198.51.100.0/24',
    { place( 'US', 'NA', 39.04, -77.49 ), autonomous_system_number => 64500 } );
# Tokyo, no ASN.
$tree->insert_network( '203.0.113.0/24', { place( 'JP', 'AS', 35.68, 139.69 ) } );
# IPv6: London, AS 64502.
$tree->insert_network( '2001:db8:1::/48',
    { place( 'GB', 'EU', 51.51, -0.13 ), autonomous_system_number => 64502 } );
open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: $!\n";
print "wrote $out\n";
