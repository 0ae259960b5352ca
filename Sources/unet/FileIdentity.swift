import Foundation

/// What makes two paths the same file: its device and inode, whatever the names (symbolic and hard links).
struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64

    /// The identity of the file at `path`, nil when there is none.
    init?(_ path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        (device, inode) = (UInt64(status.st_dev), UInt64(status.st_ino))
    }

    /// Whether `a` and `b` name the same file (or, for a path that does not exist yet, the same place).
    static func same(_ a: String, _ b: String) -> Bool {
        if let x = FileIdentity(a), let y = FileIdentity(b) { return x == y }
        return canonicalPath(a) == canonicalPath(b)
    }

    /// `path` made absolute with every symbolic link resolved, for a path that need not exist yet: the deepest
    /// existing folder above it is resolved and the rest appended.
    static func canonicalPath(_ path: String) -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var head = absolute
        var tail: [String] = []
        while !head.isEmpty, head != "/" {
            if let resolved = realpath(head, nil) {
                defer { free(resolved) }
                let base = String(cString: resolved)
                return ([base == "/" ? "" : base] + tail.reversed()).joined(separator: "/")
            }
            tail.append((head as NSString).lastPathComponent)
            head = (head as NSString).deletingLastPathComponent
        }
        return "/" + tail.reversed().joined(separator: "/")
    }
}
