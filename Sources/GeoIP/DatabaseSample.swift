import CMaxMindDB

/// A deterministic sample of client addresses spread over a database's networks, for comparing
/// two routing decisions (`geofront diff --sample`, admin `POST /preview`).
///
/// How it is drawn:
/// 1. The search tree is walked depth first, left (bit 0) before right, so the **data networks**
///    (tree records that point at a data record) come out in address order. In an IPv6 database
///    the IPv4 space is the subtree at `::/96`; its networks are IPv4 networks (`a.b.c.d/n`). The
///    places that alias that subtree (`::ffff:0:0/96`, `2001::/32`, `2002::/16`) lead to the same
///    node and are not walked again, so every network counts once. Empty records are skipped.
/// 2. With `M` networks and a sample of `N < M`, the `k`-th address (`k = 0 ..< N`) comes from the
///    network numbered `⌊(2k + 1)·M / (2N)⌋` in that order: the middles of `N` equal slices of
///    the list, so the sample is spread evenly over the networks (not over address space, where a
///    few huge IPv6 networks would take everything). With `N ≥ M`, every network once.
/// 3. From a network, its middle address: the first address plus half its size (the first
///    address itself for a single-address network).
///
/// Nothing random: the same database and `N` always give the same addresses, in address order.
/// `scripts/crosscheck --diff` draws the same sample independently (Python `maxminddb`'s own
/// iteration over the networks) to check this.
extension GeoIPDatabase {
    /// Up to `count` addresses spread over the database's data networks (see above).
    public func sampleAddresses(count: Int) throws(GeoIPError) -> [IPAddress] {
        guard count > 0 else { return [] }
        let walker = try SearchTreeWalker(path: path, expecting: metadata)
        defer { walker.close() }
        var networks = 0
        try walker.walk { _, _ in networks += 1 }
        guard networks > 0 else { return [] }
        var picked: [IPAddress] = []
        picked.reserveCapacity(min(count, networks))
        // The next network wanted, by its number in address order.
        var sample = 0
        func wanted(_ sample: Int) -> Int {
            count >= networks ? sample : (2 * sample + 1) * networks / (2 * count)
        }
        var next = wanted(0)
        var number = 0
        try walker.walk { network, prefixLength in
            defer { number += 1 }
            guard sample < min(count, networks), number == next else { return }
            picked.append(Self.middle(of: network, prefixLength: prefixLength))
            sample += 1
            if sample < count { next = wanted(sample) }
        }
        return picked
    }

    /// The number of data networks (see ``sampleAddresses(count:)``).
    public func dataNetworkCount() throws(GeoIPError) -> Int {
        let walker = try SearchTreeWalker(path: path, expecting: metadata)
        defer { walker.close() }
        var networks = 0
        try walker.walk { _, _ in networks += 1 }
        return networks
    }

    /// The first address plus half the network's size.
    static func middle(of network: IPAddress, prefixLength: Int) -> IPAddress {
        let width = network.bitWidth
        guard prefixLength < width else { return network }
        // The bit worth half the network: the first host bit.
        let bit = width - prefixLength - 1
        switch network.family {
        case .v4:
            return IPAddress(v4: network.v4Value | (UInt32(1) << UInt32(bit)))
        case .v6:
            return bit >= 64
                ? IPAddress(v6: network.high | (UInt64(1) << UInt64(bit - 64)), network.low)
                : IPAddress(v6: network.high, network.low | (UInt64(1) << UInt64(bit)))
        }
    }
}

/// Walks a database's search tree (its own libmaxminddb handle on the same file) and reports the
/// data networks in address order.
private struct SearchTreeWalker {
    let handle: UnsafeMutablePointer<MMDB_s>
    let path: String

    /// Opens `path`; refuses a file that is no longer the database `metadata` describes (replaced
    /// on disk since it was opened).
    init(path: String, expecting metadata: GeoIPMetadata) throws(GeoIPError) {
        let handle = UnsafeMutablePointer<MMDB_s>.allocate(capacity: 1)
        handle.initialize(to: MMDB_s())
        let status = MMDB_open(path, UInt32(MMDB_MODE_MMAP), handle)
        guard status == MMDB_SUCCESS else {
            handle.deallocate()
            throw GeoIPError(.invalidDatabase, path: path, reason: GeoIPDatabase.message(status))
        }
        guard GeoIPMetadata(handle.pointee) == metadata else {
            MMDB_close(handle)
            handle.deallocate()
            throw GeoIPError(.invalidDatabase, path: path, reason: "the file changed on disk since it was opened")
        }
        self.handle = handle
        self.path = path
    }

    func close() {
        MMDB_close(handle)
        handle.deallocate()
    }

    /// Calls `body` with each data network's first address and prefix length, in address order.
    func walk(_ body: (IPAddress, Int) -> Void) throws(GeoIPError) {
        let nodeCount = Int(handle.pointee.metadata.node_count)
        let isIPv6 = handle.pointee.metadata.ip_version == 6
        let width = isIPv6 ? 128 : 32
        let ipv4Start = handle.pointee.ipv4_start_node.node_value
        let ipv4Depth = isIPv6 ? Int(handle.pointee.ipv4_start_node.netmask) : 0
        // Each node once: the aliases of the IPv4 subtree lead back to its start node (and a
        // cyclic tree, which verification refuses anyway, could not loop).
        var visited = [UInt64](repeating: 0, count: nodeCount / 64 + 1)
        // Nodes to expand and data networks to report, by the first address's words and the
        // depth; the right child is pushed first so the left one comes out first.
        var pending: [Step] = [Step(node: 0, isData: false, high: 0, low: 0, depth: 0)]
        var node = MMDB_search_node_s()
        while let step = pending.popLast() {
            if step.isData {
                if isIPv6 && step.high == 0 && step.low >> 32 == 0 && step.depth >= ipv4Depth {
                    body(IPAddress(v4: UInt32(truncatingIfNeeded: step.low)), step.depth - ipv4Depth)
                } else if isIPv6 {
                    body(IPAddress(v6: step.high, step.low), step.depth)
                } else {
                    body(IPAddress(v4: UInt32(truncatingIfNeeded: step.low)), step.depth)
                }
                continue
            }
            let number = step.node
            guard Int(number) < nodeCount, step.depth < width else { continue }
            if isIPv6 && number == ipv4Start && (step.high != 0 || step.low != 0) { continue }
            let word = Int(number) / 64
            let bit = UInt64(1) << UInt64(number % 64)
            if visited[word] & bit != 0 { continue }
            visited[word] |= bit
            let status = MMDB_read_node(handle, number, &node)
            guard status == MMDB_SUCCESS else {
                throw GeoIPError(
                    .corrupt, path: path, reason: "search tree node \(number): \(GeoIPDatabase.message(status))")
            }
            // The right child's first address has this depth's bit set.
            let shift = width - step.depth - 1
            let rightHigh = shift >= 64 ? step.high | (UInt64(1) << UInt64(shift - 64)) : step.high
            let rightLow = shift >= 64 ? step.low : step.low | (UInt64(1) << UInt64(shift))
            for (record, type, high, low) in [
                (node.right_record, node.right_record_type, rightHigh, rightLow),
                (node.left_record, node.left_record_type, step.high, step.low),
            ] {
                switch Int32(type) {
                case MMDB_RECORD_TYPE_SEARCH_NODE, MMDB_RECORD_TYPE_DATA:
                    pending.append(
                        Step(
                            node: UInt32(truncatingIfNeeded: record), isData: Int32(type) == MMDB_RECORD_TYPE_DATA,
                            high: high, low: low, depth: step.depth + 1))
                default:
                    break
                }
            }
        }
    }

    private struct Step {
        let node: UInt32
        let isData: Bool
        let high: UInt64
        let low: UInt64
        let depth: Int
    }
}
