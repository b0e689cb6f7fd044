import CMaxMindDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A MaxMind DB (`.mmdb`) file opened with libmaxminddb in `MMDB_MODE_MMAP`.
///
/// Opening verifies the whole file (every search-tree node and every data record), so a corrupt
/// database is refused at load with a ``GeoIPError`` naming the file, never at request time.
/// After that the handle is read-only and lookups are safe from any thread.
public final class GeoIPDatabase: @unchecked Sendable {
    public let path: String
    public let metadata: GeoIPMetadata
    public let centroids: CountryCentroids

    private let handle: UnsafeMutablePointer<MMDB_s>
    private let paths: LookupPaths
    /// Depth of the IPv4 subtree in an IPv6 database (usually 96), subtracted from IPv4 netmasks.
    private let ipv4Depth: Int

    /// Opens and verifies `path`. `centroids` supplies coordinates for records with a country only.
    public init(path: String, centroids: CountryCentroids = CountryCentroids()) throws(GeoIPError) {
        self.path = path
        self.centroids = centroids
        try GeoIPDatabase.checkReadable(path)
        let handle = UnsafeMutablePointer<MMDB_s>.allocate(capacity: 1)
        handle.initialize(to: MMDB_s())
        let status = MMDB_open(path, UInt32(MMDB_MODE_MMAP), handle)
        guard status == MMDB_SUCCESS else {
            handle.deallocate()
            throw GeoIPError(.invalidDatabase, path: path, reason: GeoIPDatabase.message(status))
        }
        self.handle = handle
        self.paths = LookupPaths()
        self.metadata = GeoIPMetadata(handle.pointee)
        let netmask = Int(handle.pointee.ipv4_start_node.netmask)
        self.ipv4Depth = handle.pointee.metadata.ip_version == 6 ? netmask : 0
        try DatabaseVerifier(handle: handle, paths: paths, path: path).verify()
        // Verification touched every page; let them go from this process's resident set (they
        // stay in the page cache and come back on first use).
        if let content = handle.pointee.file_content, handle.pointee.file_size > 0 {
            _ = madvise(
                UnsafeMutableRawPointer(mutating: content), Int(handle.pointee.file_size), MADV_DONTNEED)
        }
    }

    deinit {
        MMDB_close(handle)
        handle.deallocate()
        paths.deallocate()
    }

    /// The full answer for one address: coordinates (or the country centroid), accuracy, country,
    /// continent and the matched network. Nil when the database has no record for it.
    public func lookup(_ address: IPAddress) -> GeoLocation? {
        let address = address.unmapped
        var result = lookupResult(address)
        guard result.found_entry else { return nil }
        let entry = withUnsafeMutablePointer(to: &result.entry) { $0 }
        var coordinate = readCoordinate(entry)
        var source: GeoLocation.CoordinateSource? = coordinate == nil ? nil : .database
        let country = readCode(entry, paths.countryCode) ?? readCode(entry, paths.registeredCountryCode)
        if coordinate == nil, let country, let centroid = centroids[country] {
            coordinate = centroid
            source = .countryCentroid
        }
        var radius: UInt16?
        var data = MMDB_entry_data_s()
        if MMDB_aget_value(entry, &data, paths.accuracyRadius) == MMDB_SUCCESS, data.has_data,
            data.type == UInt32(MMDB_DATA_TYPE_UINT16)
        {
            radius = data.uint16
        }
        return GeoLocation(
            coordinate: coordinate,
            coordinateSource: source,
            accuracyRadiusKm: radius,
            country: country,
            continent: readCode(entry, paths.continentCode),
            network: network(of: address, netmask: Int(result.netmask))
        )
    }

    /// What the hot-path lookup found for an address.
    public enum RoutingLocation: Sendable {
        /// No record for the address.
        case notFound
        /// The record's own coordinates.
        case record(Coordinate)
        /// The record has a country but no coordinates: the country's centroid.
        case centroid(Coordinate)
        /// A record with neither coordinates nor a country with a known centroid.
        case noLocation
    }

    /// The hot-path lookup with its outcome: whether the address has a record, and the
    /// coordinate routing uses (record coordinates, else the country centroid) and where it came
    /// from. No allocation.
    @inline(__always)
    public func locateWithSource(_ address: IPAddress) -> RoutingLocation {
        var result = lookupResult(address.unmapped)
        guard result.found_entry else { return .notFound }
        return withUnsafeMutablePointer(to: &result.entry) { entry in
            if let coordinate = readCoordinate(entry) { return .record(coordinate) }
            guard let country = readCode(entry, paths.countryCode) ?? readCode(entry, paths.registeredCountryCode),
                let centroid = centroids[country]
            else { return .noLocation }
            return .centroid(centroid)
        }
    }

    /// What a traffic policy matches a client by, read with its routing location in one lookup:
    /// the record's country (else registered country), continent and (when `asn`) autonomous
    /// system number. No allocation. All nil when the address has no record.
    public struct PolicyFacts: Sendable, Hashable {
        public var country: TwoLetterCode?
        public var continent: TwoLetterCode?
        public var asn: UInt32?

        public init(country: TwoLetterCode? = nil, continent: TwoLetterCode? = nil, asn: UInt32? = nil) {
            self.country = country
            self.continent = continent
            self.asn = asn
        }
    }

    /// ``locateWithSource(_:)`` and the record's ``PolicyFacts``, from one walk of the tree.
    @inline(__always)
    public func locateWithFacts(_ address: IPAddress, asn: Bool) -> (RoutingLocation, PolicyFacts) {
        var result = lookupResult(address.unmapped)
        guard result.found_entry else { return (.notFound, PolicyFacts()) }
        return withUnsafeMutablePointer(to: &result.entry) { entry in
            let country = readCode(entry, paths.countryCode) ?? readCode(entry, paths.registeredCountryCode)
            var facts = PolicyFacts(country: country, continent: readCode(entry, paths.continentCode))
            if asn { facts.asn = readUInt32(entry, paths.asn) ?? readUInt32(entry, paths.traitsASN) }
            if let coordinate = readCoordinate(entry) { return (.record(coordinate), facts) }
            guard let country, let centroid = centroids[country] else { return (.noLocation, facts) }
            return (.centroid(centroid), facts)
        }
    }

    /// The coordinate routing uses (record coordinates, else the country centroid), from
    /// ``locateWithSource(_:)``. No allocation. Nil when the address has no usable location.
    @inline(__always)
    public func coordinate(of address: IPAddress) -> Coordinate? {
        switch locateWithSource(address) {
        case .record(let coordinate), .centroid(let coordinate): return coordinate
        case .notFound, .noLocation: return nil
        }
    }

    // MARK: - Reading

    @inline(__always)
    private func lookupResult(_ address: IPAddress) -> MMDB_lookup_result_s {
        var error: Int32 = 0
        var result: MMDB_lookup_result_s
        switch address.family {
        case .v4:
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_addr.s_addr = address.v4Value.bigEndian
            result = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(handle, $0, &error) }
            }
        case .v6:
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &socketAddress.sin6_addr) { raw in
                raw.storeBytes(of: address.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: address.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            result = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(handle, $0, &error) }
            }
        }
        if error != MMDB_SUCCESS { result.found_entry = false }
        return result
    }

    @inline(__always)
    private func readCoordinate(_ entry: UnsafeMutablePointer<MMDB_entry_s>) -> Coordinate? {
        var latitude = MMDB_entry_data_s()
        guard MMDB_aget_value(entry, &latitude, paths.latitude) == MMDB_SUCCESS, latitude.has_data,
            latitude.type == UInt32(MMDB_DATA_TYPE_DOUBLE)
        else { return nil }
        var longitude = MMDB_entry_data_s()
        guard MMDB_aget_value(entry, &longitude, paths.longitude) == MMDB_SUCCESS, longitude.has_data,
            longitude.type == UInt32(MMDB_DATA_TYPE_DOUBLE)
        else { return nil }
        let coordinate = Coordinate(latitude: latitude.double_value, longitude: longitude.double_value)
        return coordinate.isValid ? coordinate : nil
    }

    @inline(__always)
    private func readCode(
        _ entry: UnsafeMutablePointer<MMDB_entry_s>, _ path: UnsafeMutablePointer<UnsafePointer<CChar>?>
    ) -> TwoLetterCode? {
        var data = MMDB_entry_data_s()
        guard MMDB_aget_value(entry, &data, path) == MMDB_SUCCESS, data.has_data,
            data.type == UInt32(MMDB_DATA_TYPE_UTF8_STRING), data.data_size == 2,
            let bytes = data.utf8_string
        else { return nil }
        return TwoLetterCode(first: UInt8(bitPattern: bytes[0]), second: UInt8(bitPattern: bytes[1]))
    }

    private func readUInt32(
        _ entry: UnsafeMutablePointer<MMDB_entry_s>, _ path: UnsafeMutablePointer<UnsafePointer<CChar>?>
    ) -> UInt32? {
        var data = MMDB_entry_data_s()
        guard MMDB_aget_value(entry, &data, path) == MMDB_SUCCESS, data.has_data,
            data.type == UInt32(MMDB_DATA_TYPE_UINT32)
        else { return nil }
        return data.uint32
    }

    private func network(of address: IPAddress, netmask: Int) -> IPNetwork {
        let prefix = address.family == .v4 ? max(0, min(32, netmask - ipv4Depth)) : min(128, netmask)
        return IPNetwork(address: address, prefixLength: prefix)!
    }

    // MARK: - Opening

    private static func checkReadable(_ path: String) throws(GeoIPError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw GeoIPError(.unreadable, path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw GeoIPError(.unreadable, path: path, reason: "not a regular file")
        }
        guard access(path, R_OK) == 0 else {
            throw GeoIPError(.unreadable, path: path, reason: String(cString: strerror(errno)))
        }
        guard info.st_size > 0 else {
            throw GeoIPError(.empty, path: path, reason: "the file is empty")
        }
    }

    static func message(_ status: Int32) -> String {
        let text = String(cString: MMDB_strerror(status))
        if status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR {
            return "\(text) (\(String(cString: strerror(errno))))"
        }
        return text
    }
}

/// The NULL-terminated key paths handed to `MMDB_aget_value`, allocated once per database.
struct LookupPaths {
    let latitude = LookupPaths.make(["location", "latitude"])
    let longitude = LookupPaths.make(["location", "longitude"])
    let accuracyRadius = LookupPaths.make(["location", "accuracy_radius"])
    let countryCode = LookupPaths.make(["country", "iso_code"])
    let registeredCountryCode = LookupPaths.make(["registered_country", "iso_code"])
    let continentCode = LookupPaths.make(["continent", "code"])
    /// An ASN database's (GeoLite2-ASN) and an enterprise or ISP database's (`traits`) key.
    let asn = LookupPaths.make(["autonomous_system_number"])
    let traitsASN = LookupPaths.make(["traits", "autonomous_system_number"])

    var all: [UnsafeMutablePointer<UnsafePointer<CChar>?>] {
        [latitude, longitude, accuracyRadius, countryCode, registeredCountryCode, continentCode, asn, traitsASN]
    }

    private static func make(_ keys: [String]) -> UnsafeMutablePointer<UnsafePointer<CChar>?> {
        let array = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: keys.count + 1)
        for (index, key) in keys.enumerated() {
            array[index] = UnsafePointer(strdup(key))
        }
        array[keys.count] = nil
        return array
    }

    func deallocate() {
        for array in all {
            var index = 0
            while let key = array[index] {
                free(UnsafeMutablePointer(mutating: key))
                index += 1
            }
            array.deallocate()
        }
    }
}
