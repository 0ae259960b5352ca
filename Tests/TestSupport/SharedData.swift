import Foundation
import Testing

/// The project's shared data folder (`../shared` beside the repository, or `$UNET_SHARED_DIR`), which holds
/// the real datasets tests and benchmarks read. It is absent from a user's fresh clone: tests that need it
/// are disabled with `.enabled(if: SharedData.isAvailable, ...)` and report why.
public enum SharedData {
    /// The shared folder, if it exists.
    public static let root: URL? = {
        if let override = ProcessInfo.processInfo.environment["UNET_SHARED_DIR"] {
            return FileManager.default.fileExists(atPath: override) ? URL(fileURLWithPath: override) : nil
        }
        // This file is Tests/TestSupport/SharedData.swift; the repository root is three levels up.
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let shared = repository.deletingLastPathComponent().appendingPathComponent("shared")
        return FileManager.default.fileExists(atPath: shared.appendingPathComponent("data").path) ? shared : nil
    }()

    /// True when `../shared/data` is present.
    public static var isAvailable: Bool { root != nil }

    /// The reason shown for tests skipped without the shared data.
    public static let skipReason: Comment = "../shared/data is absent (a fresh clone); set UNET_SHARED_DIR to run"

    /// The absolute path of `relative` inside the shared folder (callers check `isAvailable` first).
    public static func path(_ relative: String) -> String {
        (root ?? URL(fileURLWithPath: "/nonexistent")).appendingPathComponent(relative).path
    }
}
