import Clibgit2
import Foundation

/// The two people a commit names.
enum SignatureRole: String {
    case author = "AUTHOR", committer = "COMMITTER"

    /// The configuration section that overrides `user` for this role (git 2.22 and later).
    var section: String { rawValue.lowercased() }
}

extension Repository {
    /// The author and committer of a commit this tool writes, resolved as `git commit` does:
    /// `GIT_AUTHOR_NAME`/`GIT_COMMITTER_NAME`, then `author.name`/`committer.name`, then
    /// `user.name` (likewise for the email, with `EMAIL` last); the time from `GIT_AUTHOR_DATE`/
    /// `GIT_COMMITTER_DATE`, else now. Where no name or email is found (CI machines), a fixed
    /// identity. Names and emails are read once per handle, as git reads its configuration once
    /// per process (a loop sees a new `user.name` when it starts again). The caller frees both.
    func signatures() throws -> (author: UnsafeMutablePointer<git_signature>, committer: UnsafeMutablePointer<git_signature>) {
        var made: [UnsafeMutablePointer<git_signature>] = []
        do {
            for (role, name, email) in try resolvedIdentities() {
                var signature: UnsafeMutablePointer<git_signature>?
                if let dateText = environment("GIT_\(role.rawValue)_DATE") {
                    guard let date = GitDate.parse(dateText) else {
                        throw GitError(.invalid, operation: "read GIT_\(role.rawValue)_DATE",
                                       message: "invalid date '\(dateText)' (use '@SECONDS +HHMM', ISO 8601 or RFC 2822)")
                    }
                    try check(git_signature_new(&signature, name, email, date.seconds, date.offsetMinutes), "make the \(role.section) signature")
                } else {
                    try check(git_signature_now(&signature, name, email), "make the \(role.section) signature")
                }
                made.append(signature!)
            }
        } catch {
            made.forEach { git_signature_free($0) }
            throw error
        }
        return (made[0], made[1])
    }

    /// The author's and committer's names and emails (`signatures`), resolved on the first call.
    /// The committer becomes the identity of this handle's reflog entries, as in git; libgit2
    /// would otherwise read the configuration again for each reference it moves.
    private func resolvedIdentities() throws -> [(role: SignatureRole, name: String, email: String)] {
        if let identities { return identities }
        // One configuration snapshot for the eight settings (each `configValue` takes its own).
        let resolved = try withConfigSnapshot { config in
            try [SignatureRole.author, .committer].map { role in
                func setting(_ name: String) throws -> String? {
                    if let value = environment("GIT_\(role.rawValue)_\(name.uppercased())") { return value }
                    return try Self.string("\(role.section).\(name)", in: config) ?? Self.string("user.\(name)", in: config)
                }
                return (role, name: try setting("name") ?? "git-autoresearch",
                        email: try setting("email") ?? environment("EMAIL") ?? "git-autoresearch@localhost")
            }
        }
        identities = resolved
        try check(git_repository_set_ident(pointer, resolved[1].name, resolved[1].email), "set the reflog identity")
        return resolved
    }

    /// Makes the reflog entries of the references this handle moves name the committer, without
    /// libgit2 reading the configuration for each (`resolvedIdentities`).
    func prepareReflogIdentity() throws { _ = try resolvedIdentities() }
}

/// An environment variable, read with `getenv`: `ProcessInfo.environment` copies every variable
/// into a dictionary on each call (0.3 ms of an iteration's three commits).
private func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

/// The date formats git accepts in `GIT_AUTHOR_DATE` and `GIT_COMMITTER_DATE`: git's internal
/// format (`@1700000000 +0100`, or the seconds alone), ISO 8601 (`2005-04-07T22:13:13+02:00`,
/// `2005-04-07 22:13:13 +0200`) and RFC 2822 (`Thu, 07 Apr 2005 22:13:13 +0200`). A time
/// without a zone is in the local zone.
enum GitDate {
    static func parse(_ text: String) -> (seconds: Int64, offsetMinutes: Int32)? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let epoch = parseEpoch(trimmed) { return epoch }
        for pattern in patterns {
            guard let match = trimmed.wholeMatch(of: pattern.regex) else { continue }
            return pattern.convert(match.output.map { $0.substring.map(String.init) })
        }
        return nil
    }

    /// `@SECONDS [+-]HHMM`, `SECONDS [+-]HHMM` or `@SECONDS`.
    private static func parseEpoch(_ text: String) -> (seconds: Int64, offsetMinutes: Int32)? {
        let parts = text.split(separator: " ")
        guard (1...2).contains(parts.count) else { return nil }
        let secondsText = parts[0].hasPrefix("@") ? parts[0].dropFirst() : parts[0]
        guard let seconds = Int64(secondsText), parts[0].hasPrefix("@") || parts.count == 2 else { return nil }
        guard parts.count == 2 else { return (seconds, 0) }
        guard let offset = zoneOffset(String(parts[1])) else { return nil }
        return (seconds, offset)
    }

    /// `+0200`, `-05:30`, `Z`, in minutes east of UTC.
    private static func zoneOffset(_ text: String) -> Int32? {
        if text == "Z" || text == "UTC" || text == "GMT" { return 0 }
        let digits = text.dropFirst().filter { $0 != ":" }
        guard let sign = text.first, sign == "+" || sign == "-", digits.count == 4, let value = Int32(digits) else { return nil }
        return (sign == "-" ? -1 : 1) * (value / 100 * 60 + value % 100)
    }

    private struct Pattern {
        let regex: Regex<AnyRegexOutput>
        /// The captures (year, month, day, hour, minute, second, zone) in the pattern's order.
        let order: [Int]
        func convert(_ captures: [String?]) -> (seconds: Int64, offsetMinutes: Int32)? {
            let fields = order.map { captures[$0] }
            var components = DateComponents()
            components.calendar = Calendar(identifier: .gregorian)
            components.year = fields[0].flatMap(Int.init)
            components.month = fields[1].flatMap { Int($0) ?? GitDate.months.firstIndex(of: $0.lowercased()).map { $0 + 1 } }
            components.day = fields[2].flatMap(Int.init)
            components.hour = fields[3].flatMap(Int.init)
            components.minute = fields[4].flatMap(Int.init)
            components.second = fields[5].flatMap(Int.init) ?? 0
            guard components.year != nil, components.month != nil, components.day != nil, components.hour != nil,
                  components.minute != nil else { return nil }
            let offset = fields[6].map(GitDate.zoneOffset) ?? Int32(TimeZone.current.secondsFromGMT() / 60)
            guard let offset, let zone = TimeZone(secondsFromGMT: Int(offset) * 60) else { return nil }
            components.timeZone = zone
            guard components.isValidDate, let date = components.date else { return nil }
            return (Int64(date.timeIntervalSince1970), offset)
        }
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    private static var patterns: [Pattern] { [
        // ISO 8601: 2005-04-07T22:13:13+02:00, 2005-04-07 22:13:13 +0200, 2005-04-07T22:13
        Pattern(regex: try! Regex(#"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)? ?(Z|[+-]\d{2}:?\d{2})?"#),
                order: [1, 2, 3, 4, 5, 6, 7]),
        // RFC 2822: Thu, 07 Apr 2005 22:13:13 +0200
        Pattern(regex: try! Regex(#"(?:[A-Za-z]{3}, )?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2})(?::(\d{2}))? ?([+-]\d{4}|Z|UTC|GMT)?"#),
                order: [3, 2, 1, 4, 5, 6, 7]),
    ] }
}
