/// A failure the user can act on: what went wrong, and what to do about it.
public struct AutoresearchError: Error, CustomStringConvertible, Sendable {
    public let message: String
    /// What to do next, when there is something to say.
    public let hint: String?

    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    public var description: String {
        hint.map { "\(message)\nhint: \($0)" } ?? message
    }
}

extension AutoresearchError {
    /// What a shallow clone (`git clone --depth N`) cannot do, and the way out; `reason` says
    /// where the missing history was needed.
    static func shallowClone(_ reason: String) -> AutoresearchError {
        AutoresearchError("this is a shallow clone (\(reason))",
                          hint: "fetch the whole history with 'git fetch --unshallow', then run this again")
    }
}
