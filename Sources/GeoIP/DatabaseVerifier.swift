import CMaxMindDB

/// Walks a freshly opened database once so that corruption is found at load, not per request:
/// every search-tree node reachable from the root (each visited once, so a cyclic tree cannot hang
/// it), every record pointer's target, and every distinct data record fully decoded. The fields
/// GeoFront reads must have the types it expects, and at least one record must carry coordinates
/// or a country (an ASN or other non-location database would otherwise route everyone to the
/// default region without a word).
struct DatabaseVerifier {
    let handle: UnsafeMutablePointer<MMDB_s>
    let paths: LookupPaths
    let path: String

    func verify() throws(GeoIPError) {
        let nodeCount = Int(handle.pointee.metadata.node_count)
        guard nodeCount > 0 else {
            throw GeoIPError(.corrupt, path: path, reason: "the search tree has no nodes")
        }
        var visited = [UInt64](repeating: 0, count: nodeCount / 64 + 1)
        var pending: [UInt32] = [0]
        var dataOffsets = Set<UInt32>()
        var node = MMDB_search_node_s()
        while let number = pending.popLast() {
            let word = Int(number) / 64
            let bit = UInt64(1) << UInt64(number % 64)
            if visited[word] & bit != 0 { continue }
            visited[word] |= bit
            let status = MMDB_read_node(handle, number, &node)
            guard status == MMDB_SUCCESS else {
                throw GeoIPError(
                    .corrupt, path: path,
                    reason: "search tree node \(number): \(GeoIPDatabase.message(status))")
            }
            for (record, type, entry) in [
                (node.left_record, node.left_record_type, node.left_record_entry),
                (node.right_record, node.right_record_type, node.right_record_entry),
            ] {
                switch Int32(type) {
                case MMDB_RECORD_TYPE_SEARCH_NODE:
                    pending.append(UInt32(truncatingIfNeeded: record))
                case MMDB_RECORD_TYPE_DATA:
                    dataOffsets.insert(entry.offset)
                case MMDB_RECORD_TYPE_EMPTY:
                    break
                default:
                    throw GeoIPError(
                        .corrupt, path: path,
                        reason: "search tree node \(number) points outside the file (record \(record))")
                }
            }
        }
        var locatedRecords = 0
        for offset in dataOffsets where try verifyRecord(at: offset) {
            locatedRecords += 1
        }
        guard locatedRecords > 0 else {
            throw GeoIPError(
                .unexpectedLayout, path: path,
                reason:
                    "none of its \(dataOffsets.count) records has location.latitude/longitude or a country iso_code: "
                    + "not a GeoIP City or Country database (type \"\(GeoIPMetadata(handle.pointee).databaseType)\")")
        }
    }

    /// Checks one record; returns whether it locates its network (coordinates or a country).
    private func verifyRecord(at offset: UInt32) throws(GeoIPError) -> Bool {
        var entry = MMDB_entry_s(mmdb: handle, offset: offset)
        var list: UnsafeMutablePointer<MMDB_entry_data_list_s>?
        let status = MMDB_get_entry_data_list(&entry, &list)
        MMDB_free_entry_data_list(list)
        guard status == MMDB_SUCCESS else {
            throw GeoIPError(
                .corrupt, path: path, reason: "data record at offset \(offset): \(GeoIPDatabase.message(status))")
        }
        let expectations: [(UnsafeMutablePointer<UnsafePointer<CChar>?>, Int32, String)] = [
            (paths.latitude, MMDB_DATA_TYPE_DOUBLE, "location.latitude"),
            (paths.longitude, MMDB_DATA_TYPE_DOUBLE, "location.longitude"),
            (paths.accuracyRadius, MMDB_DATA_TYPE_UINT16, "location.accuracy_radius"),
            (paths.countryCode, MMDB_DATA_TYPE_UTF8_STRING, "country.iso_code"),
            (paths.registeredCountryCode, MMDB_DATA_TYPE_UTF8_STRING, "registered_country.iso_code"),
            (paths.continentCode, MMDB_DATA_TYPE_UTF8_STRING, "continent.code"),
        ]
        var present = Set<String>()
        for (keys, expected, name) in expectations {
            var data = MMDB_entry_data_s()
            let status = MMDB_aget_value(&entry, &data, keys)
            if status == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || (status == MMDB_SUCCESS && !data.has_data) {
                continue
            }
            present.insert(name)
            guard status == MMDB_SUCCESS else {
                throw GeoIPError(
                    .corrupt, path: path,
                    reason: "data record at offset \(offset), \(name): \(GeoIPDatabase.message(status))")
            }
            guard data.type == UInt32(expected) else {
                throw GeoIPError(
                    .unexpectedLayout, path: path,
                    reason:
                        "data record at offset \(offset): \(name) has MaxMind DB type \(data.type), expected \(expected)"
                )
            }
        }
        return (present.contains("location.latitude") && present.contains("location.longitude"))
            || present.contains("country.iso_code") || present.contains("registered_country.iso_code")
    }
}
