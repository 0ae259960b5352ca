import Foundation

/// Reads whole files that a user names, refusing what cannot be a data file before reading it: a folder, a
/// device or pipe (`/dev/zero` would never end), or a file larger than the caller's limit.
public enum FileContents {
    /// The bytes of the regular file at `path`.
    /// - Parameter limit: the most bytes accepted; a larger file is refused before anything is read.
    /// - Throws: `FileError` naming `path`: missing, unreadable, not a regular file, or over `limit`.
    public static func read(_ path: String, limit: Int) throws(FileError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw FileError(path, errno == ENOENT ? "no such file" : "cannot read: \(FileError.systemReason())")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw FileError(path, "cannot read: \(FileError.systemReason())") }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw FileError(path, status.st_mode & S_IFMT == S_IFDIR ? "is a folder, not a file" : "not a regular file")
        }
        let size = Int(status.st_size)
        guard size <= limit else {
            throw FileError(path, "is \(size) bytes, more than the limit of \(limit) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        var failure: Int32 = 0
        bytes.withUnsafeMutableBytes { raw in
            while offset < size {
                let count = Foundation.read(descriptor, raw.baseAddress! + offset, size - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if count == 0 { return }  // the file shrank while being read
                offset += count
            }
        }
        guard failure == 0 else { throw FileError(path, "cannot read: \(FileError.systemReason(failure))") }
        return offset == size ? bytes : Array(bytes[..<offset])
    }

    /// Whether `path` is an existing regular file (not a folder, device or pipe).
    public static func isRegularFile(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
    }
}

extension FileContents {
    /// Creates the folder at `path` and any missing folders above it (`mkdir -p`).
    /// - Throws: `FileError` naming the folder with the system's reason.
    public static func createFolder(_ path: String) throws(FileError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw FileError(path, "cannot create the folder: \(FileError.reason(of: error))")
        }
    }
}
