import Foundation

/// A log file that grows by whole records (`metrics.jsonl`): opened for appending, created if missing, never
/// through a symbolic link (a link there is an error, so a log cannot be redirected outside its folder).
public final class AppendingFile {
    public let path: String
    private let descriptor: Int32

    /// - Throws: `FileError` naming `path` when it is a symbolic link, not a regular file, or cannot be opened.
    public init(path: String) throws(FileError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FileError(path, errno == ELOOP ? "is a symbolic link; refusing to write through it"
                : "cannot open for writing: \(FileError.systemReason())")
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw FileError(path, "not a regular file")
        }
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Appends `data` in full.
    /// - Throws: `FileError` naming the file with the system's reason (`No space left on device`).
    public func append(_ data: Data) throws(FileError) {
        var failure: Int32 = 0
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure != 0 { throw FileError(path, "cannot write: \(FileError.systemReason(failure))") }
    }
}
