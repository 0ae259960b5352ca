import Foundation

/// An exclusive lock on a folder for as long as the value lives: `flock` on `<folder>/.unet.lock`, which the
/// system releases when the process ends, however it ends (no stale lock after kill -9). Two runs writing
/// into one folder would interleave their logs and mix their checkpoints; the second is refused instead.
public final class DirectoryLock {
    /// The lock file's name inside the folder.
    public static let fileName = ".unet.lock"

    public let folder: String
    private let descriptor: Int32

    /// Takes the lock, without waiting.
    /// - Throws: `FileError` naming the folder when another process holds it or the lock file cannot be made.
    public init(folder: String) throws(FileError) {
        let path = (folder as NSString).appendingPathComponent(Self.fileName)
        let descriptor = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileError(path, "cannot create the lock file: \(FileError.systemReason())") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            throw FileError(folder, code == EWOULDBLOCK
                ? "another unet process is writing into this folder (it holds \(Self.fileName)); wait for it or choose another folder"
                : "cannot lock: \(FileError.systemReason(code))")
        }
        self.folder = folder
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Whether another process (or another `DirectoryLock` here) holds the folder's lock now; creates nothing.
    public static func isHeld(folder: String) -> Bool {
        let path = (folder as NSString).appendingPathComponent(fileName)
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { return errno == EWOULDBLOCK }
        flock(descriptor, LOCK_UN)
        return false
    }
}
