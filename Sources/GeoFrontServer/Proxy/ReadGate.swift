import NIOCore

/// Holds an upstream connection's reads while the client cannot take more (backpressure): a
/// `read` that arrives while paused is kept and issued on resume. Used by both upstream handlers.
struct ReadGate {
    private var paused = false
    private var pending = false

    /// From the handler's `read(context:)`.
    mutating func read(_ context: ChannelHandlerContext) {
        if paused {
            pending = true
        } else {
            context.read()
        }
    }

    mutating func pause() {
        paused = true
    }

    mutating func resume(_ context: ChannelHandlerContext?) {
        paused = false
        if pending, let context {
            pending = false
            context.read()
        }
    }
}
