import Foundation
import TestSupport
import Testing

/// Writes that fail (a full disk, a closed pipe, a file-size limit) are errors with a reason, never a trap; a run
/// whose standard output goes away keeps training and saves its checkpoints.
@Suite("Failed writes")
struct OutputErrorTests {
    static func data(_ name: String) throws -> (folder: URL, train: String) {
        let folder = try SyntheticData.temporaryFolder(name)
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 4, size: 32)
        return (folder, "$UNET train --images '\(images)' --masks '\(masks)' --in-channels 1 --base 4 --depth 2 --scale 1 "
                    + "--steps 3 -b 2 -v 0")
    }

    @Test("--json into a full disk exits non-zero with the reason; train with standard error on a full disk still trains")
    func fullDisk() throws {
        let (folder, train) = try Self.data("unet-write-full")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.path + "/run"
        let quiet = try CommandRunner.shell(train + " --output-dir '\(run)' 2>/dev/full")
        #expect(quiet.status == 0, "\(quiet.error)")
        #expect(FileManager.default.fileExists(atPath: run + "/last.safetensors"))
        let images = folder.path + "/images", masks = folder.path + "/masks"
        let json = try CommandRunner.shell("$UNET evaluate -m '\(run)/last.safetensors' --images '\(images)' --masks '\(masks)' --json > /dev/full")
        #expect(json.status == 1 && json.error.contains("cannot write to standard output: No space left on device"), "\(json.error)")
        #expect(!json.error.contains("Fatal error"))
    }

    @Test("train | head -1: standard output closes early, and the run still finishes and saves")
    func closedPipe() throws {
        let (folder, train) = try Self.data("unet-write-pipe")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.path + "/run"
        let piped = try CommandRunner.shell("(" + train + " --output-dir '\(run)'; echo \"unet: $?\" >&2) | head -c 1 > /dev/null")
        #expect(piped.error.contains("unet: 0") || piped.error.contains("unet: 1"), "\(piped.error)")
        #expect(!piped.error.contains("Fatal error") && !piped.error.contains("unet: 141"), "\(piped.error)")
        #expect(FileManager.default.fileExists(atPath: run + "/last.safetensors"))
        #expect(FileManager.default.fileExists(atPath: run + "/best.safetensors"))
    }

    @Test("a checkpoint that cannot be written (a file-size limit) stops with the file and reason, and leaves no partial file")
    func fileSizeLimit() throws {
        let (folder, train) = try Self.data("unet-write-limit")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.path + "/run"
        let limited = try CommandRunner.shell("ulimit -f 16; " + train + " --output-dir '\(run)'")
        #expect(limited.status != 0 && limited.error.contains("safetensors: cannot write: File too large"), "\(limited.error)")
        #expect(!limited.error.contains("Fatal error"))
        let names = try FileManager.default.contentsOfDirectory(atPath: run)
        #expect(!names.contains { $0.hasSuffix(".tmp") || $0.hasSuffix(".safetensors") }, "\(names)")
    }
}
