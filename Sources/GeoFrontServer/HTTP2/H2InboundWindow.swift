/// The receiving side of one HTTP/2 flow-control window (RFC 9113 §6.9), a stream's or the
/// connection's: when to give the client credit back with WINDOW_UPDATE, and how much.
///
/// NIOHTTP2 reports the window as it falls with each DATA frame received; bytes received but not
/// yet taken by the front end (held while it does not read) still count as in use. Once the
/// client's credit plus those held bytes has fallen to half of `target` or less, it is topped
/// back up to `target`: one WINDOW_UPDATE per half window, and a front end that stops reading
/// stops the client after at most one window.
struct H2InboundWindow {
    let target: Int
    /// The window as last reported, plus the credit given back since.
    private var window: Int?
    /// Received and not yet taken.
    private(set) var held = 0
    /// No more DATA can come (the request's end was received): no more credit.
    var closed = false

    init(target: Int) {
        self.target = target
    }

    /// NIOHTTP2 reports the window at `size`: the credit to give back, if any.
    mutating func reported(_ size: Int) -> Int? {
        window = size
        return credit()
    }

    /// `bytes` were received and are held.
    mutating func hold(_ bytes: Int) {
        held += bytes
    }

    /// `bytes` held were taken: the credit to give back, if any.
    mutating func taken(_ bytes: Int) -> Int? {
        held -= bytes
        return credit()
    }

    private mutating func credit() -> Int? {
        guard !closed, let window else { return nil }
        let inUse = window + held
        guard inUse * 2 <= target else { return nil }
        let increment = min(target - inUse, Int(Int32.max))
        guard increment > 0 else { return nil }
        self.window = window + increment
        return increment
    }
}
