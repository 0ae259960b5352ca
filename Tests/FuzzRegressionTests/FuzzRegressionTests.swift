import Foundation
import FuzzHarnesses
import Testing

/// Replays the inputs libFuzzer found (minimised crashers, hangs and memory blow-ups, each fixed since) and the
/// hand-made hostile inputs through the same entry points the fuzzers drive (`Fuzz/regressions/<target>/`).
/// A regression traps, hangs or prints an error of several lines, and fails this suite.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    /// `Fuzz/regressions`, from this file's place in the repository.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/regressions")

    static func inputs(_ target: FuzzTarget) -> [URL] {
        let folder = root.appendingPathComponent(target.rawValue)
        return ((try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? [])
            .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    @Test("every target has a regression corpus", arguments: FuzzTarget.allCases)
    func corpusExists(target: FuzzTarget) {
        #expect(!Self.inputs(target).isEmpty, "Fuzz/regressions/\(target.rawValue) is empty")
    }

    @Test("every regression input is handled: a value or a one-line error, in bounded time",
          .timeLimit(.minutes(2)), arguments: FuzzTarget.allCases)
    func replay(target: FuzzTarget) throws {
        let clock = ContinuousClock()
        for input in Self.inputs(target) {
            let start = clock.now
            target.run([UInt8](try Data(contentsOf: input)))
            #expect(clock.now - start < .seconds(10), "\(input.lastPathComponent) took \(clock.now - start)")
        }
    }
}
