import CJemalloc

/// The process's allocator: jemalloc, linked in (see Package.swift). Its version, for
/// `geofront --version`-style reports and to keep the link from being dropped.
enum Allocator {
    static var description: String {
        var version: UnsafePointer<CChar>?
        var size = MemoryLayout<UnsafePointer<CChar>?>.size
        guard mallctl("version", &version, &size, nil, 0) == 0, let version else { return "jemalloc" }
        var arenas: UInt32 = 0
        var arenasSize = MemoryLayout<UInt32>.size
        let narenas = mallctl("opt.narenas", &arenas, &arenasSize, nil, 0) == 0 ? " narenas=\(arenas)" : ""
        return "jemalloc " + String(cString: version) + narenas
    }
}
