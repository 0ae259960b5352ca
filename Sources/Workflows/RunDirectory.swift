import Files
import Foundation

/// The folder a training run writes into (`--output-dir`), held exclusively for the run: created if needed,
/// locked (`DirectoryLock`) so that a second run into it is refused instead of interleaving logs and mixing
/// checkpoints, and cleared of temporary files a killed run left behind. A folder that already holds a run
/// is refused unless the run continues (`resume`) or is meant to be replaced (`overwrite`), so that a second
/// `unet train` never silently replaces an earlier run's best model.
public final class RunDirectory {
    public enum Mode: Sendable, Equatable {
        /// A new run: the folder must hold none.
        case new
        /// Replace the run the folder holds: its checkpoints, log and curves are removed first.
        case overwrite
        /// Continue the run whose checkpoint is `checkpoint`: the folder may hold a run only if that
        /// checkpoint is in it.
        case resume(checkpoint: String)
    }

    public let path: String
    private let lock: DirectoryLock

    /// The file names that make a folder hold a run.
    static func isRunFile(_ name: String) -> Bool {
        ["best.safetensors", "last.safetensors", "metrics.jsonl", "training_curves.png"].contains(name)
            || (name.hasPrefix("epoch_") && name.hasSuffix(".safetensors")) || name.hasPrefix("events.out.tfevents.")
    }

    /// Checks `path` against `mode` without creating or changing anything, so that a command can fail at once,
    /// before reading its data, and leave nothing behind; `init` checks again when it takes the lock.
    /// - Throws: `TrainingError.outputDirectory` as `init` would for a folder that exists.
    public static func check(path: String, mode: Mode) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else { throw TrainingError.outputDirectory("\(path): a file of that name exists, not a folder") }
        if DirectoryLock.isHeld(folder: path) {
            throw TrainingError.outputDirectory("\(path): another unet process is writing into this folder; wait for it or choose another folder")
        }
        try allows(path, mode, runFiles: runFiles(path))
    }

    private static func runFiles(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().filter(isRunFile)
    }

    private static func allows(_ path: String, _ mode: Mode, runFiles: [String]) throws {
        switch mode {
        case .new:
            guard runFiles.isEmpty else {
                throw TrainingError.outputDirectory("\(path) already holds a run (\(runFiles.joined(separator: ", "))); "
                    + "continue it with --resume \((path as NSString).appendingPathComponent("last.safetensors")), "
                    + "replace it with --overwrite, or choose another --output-dir")
            }
        case .overwrite: break
        case .resume(let checkpoint):
            let folder = (checkpoint as NSString).deletingLastPathComponent
            guard runFiles.isEmpty || sameFolder(folder.isEmpty ? "." : folder, path) else {
                throw TrainingError.outputDirectory("\(path) holds another run (\(runFiles.joined(separator: ", "))) than "
                    + "\(checkpoint)'s; resume into the checkpoint's own folder or an empty one")
            }
        }
    }

    /// Creates (if needed) and locks `path`, checks it against `mode`, and removes stale temporary files.
    /// - Throws: `TrainingError.outputDirectory` naming the folder: held by another process, holding a run
    ///   that `mode` does not allow, or not creatable.
    public init(path: String, mode: Mode) throws {
        do { try FileContents.createFolder(path) } catch { throw TrainingError.outputDirectory(error.description) }
        do { lock = try DirectoryLock(folder: path) } catch { throw TrainingError.outputDirectory(error.description) }
        self.path = path
        let runFiles = Self.runFiles(path)
        try Self.allows(path, mode, runFiles: runFiles)
        if mode == .overwrite {
            for name in runFiles {
                let file = (path as NSString).appendingPathComponent(name)
                guard unlink(file) == 0 else {
                    throw TrainingError.outputDirectory("\(file): cannot remove (\(FileError.systemReason()))")
                }
            }
        }
        AtomicFile.removeStale(in: path)
    }

    /// `name` inside the folder.
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    private static func sameFolder(_ a: String, _ b: String) -> Bool {
        var (x, y) = (stat(), stat())
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }
}
