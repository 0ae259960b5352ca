import Foundation
import Synchronization

/// The tool's output without traps or silent loss. `FileHandle.write` stops the process when a write fails
/// (`2>/dev/full`, a closed pipe) and `print` drops the failure. Standard output, the machine-readable one,
/// records its first failure, which `UNetCommand.main` turns into exit status 1; standard error is best effort
/// (nothing could report its failure).
enum Console {
    /// The `errno` of the first failed write to standard output (0: none).
    private static let outputFailure = Atomic<Int32>(0)

    /// Writes `text` and a newline to standard output.
    static func out(_ text: String) {
        if let code = write(text + "\n", to: STDOUT_FILENO) {
            _ = outputFailure.compareExchange(expected: 0, desired: code, ordering: .relaxed)
        }
    }

    /// Makes writes to standard error give up instead of waiting when it is a full pipe: under `mpirun`, which stops
    /// reading the ranks' output once it ends a job, a rank would otherwise block forever in a progress line.
    static func neverWaitOnStandardError() {
        let flags = fcntl(STDERR_FILENO, F_GETFL)
        if flags >= 0 { _ = fcntl(STDERR_FILENO, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Writes `text` and a newline to standard error.
    static func error(_ text: String) { write(text + "\n") }

    /// Writes `text` to standard error as it is (progress bars redraw in place).
    static func write(_ text: String) { _ = write(text, to: STDERR_FILENO) }

    /// The system's reason for the first failed write to standard output, if any.
    static var outputFailureReason: String? {
        let code = outputFailure.load(ordering: .relaxed)
        return code == 0 ? nil : String(cString: strerror(code))
    }

    /// Writes all of `text` to `descriptor`; the `errno` of a failure.
    private static func write(_ text: String, to descriptor: Int32) -> Int32? {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            if written < 0, errno == EAGAIN, descriptor == STDERR_FILENO { return nil }  // a full pipe nobody reads
            guard written > 0 else { return written < 0 ? errno : EIO }
            bytes = bytes.dropFirst(written)
        }
        return nil
    }
}
