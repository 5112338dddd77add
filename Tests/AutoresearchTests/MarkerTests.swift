@testable import Autoresearch
import Foundation
import Git
import Testing
import Fixtures

/// The marker of an unfinished iteration is written by hand (not with `JSONEncoder`) and read
/// back with `JSONDecoder`: what is read is what was written, every field included.
@Suite(.ownThreads) struct MarkerTests {
    static func encoded(_ marker: LocalState.Marker) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(marker)
    }

    @Test func aMarkerReadsBackAsWrittenWithEveryField() throws {
        let repo = try TempRepository()
        let state = LocalState(repository: try Repository(path: repo.path), experiment: "s")
        try state.prepare()
        let full = LocalState.Marker(phase: .evaluation, run: "20261202T211428Z-1a2b", candidate: String(repeating: "ab", count: 20),
                                     best: String(repeating: "cd", count: 20), branch: "refs/heads/autoresearch/s",
                                     start: Date(timeIntervalSince1970: 1_764_712_345.678), description: "quote \" back \\ line\n tab\t é \u{1}",
                                     processGroup: 4242, userFiles: ["notes.txt", "dir/ä b.txt"], processStartTicks: 123_456_789,
                                     bootID: "0c2b7a4e-1f2d-4c3b-9a8e-2f1e0d3c4b5a", workerInClone: 3)
        var bare = full
        (bare.best, bare.processGroup, bare.userFiles, bare.processStartTicks, bare.bootID, bare.workerInClone) = (nil, nil, nil, nil, nil, nil)
        bare.phase = .agent
        for marker in [full, bare] {
            try state.writeMarker(marker)
            let read = try #require(state.readMarker())
            #expect(try Self.encoded(read) == Self.encoded(marker))
        }
        // Every stored field has its key: a field added to the marker and not to `json()` fails here.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(full.json())) as? [String: Any])
        let fields = Set(Mirror(reflecting: full).children.compactMap(\.label))
        #expect(Set(object.keys) == fields)
    }
}
