import Foundation
import GeoFrontCore

/// Configuration documents: any bytes are accepted or refused with issues, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    do {
        _ = try ConfigLoader.parse(data, baseDirectory: "/tmp")
    } catch {
        precondition(!error.issues.isEmpty)
    }
    return 0
}
