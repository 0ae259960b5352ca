import Checkpoints
import Files
import Foundation
import TestSupport
import Testing

/// `unet train` never replaces an earlier run, never shares its folder with a concurrent run, never writes
/// through a symbolic link, and cleans up after a killed run.
@Suite("unet train: output folders")
struct TrainSafetyTests {
    static func data(_ name: String) throws -> (folder: URL, arguments: [String]) {
        let folder = try SyntheticData.temporaryFolder(name)
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 4, size: 32)
        return (folder, ["train", "--images", images, "--masks", masks, "--in-channels", "1", "--base", "4", "--depth", "2",
                         "--scale", "1", "--steps", "2", "-b", "2", "-v", "0"])
    }

    @Test("a second run into a folder that holds one is refused and the first run's files are unchanged; --overwrite replaces it")
    func secondRun() throws {
        let (folder, arguments) = try Self.data("unet-train-second")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.path + "/run"
        #expect(try CommandRunner.unet(arguments + ["--output-dir", run]).status == 0)
        let best = try Data(contentsOf: URL(fileURLWithPath: run + "/best.safetensors"))
        let log = try Data(contentsOf: URL(fileURLWithPath: run + "/metrics.jsonl"))
        let again = try CommandRunner.unet(arguments + ["--seed", "7", "--output-dir", run])
        #expect(again.status != 0 && again.error.contains("already holds a run") && again.error.contains("--overwrite"),
                "\(again.error)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: run + "/best.safetensors")) == best)
        #expect(try Data(contentsOf: URL(fileURLWithPath: run + "/metrics.jsonl")) == log)
        let replaced = try CommandRunner.unet(arguments + ["--seed", "7", "--overwrite", "--output-dir", run])
        #expect(replaced.status == 0, "\(replaced.error)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: run + "/best.safetensors")) != best)
        let lines = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == log.split(separator: UInt8(ascii: "\n")).count, "the log was appended to, not replaced")
    }

    @Test("a folder another run holds is refused at once, whoever holds it")
    func locked() throws {
        let (folder, arguments) = try Self.data("unet-train-locked")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.path + "/run"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        do {
            let lock = try DirectoryLock(folder: run)
            let refused = try CommandRunner.unet(arguments + ["--output-dir", run])
            #expect(refused.status != 0 && refused.error.contains("another unet process"), "\(refused.error)")
            #expect(!FileManager.default.fileExists(atPath: run + "/metrics.jsonl"))
            withExtendedLifetime(lock) {}
        }
        // Released (as when the holder ends, however it ends): the folder is free again.
        let after = try CommandRunner.unet(arguments + ["--output-dir", run])
        #expect(after.status == 0, "\(after.error)")
    }

    @Test("a symbolic link as metrics.jsonl is refused, and its target is neither appended to nor truncated")
    func symlinkedLog() throws {
        let (folder, arguments) = try Self.data("unet-train-symlink")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.path + "/run", outside = folder.path + "/precious.txt"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try "keep me\n".write(toFile: outside, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: run + "/metrics.jsonl", withDestinationPath: outside)
        let refused = try CommandRunner.unet(arguments + ["--output-dir", run])
        #expect(refused.status != 0 && refused.error.contains("already holds a run"), "\(refused.error)")
        // --overwrite removes the link itself, never its target, and logs into a new file.
        let replaced = try CommandRunner.unet(arguments + ["--overwrite", "--output-dir", run])
        #expect(replaced.status == 0, "\(replaced.error)")
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "keep me\n")
        let type = try FileManager.default.attributesOfItem(atPath: run + "/metrics.jsonl")[.type] as? FileAttributeType
        #expect(type == .typeRegular)
        // Resuming cannot truncate it either.
        let other = folder.path + "/other"
        #expect(try CommandRunner.unet(arguments + ["--output-dir", other]).status == 0)
        try FileManager.default.removeItem(atPath: other + "/metrics.jsonl")
        try FileManager.default.createSymbolicLink(atPath: other + "/metrics.jsonl", withDestinationPath: outside)
        let resumed = try CommandRunner.unet(arguments + ["--steps", "4", "--resume", other + "/last.safetensors", "--output-dir", other])
        #expect(resumed.status != 0 && resumed.error.contains("symbolic link"), "\(resumed.error)")
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "keep me\n")
    }

    @Test("a temporary file a killed run left is removed by the next run; a finished run resumed says so and claims nothing")
    func staleTemporaryAndFinishedResume() throws {
        let (folder, arguments) = try Self.data("unet-train-stale")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.path + "/run"
        #expect(try CommandRunner.unet(arguments + ["--output-dir", run]).status == 0)
        let stale = run + "/.last.safetensors.\(UUID().uuidString).tmp"
        FileManager.default.createFile(atPath: stale, contents: Data([1, 2, 3]))
        let finished = try CommandRunner.unet(arguments + ["--resume", run + "/last.safetensors", "--output-dir", run])
        #expect(finished.status == 0, "\(finished.error)")
        #expect(finished.output.contains("nothing to train") && !finished.output.contains("best:"), "\(finished.output)")
        #expect(!FileManager.default.fileExists(atPath: stale), "the stale temporary file is still there")
        // Resuming into a folder that holds another run is refused.
        let other = folder.path + "/other"
        #expect(try CommandRunner.unet(arguments + ["--output-dir", other]).status == 0)
        let mixed = try CommandRunner.unet(arguments + ["--steps", "4", "--resume", run + "/last.safetensors", "--output-dir", other])
        #expect(mixed.status != 0 && mixed.error.contains("holds another run"), "\(mixed.error)")
    }

    @Test("a batch whose feature maps cannot fit in memory is refused before any is made")
    func tooLarge() throws {
        let (folder, arguments) = try Self.data("unet-train-large")
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try CommandRunner.unet(arguments + ["--crop", "8192", "--batch-size", "4096", "--output-dir", folder.path + "/run"])
        #expect(result.status != 0 && result.error.contains("GB of feature maps") && result.error.contains("this machine has"),
                "\(result.error)")
        #expect(!result.error.contains("Fatal error"))
    }

    @Test("a training checkpoint whose state was edited out of range is refused on --resume, in one line")
    func editedState() throws {
        let (folder, arguments) = try Self.data("unet-train-edited")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.path + "/run"
        #expect(try CommandRunner.unet(arguments + ["--output-dir", run]).status == 0)
        for (from, to) in [(#""step":2"#, #""step":-5"#), (#""totalSteps":2"#, #""totalSteps":-9223372036854775807"#)] {
            var file = try SafeTensorsFile.read(path: run + "/last.safetensors")
            let state = try #require(file.metadata["unet.training"])
            #expect(state.contains(from), "\(state)")
            file.metadata["unet.training"] = state.replacingOccurrences(of: from, with: to)
            let edited = folder.path + "/edited.safetensors"
            try file.write(to: edited)
            let resumed = try CommandRunner.unet(arguments + ["--steps", "4", "--resume", edited, "--output-dir", folder.path + "/resumed"])
            #expect(resumed.status != 0 && resumed.error.contains("out of range"), "\(to): \(resumed.error)")
            #expect(!resumed.error.contains("Fatal"), "\(resumed.error)")
        }
    }

    @Test("a list file with Windows line ends (CRLF) reads as the same pairs")
    func crlfList() throws {
        let (folder, _) = try Self.data("unet-train-crlf")
        defer { try? FileManager.default.removeItem(at: folder) }
        let lines = (0..<4).map { "images/\($0).png masks/\($0).png" }
        try (lines.joined(separator: "\r\n") + "\r\n").write(toFile: folder.path + "/list.txt", atomically: true, encoding: .utf8)
        let check = try CommandRunner.unet(["dataset", "check", "--list", folder.path + "/list.txt", "--in-channels", "1"])
        #expect(check.status == 0, "\(check.error)")
        #expect(check.output.contains("problems: none"), "\(check.output)")
    }
}
