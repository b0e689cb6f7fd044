import GeoFrontCore

/// Consecutive field lines of a head that are kept, as one range of its bytes: most lines are
/// kept, so a head's lines are copied in a few writes instead of one each.
struct KeptLineRun {
    private var run: Range<Int>

    /// An empty run at `start` (a line starting there extends it).
    init(at start: Int) {
        run = start..<start
    }

    /// A run already holding `range` (the status line).
    init(holding range: Range<Int>) {
        run = range
    }

    /// Adds `line`; the run it ends when `line` does not follow it (to be copied now).
    mutating func keep(_ line: RequestHead.Span) -> Range<Int>? {
        let range = line.start..<(line.start + line.count)
        if range.lowerBound == run.upperBound {
            run = run.lowerBound..<range.upperBound
            return nil
        }
        let ended = run
        run = range
        return ended.isEmpty ? nil : ended
    }

    /// The run still open at the end, if any.
    var last: Range<Int>? { run.isEmpty ? nil : run }
}
